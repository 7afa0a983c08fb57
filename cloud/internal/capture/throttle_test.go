package capture

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"livegate.dev/cloud/internal/pgtest"
)

var throttleKey = []byte("0123456789abcdef0123456789abcdef")

// throttleStep is one call on a throttle: Fail (fail true) or Blocked.
type throttleStep struct {
	client      string
	at          time.Duration // after t0
	fail        bool
	rule        *Rule // Fail's rule when not the case's
	wantBlocked bool
	wantWait    time.Duration // checked when > 0
}

// defaultRule is the per-user budget of DefaultPolicy.
var defaultRule = Rule{Limit: 5, Window: 3 * time.Minute, Cooldown: 3 * time.Minute}

// throttleCases hold the throttle's semantics; every implementation of
// FailureThrottle runs them.
var throttleCases = []struct {
	name             string
	limit            int
	window, cooldown time.Duration
	steps            []throttleStep
}{
	{name: "window", limit: 5, window: 3 * time.Minute, cooldown: 3 * time.Minute, steps: []throttleStep{
		{client: "a", at: 0, fail: true},
		{client: "a", at: time.Minute, fail: true},
		{client: "a", at: 2 * time.Minute, fail: true},
		{client: "a", at: 150 * time.Second, fail: true},
		// The first failure has left the window: 4 in the last 3 minutes.
		{client: "a", at: 190 * time.Second, fail: true},
		{client: "a", at: 200 * time.Second, fail: true, wantBlocked: true, wantWait: 3 * time.Minute},
		{client: "a", at: 6 * time.Minute, wantBlocked: true, wantWait: 20 * time.Second},
		{client: "b", at: 4 * time.Minute},
		{client: "a", at: 381 * time.Second},
	}},
	{name: "edges", limit: 2, window: time.Minute, cooldown: time.Minute, steps: []throttleStep{
		{client: "a", at: 0, fail: true},
		// Exactly one window later the first failure no longer counts.
		{client: "a", at: time.Minute, fail: true},
		{client: "a", at: 90 * time.Second, fail: true, wantBlocked: true, wantWait: time.Minute},
		{client: "a", at: 149 * time.Second, wantBlocked: true, wantWait: time.Second},
		// The cool-down ends exactly at its end.
		{client: "a", at: 150 * time.Second},
		// The count started afresh with the cool-down: one failure is not enough.
		{client: "a", at: 151 * time.Second, fail: true},
	}},
	{name: "failures during the cool-down count", limit: 3, window: time.Minute, cooldown: time.Minute, steps: []throttleStep{
		{client: "a", at: 0, fail: true},
		{client: "a", at: time.Second, fail: true},
		{client: "a", at: 2 * time.Second, fail: true, wantBlocked: true, wantWait: time.Minute},
		{client: "a", at: 10 * time.Second, fail: true, wantBlocked: true, wantWait: 52 * time.Second},
		{client: "a", at: 11 * time.Second, fail: true, wantBlocked: true},
		// The third failure during the cool-down starts a new one.
		{client: "a", at: 12 * time.Second, fail: true, wantBlocked: true, wantWait: time.Minute},
		{client: "a", at: 71 * time.Second, wantBlocked: true, wantWait: time.Second},
		{client: "b", at: 12 * time.Second},
	}},
	{name: "limit 1", limit: 1, window: time.Minute, cooldown: 30 * time.Second, steps: []throttleStep{
		{client: "a", at: 0},
		{client: "a", at: 0, fail: true, wantBlocked: true, wantWait: 30 * time.Second},
		{client: "a", at: 30 * time.Second},
		{client: "a", at: 31 * time.Second, fail: true, wantBlocked: true, wantWait: 30 * time.Second},
	}},
	// Keys of different tenants carry different rules in one throttle.
	{name: "a rule per key", limit: 5, window: time.Minute, cooldown: time.Minute, steps: []throttleStep{
		{client: "strict", at: 0, fail: true, rule: &Rule{Limit: 2, Window: time.Minute, Cooldown: 10 * time.Second}},
		{client: "lax", at: 0, fail: true},
		{client: "strict", at: time.Second, fail: true, rule: &Rule{Limit: 2, Window: time.Minute, Cooldown: 10 * time.Second},
			wantBlocked: true, wantWait: 10 * time.Second},
		{client: "lax", at: time.Second, fail: true},
		{client: "strict", at: 11 * time.Second},
		{client: "lax", at: 11 * time.Second},
		// A short window: the failures 2 s apart never meet.
		{client: "brief", at: 20 * time.Second, fail: true, rule: &Rule{Limit: 2, Window: 2 * time.Second, Cooldown: time.Minute}},
		{client: "brief", at: 22 * time.Second, fail: true, rule: &Rule{Limit: 2, Window: 2 * time.Second, Cooldown: time.Minute}},
		{client: "brief", at: 23 * time.Second, fail: true, rule: &Rule{Limit: 2, Window: 2 * time.Second, Cooldown: time.Minute},
			wantBlocked: true, wantWait: time.Minute},
	}},
}

// TestThrottleSemantics runs the same cases against the in-memory Throttle
// and PGThrottle.
func TestThrottleSemantics(t *testing.T) {
	srv := pgtest.Start(t)
	impls := map[string]func(t *testing.T) FailureThrottle{
		"memory":   func(*testing.T) FailureThrottle { return NewThrottle() },
		"postgres": func(t *testing.T) FailureThrottle { return openPGThrottle(t, srv.DSN(), PGThrottleConfig{}) },
	}
	t0 := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	for name, open := range impls {
		for ci, tc := range throttleCases {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				th := open(t)
				for i, s := range tc.steps {
					client := fmt.Sprintf("case%d/%s", ci, s.client) // one database for all cases
					rule := Rule{Limit: tc.limit, Window: tc.window, Cooldown: tc.cooldown}
					if s.rule != nil {
						rule = *s.rule
					}
					var blocked bool
					var wait time.Duration
					if s.fail {
						blocked, wait = th.Fail(client, rule, t0.Add(s.at))
					} else {
						blocked, wait = th.Blocked(client, t0.Add(s.at))
					}
					if blocked != s.wantBlocked || (s.wantWait > 0 && wait != s.wantWait) || (!blocked && wait != 0) {
						t.Fatalf("step %d %+v: blocked %v wait %v", i, s, blocked, wait)
					}
				}
			})
		}
	}
}

func openPGThrottle(t testing.TB, dsn string, cfg PGThrottleConfig) *PGThrottle {
	t.Helper()
	if cfg.Key == nil {
		cfg.Key = throttleKey
	}
	th, err := OpenPGThrottle(context.Background(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { th.Close() })
	return th
}

// TestPGThrottleReplicas: two replicas (started together, so migrating
// together) share one count, and a restarted replica keeps the cool-down.
func TestPGThrottleReplicas(t *testing.T) {
	srv := pgtest.Start(t)
	var reps [2]*PGThrottle
	var wg sync.WaitGroup
	for i := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			th, err := OpenPGThrottle(context.Background(), srv.DSN(), PGThrottleConfig{Key: throttleKey})
			if err != nil {
				t.Error(err)
				return
			}
			reps[i] = th
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t0 := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	for i := range 4 {
		if b, _ := reps[i%2].Fail("203.0.113.7", defaultRule, t0.Add(time.Duration(i)*time.Second)); b {
			t.Fatalf("blocked after %d failures", i+1)
		}
	}
	if b, wait := reps[0].Fail("203.0.113.7", defaultRule, t0.Add(4*time.Second)); !b || wait != 3*time.Minute {
		t.Fatalf("5th failure over two replicas: blocked %v wait %v", b, wait)
	}
	if b, _ := reps[1].Blocked("203.0.113.7", t0.Add(5*time.Second)); !b {
		t.Fatal("the other replica does not see the cool-down")
	}
	// Restart: a new instance on the same database still refuses.
	reps[1].Close()
	reps[0].Close()
	again := openPGThrottle(t, srv.DSN(), PGThrottleConfig{Key: throttleKey})
	if b, wait := again.Blocked("203.0.113.7", t0.Add(time.Minute)); !b || wait != 124*time.Second {
		t.Fatalf("after a restart: blocked %v wait %v", b, wait)
	}

	// Stored digests only: the HMAC of the client id, never the id.
	conn, err := pgx.Connect(context.Background(), srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var stored []byte
	if err := conn.QueryRow(context.Background(), "SELECT client FROM capture_throttle").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, throttleKey)
	m.Write([]byte("203.0.113.7"))
	if !bytes.Equal(stored, m.Sum(nil)) {
		t.Fatalf("stored client %x, want its HMAC", stored)
	}
}

// TestPGThrottleMigratesOldRows: a table made by the first migration (one
// rule for every client) gains keep_until, and its cool-downs hold.
func TestPGThrottleMigratesOldRows(t *testing.T) {
	srv := pgtest.Start(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	t0 := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	m := hmac.New(sha256.New, throttleKey)
	m.Write([]byte("203.0.113.7"))
	for _, sql := range []string{
		"CREATE TABLE capture_throttle_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
		pgThrottleMigrations[0],
		"INSERT INTO capture_throttle_migrations (version) VALUES (1)",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, "INSERT INTO capture_throttle (client, fails, until_at, last_at) VALUES ($1, '{}', $2, $3)",
		m.Sum(nil), t0.Add(time.Minute), t0); err != nil {
		t.Fatal(err)
	}
	th := openPGThrottle(t, srv.DSN(), PGThrottleConfig{})
	if b, wait := th.Blocked("203.0.113.7", t0.Add(30*time.Second)); !b || wait != 30*time.Second {
		t.Fatalf("an old row's cool-down after migrating: blocked %v wait %v", b, wait)
	}
	var keep time.Time
	if err := conn.QueryRow(ctx, "SELECT keep_until FROM capture_throttle").Scan(&keep); err != nil || !keep.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("keep_until %v (%v), want the old window after the last failure", keep, err)
	}
}

// TestPGThrottleConcurrent: failures of one client recorded at once by two
// replicas are counted exactly: of 12, the first 4 pass, the 5th starts the
// single cool-down and clears the count, the 10th starts the next, and 2
// remain counted.
func TestPGThrottleConcurrent(t *testing.T) {
	srv := pgtest.Start(t)
	a := openPGThrottle(t, srv.DSN(), PGThrottleConfig{Key: throttleKey})
	b := openPGThrottle(t, srv.DSN(), PGThrottleConfig{Key: throttleKey})
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	start := make(chan struct{})
	var mu sync.Mutex
	passed := 0
	var wg sync.WaitGroup
	for i := range 12 {
		th := a
		if i%2 == 1 {
			th = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if blocked, _ := th.Fail("198.51.100.1", defaultRule, now); !blocked {
				mu.Lock()
				passed++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if passed != 4 {
		t.Fatalf("%d of 12 concurrent failures passed, want 4", passed)
	}
	var n int
	if err := a.pool.QueryRow(context.Background(), "SELECT cardinality(fails) FROM capture_throttle").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d failures counted after 12, want 2", n)
	}
}

// TestPGThrottlePrune: rows with nothing left to remember are deleted.
func TestPGThrottlePrune(t *testing.T) {
	srv := pgtest.Start(t)
	th := openPGThrottle(t, srv.DSN(), PGThrottleConfig{Key: throttleKey})
	t0 := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	long := Rule{Limit: 5, Window: 3 * time.Minute, Cooldown: 5 * time.Minute}
	for i := range 5 {
		th.Fail("cooling", long, t0)
		th.Fail(fmt.Sprintf("once-%d", i), defaultRule, t0)
	}
	// A row kept by its own longer window (a tenant's setting).
	th.Fail("patient", Rule{Limit: 5, Window: 10 * time.Minute, Cooldown: time.Minute}, t0)
	th.Fail("late", defaultRule, t0.Add(3*time.Minute+time.Second)) // a minute later than the first prune
	// At 3 min 1 s the five single failures are out of the window; the
	// cool-down, whose failures are out of it too, has 2 min left, and the
	// patient row's failure is still in its 10-minute window.
	var ids []string
	rows, err := th.pool.Query(context.Background(), "SELECT encode(client, 'hex') FROM capture_throttle")
	if err != nil {
		t.Fatal(err)
	}
	ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Fatalf("%d rows left, want 3 (the cool-down, the patient and the latest)", len(ids))
	}
}

// TestPGThrottleDown: with the database gone the throttle keeps counting in
// memory, and the outage is logged once a minute without client data.
func TestPGThrottleDown(t *testing.T) {
	srv := pgtest.Start(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, nil))
	th := openPGThrottle(t, srv.DSN(), PGThrottleConfig{Key: throttleKey, Logger: log})
	t0 := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	th.Fail("192.0.2.9", defaultRule, t0)
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if b, _ := th.Blocked("192.0.2.9", t0); b {
		t.Fatal("blocked after one failure")
	}
	for i := 1; i < 4; i++ {
		if b, _ := th.Fail("192.0.2.9", defaultRule, t0.Add(time.Duration(i)*time.Second)); b {
			t.Fatalf("blocked after %d failures", i+1)
		}
	}
	// The failure recorded before the outage counts: the 5th blocks.
	if b, wait := th.Fail("192.0.2.9", defaultRule, t0.Add(4*time.Second)); !b || wait != 3*time.Minute {
		t.Fatalf("5th failure while the database is down: blocked %v wait %v", b, wait)
	}
	if b, _ := th.Blocked("192.0.2.9", t0.Add(59*time.Second)); !b {
		t.Fatal("not blocked during the cool-down while the database is down")
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if n := strings.Count(out, "throttle database unavailable"); n != 1 {
		t.Fatalf("%d log lines in the first minute, want 1:\n%s", n, out)
	}
	if strings.Contains(out, "192.0.2.9") {
		t.Fatalf("the log names the client:\n%s", out)
	}
	th.Blocked("192.0.2.9", t0.Add(61*time.Second))
	mu.Lock()
	out = buf.String()
	mu.Unlock()
	if n := strings.Count(out, "throttle database unavailable"); n != 2 || !strings.Contains(out, "errors=6") {
		t.Fatalf("want a second line a minute later counting 6 errors:\n%s", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// BenchmarkThrottleFail: one failure recorded, in memory and in PostgreSQL
// (one statement, fsync on).
func BenchmarkThrottleFail(b *testing.B) {
	srv := pgtest.Start(b)
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	for name, th := range map[string]FailureThrottle{
		"memory":   NewThrottle(),
		"postgres": openPGThrottle(b, srv.DSN(), PGThrottleConfig{Key: throttleKey}),
	} {
		b.Run(name+"/Fail", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				th.Fail(fmt.Sprintf("10.0.%d.%d", i/256%256, i%256), defaultRule, now)
			}
		})
		b.Run(name+"/Blocked", func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				th.Blocked(fmt.Sprintf("10.0.%d.%d", i/256%256, i%256), now)
			}
		})
	}
}
