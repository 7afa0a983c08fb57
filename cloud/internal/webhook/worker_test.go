package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"livegate.dev/cloud/internal/pgtest"
	"livegate.dev/cloud/internal/store/postgres"

	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/store/bolt"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pgServer != nil {
		if err := pgServer.Stop(); err != nil {
			fmt.Println(err)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Println("goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// opener opens a fresh, empty store for one test.
type opener func(t *testing.T) store.Store

func openBolt(t *testing.T) store.Store {
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// One throwaway PostgreSQL server for the package, a database per test.
var (
	pgOnce   sync.Once
	pgServer *pgtest.Server
	pgErr    error
	pgSeq    atomic.Int64
)

func openPostgres(t *testing.T) store.Store {
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		pgServer, pgErr = pgtest.StartServer(ctx, "")
	})
	if pgErr != nil {
		t.Fatalf("starting PostgreSQL: %v", pgErr)
	}
	dsn, err := pgServer.NewDatabase(fmt.Sprintf("webhook_%d", pgSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// eachStore runs a store-dependent scenario against both implementations.
func eachStore(t *testing.T, fn func(t *testing.T, open opener)) {
	t.Run("bolt", func(t *testing.T) { fn(t, openBolt) })
	t.Run("postgres", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: no PostgreSQL")
		}
		fn(t, openPostgres)
	})
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// request is what the receiver saw.
type request struct {
	path   string
	header http.Header
	body   []byte
}

// receiver is a real HTTP server on loopback whose answer per request is
// chosen by the test.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []request
	respond func(n int, w http.ResponseWriter, r *http.Request) // n is 1-based
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, request{path: r.URL.Path, header: r.Header.Clone(), body: body})
		n := len(rc.reqs)
		rc.mu.Unlock()
		rc.respond(n, w, r)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

// lockedBuffer collects log output from concurrent goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// env is a bolt store, a fake clock, a tenant with a sealed secret and a
// running worker.
type env struct {
	t        *testing.T
	st       store.Store
	clk      *clock.Fake
	sealer   *secret.Sealer
	tenant   *core.Tenant
	secret   string
	logs     *lockedBuffer
	cfg      Config
	w        *Worker   // the first worker
	workers  []*Worker // all workers, started by start
	attempts chan core.Delivery
}

func newEnv(t *testing.T, cfg Config) *env { return newEnvOn(t, openBolt, cfg) }

func newEnvOn(t *testing.T, open opener, cfg Config) *env {
	t.Helper()
	st := open(t)
	key := make([]byte, secret.KeySize)
	rand.Read(key)
	sealer, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, clk: clock.NewFake(t0), sealer: sealer, logs: &lockedBuffer{},
		secret: core.NewSecret("whsec_"), attempts: make(chan core.Delivery, 64)}
	e.tenant = &core.Tenant{ID: core.NewID("ten", t0), Name: "acme", Mode: core.TenantTest, CreatedAt: t0,
		WebhookSecrets: []core.SealedSecret{{Sealed: sealer.Seal([]byte(e.secret)), CreatedAt: t0}}}
	if err := st.CreateTenant(context.Background(), e.tenant, nil); err != nil {
		t.Fatal(err)
	}
	cfg.Store, cfg.Sealer, cfg.Clock = st, sealer, e.clk
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if (cfg.Policy == netguard.Policy{}) {
		cfg.Policy = netguard.Policy{Dev: true}
	}
	e.cfg = cfg
	e.w = e.addWorker()
	return e
}

// addWorker adds a worker on the same store and clock (a second replica).
func (e *env) addWorker() *Worker {
	e.t.Helper()
	w, err := New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	w.afterAttempt = func(d core.Delivery) { e.attempts <- d }
	e.workers = append(e.workers, w)
	return w
}

// start runs the workers until the test ends.
func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, len(e.workers))
	for _, w := range e.workers {
		go func() { done <- w.Run(ctx) }()
	}
	e.t.Cleanup(func() {
		cancel()
		for range e.workers {
			if err := <-done; err != nil {
				e.t.Errorf("Run: %v", err)
			}
		}
	})
}

// enqueue stores a completed session and its webhook delivery, as the API does.
func (e *env) enqueue(url string, tenant bool) *core.Delivery {
	e.t.Helper()
	now := e.clk.Now()
	s := &core.Session{ID: core.NewID("ses", now), Kind: core.KindManaged, Mode: core.ModeActive,
		WebhookURL: url, Status: core.StatusCompleted, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(30 * time.Minute)}
	if tenant {
		s.TenantID = e.tenant.ID
	}
	data, _ := json.Marshal(map[string]any{"session_id": s.ID, "status": "completed", "verdict": "pass",
		"confidence": 0.93, "marker": "BODY-MARKER-7f3a"})
	d, err := NewDelivery(now, core.EventSessionCompleted, s, data)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.CreateSession(context.Background(), s, []*core.Delivery{d}); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// next waits (in real time, bounded) for the worker's next saved attempt.
func (e *env) next() core.Delivery {
	e.t.Helper()
	select {
	case d := <-e.attempts:
		return d
	case <-time.After(15 * time.Second):
		e.t.Fatalf("no delivery attempt within 15s; clock %s; logs:\n%s", e.clk.Now(), e.logs.String())
		return core.Delivery{}
	}
}

// noAttempt checks that the worker made no attempt during its last pass.
func (e *env) noAttempt() {
	e.t.Helper()
	select {
	case d := <-e.attempts:
		e.t.Fatalf("unexpected attempt %d of %s", d.Attempts, d.ID)
	default:
	}
}

// sleeping waits until the worker is waiting on the clock.
func (e *env) sleeping() {
	e.t.Helper()
	if !e.clk.WaitForWaiters(1, 15*time.Second) {
		e.t.Fatal("worker did not go back to waiting on the clock")
	}
}

func (e *env) checkLogs() {
	e.t.Helper()
	logs := e.logs.String()
	for _, bad := range []string{e.secret, "BODY-MARKER-7f3a", "s3cr3t-query"} {
		if strings.Contains(logs, bad) {
			e.t.Fatalf("logs contain %q:\n%s", bad, logs)
		}
	}
}

func TestDeliverSigned(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		rc := newReceiver(t, status(http.StatusNoContent))
		e := newEnvOn(t, open, Config{})
		e.start()
		e.sleeping() // idle worker, then enqueue and Notify: no clock movement needed
		d := e.enqueue(rc.srv.URL+"/hook?token=s3cr3t-query", true)
		e.w.Notify()
		got := e.next()
		if got.ID != d.ID || got.State != core.DeliveryDelivered || got.Attempts != 1 || got.LastStatus != 204 || got.DeliveredAt == nil {
			t.Fatalf("after delivery: %+v", got)
		}
		saved, err := e.st.GetDelivery(context.Background(), d.ID)
		if err != nil || saved.State != core.DeliveryDelivered || !saved.LeaseUntil.IsZero() {
			t.Fatalf("stored delivery %+v, %v", saved, err)
		}
		reqs := rc.requests()
		if len(reqs) != 1 {
			t.Fatalf("receiver got %d requests", len(reqs))
		}
		r := reqs[0]
		for h, want := range map[string]string{
			"Content-Type": "application/json", "User-Agent": DefaultUserAgent, "Livegate-Event-Id": d.ID,
			"Livegate-Event-Type": core.EventSessionCompleted, "Livegate-Attempt": "1",
		} {
			if got := r.header.Get(h); got != want {
				t.Errorf("header %s = %q, want %q", h, got, want)
			}
		}
		if !bytes.Equal(r.body, d.Body) {
			t.Fatalf("body %s, want %s", r.body, d.Body)
		}
		sig := r.header.Get("Livegate-Signature")
		if err := Verify(sig, r.body, []byte(e.secret), 0, e.clk.Now()); err != nil {
			t.Fatalf("signature %q does not verify: %v", sig, err)
		}
		if !strings.HasPrefix(sig, "t="+strconv.FormatInt(t0.Unix(), 10)+",v1=") {
			t.Fatalf("signature %q is not stamped with the clock's time", sig)
		}
		var ev Event
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatal(err)
		}
		var data map[string]any
		json.Unmarshal(ev.Data, &data)
		if ev.ID != d.ID || ev.Type != core.EventSessionCompleted || ev.Created != t0.Unix() || data["verdict"] != "pass" {
			t.Fatalf("event %+v", ev)
		}
		e.checkLogs()
	})
}

func TestRetryWithBackoffThenSuccess(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n < 3 {
				w.WriteHeader([]int{500, 503}[n-1])
				return
			}
			w.WriteHeader(200)
		})
		e := newEnvOn(t, open, Config{})
		d := e.enqueue(rc.srv.URL+"/hook", true)
		e.start()

		for i, want := range []struct {
			status   int
			min, max time.Duration
		}{{500, 30 * time.Second, time.Minute}, {503, time.Minute, 2 * time.Minute}} {
			got := e.next()
			if got.State != core.DeliveryPending || got.Attempts != i+1 || got.LastStatus != want.status {
				t.Fatalf("attempt %d: %+v", i+1, got)
			}
			wait := got.NextAttemptAt.Sub(e.clk.Now())
			if wait < want.min || wait > want.max {
				t.Fatalf("attempt %d: next attempt in %s, want [%s, %s]", i+1, wait, want.min, want.max)
			}
			if !strings.Contains(got.LastError, strconv.Itoa(want.status)) {
				t.Fatalf("attempt %d: last error %q", i+1, got.LastError)
			}
			// Just before it is due nothing happens.
			e.sleeping()
			e.clk.Set(got.NextAttemptAt.Add(-time.Second))
			e.sleeping()
			e.noAttempt()
			// Once it is due, the worker's next poll (on the clock alone) sends it.
			e.clk.Advance(DefaultPollInterval)
		}
		got := e.next()
		if got.State != core.DeliveryDelivered || got.Attempts != 3 || got.LastStatus != 200 || got.LastError != "" {
			t.Fatalf("final attempt: %+v", got)
		}
		reqs := rc.requests()
		if len(reqs) != 3 {
			t.Fatalf("receiver got %d requests", len(reqs))
		}
		for i, r := range reqs {
			if r.header.Get("Livegate-Event-Id") != d.ID || r.header.Get("Livegate-Attempt") != strconv.Itoa(i+1) {
				t.Fatalf("request %d headers %v", i+1, r.header)
			}
			if !bytes.Equal(r.body, d.Body) {
				t.Fatalf("request %d body changed", i+1)
			}
		}
		e.checkLogs()
	})
}

func TestDeadLetterThenReplay(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		var mu sync.Mutex
		code := 500
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			w.WriteHeader(code)
		})
		e := newEnvOn(t, open, Config{MaxAttempts: 3})
		d := e.enqueue(rc.srv.URL+"/hook", true)
		e.start()
		for i := 1; i <= 3; i++ {
			got := e.next()
			if got.Attempts != i {
				t.Fatalf("attempt %d: %+v", i, got)
			}
			if i < 3 {
				if got.State != core.DeliveryPending {
					t.Fatalf("attempt %d: state %s", i, got.State)
				}
				e.sleeping()
				e.clk.Set(got.NextAttemptAt)
				continue
			}
			if got.State != core.DeliveryDead || got.LastStatus != 500 {
				t.Fatalf("after MaxAttempts: %+v", got)
			}
		}
		ctx := context.Background()
		dead, err := e.st.ListDeliveries(ctx, store.DeliveryFilter{State: core.DeliveryDead})
		if err != nil || len(dead) != 1 || dead[0].ID != d.ID {
			t.Fatalf("dead letters: %v, %v", dead, err)
		}
		// Days later nothing is retried.
		e.sleeping()
		e.clk.Advance(72 * time.Hour)
		e.sleeping()
		e.noAttempt()

		mu.Lock()
		code = 200
		mu.Unlock()
		r, err := Replay(ctx, e.st, d.ID, e.clk.Now())
		if err != nil || r.State != core.DeliveryPending || r.Attempts != 0 {
			t.Fatalf("Replay: %+v, %v", r, err)
		}
		if _, err := Replay(ctx, e.st, d.ID, e.clk.Now()); !errors.Is(err, ErrNotReplayable) {
			t.Fatalf("Replay of a pending delivery: %v", err)
		}
		if _, err := Replay(ctx, e.st, "evt_missing", e.clk.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Replay of a missing delivery: %v", err)
		}
		e.w.Notify()
		got := e.next()
		if got.State != core.DeliveryDelivered || got.Attempts != 1 || got.LastStatus != 200 {
			t.Fatalf("after replay: %+v", got)
		}
		reqs := rc.requests()
		if len(reqs) != 4 || reqs[3].header.Get("Livegate-Event-Id") != d.ID || reqs[3].header.Get("Livegate-Attempt") != "1" {
			t.Fatalf("replayed request: %d requests, last %v", len(reqs), reqs[len(reqs)-1].header)
		}
		// A delivered event can be replayed too (the receiver dedupes on the id).
		if r, err := Replay(ctx, e.st, d.ID, e.clk.Now()); err != nil || r.DeliveredAt != nil {
			t.Fatalf("Replay of a delivered delivery: %+v, %v", r, err)
		}
		e.w.Notify()
		if got := e.next(); got.State != core.DeliveryDelivered {
			t.Fatalf("second replay: %+v", got)
		}
	})
}

func TestRedirectNotFollowed(t *testing.T) {
	var targetHits int
	var mu sync.Mutex
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/target" {
			mu.Lock()
			targetHits++
			mu.Unlock()
			w.WriteHeader(200)
			return
		}
		http.Redirect(w, r, "/target", http.StatusTemporaryRedirect)
	})
	e := newEnv(t, Config{})
	e.enqueue(rc.srv.URL+"/hook", true)
	e.start()
	got := e.next()
	if got.State != core.DeliveryPending || got.LastStatus != 307 || !strings.Contains(got.LastError, "redirect") {
		t.Fatalf("after a redirect: %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if targetHits != 0 || len(rc.requests()) != 1 {
		t.Fatalf("redirect followed: target hit %d times, %d requests", targetHits, len(rc.requests()))
	}
}

func TestHangingReceiverTimesOut(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before the server closes
	e := newEnv(t, Config{Timeout: 300 * time.Millisecond})
	e.enqueue(rc.srv.URL+"/hook", true)
	start := time.Now()
	e.start()
	got := e.next()
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Fatalf("attempt took %s with a 300ms timeout", elapsed)
	}
	if got.State != core.DeliveryPending || got.Attempts != 1 || got.LastStatus != 0 ||
		!(strings.Contains(got.LastError, "deadline") || strings.Contains(got.LastError, "timeout")) {
		t.Fatalf("after a hanging receiver: %+v", got)
	}
}

func TestRotatingSecretsGiveTwoSignatures(t *testing.T) {
	rc := newReceiver(t, status(200))
	e := newEnv(t, Config{})
	oldSecret, expiredSecret := core.NewSecret("whsec_"), core.NewSecret("whsec_")
	later, earlier := t0.Add(24*time.Hour), t0.Add(-time.Hour)
	_, err := e.st.UpdateTenant(context.Background(), e.tenant.ID, func(tn *core.Tenant) error {
		tn.WebhookSecrets = append(tn.WebhookSecrets,
			core.SealedSecret{Sealed: e.sealer.Seal([]byte(oldSecret)), ExpiresAt: &later},
			core.SealedSecret{Sealed: e.sealer.Seal([]byte(expiredSecret)), ExpiresAt: &earlier})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.enqueue(rc.srv.URL+"/hook", true)
	e.start()
	if got := e.next(); got.State != core.DeliveryDelivered {
		t.Fatalf("%+v", got)
	}
	r := rc.requests()[0]
	sig := r.header.Get("Livegate-Signature")
	if n := strings.Count(sig, "v1="); n != 2 {
		t.Fatalf("signature %q has %d v1 values, want 2", sig, n)
	}
	for _, s := range []string{e.secret, oldSecret} {
		if err := Verify(sig, r.body, []byte(s), 0, e.clk.Now()); err != nil {
			t.Errorf("secret does not verify: %v", err)
		}
	}
	if err := Verify(sig, r.body, []byte(expiredSecret), 0, e.clk.Now()); !errors.Is(err, ErrNoValidSignature) {
		t.Errorf("expired secret: %v, want ErrNoValidSignature", err)
	}
	for _, s := range []string{e.secret, oldSecret, expiredSecret} {
		if strings.Contains(e.logs.String(), s) {
			t.Fatal("a secret is in the logs")
		}
	}
}

func TestUnsignedWithoutTenant(t *testing.T) {
	rc := newReceiver(t, status(200))
	e := newEnv(t, Config{})
	d := e.enqueue(rc.srv.URL+"/hook", false)
	e.start()
	if got := e.next(); got.State != core.DeliveryDelivered {
		t.Fatalf("%+v", got)
	}
	r := rc.requests()[0]
	if _, ok := r.header["Livegate-Signature"]; ok {
		t.Fatalf("legacy-key session got a signature header: %v", r.header)
	}
	if r.header.Get("Livegate-Event-Id") != d.ID {
		t.Fatalf("headers %v", r.header)
	}
}

// nameResolver maps names to addresses, in order per call.
type nameResolver struct {
	mu      sync.Mutex
	answers [][]netip.Addr
	calls   int
}

func (r *nameResolver) LookupNetIP(_ context.Context, _, _ string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := min(r.calls, len(r.answers)-1)
	r.calls++
	return r.answers[i], nil
}

// TestPolicyEnforcedOnDelivery: even in dev mode, a name (not the literal
// loopback hosts) that resolves to loopback is refused, whether at the URL
// check or, after DNS rebinding, at the dial. The receiver is never reached.
func TestPolicyEnforcedOnDelivery(t *testing.T) {
	rc := newReceiver(t, status(200))
	port := rc.srv.Listener.Addr().(*net.TCPAddr).Port
	cases := []struct {
		name    string
		answers [][]netip.Addr
		want    string
	}{
		{"resolves to loopback", [][]netip.Addr{{netip.MustParseAddr("127.0.0.1")}}, netguard.CodeHostNotAllowed},
		{"resolves to private", [][]netip.Addr{{netip.MustParseAddr("10.1.2.3")}}, netguard.CodeHostNotAllowed},
		{"rebinds after the check", [][]netip.Addr{{netip.MustParseAddr("93.184.216.34")}, {netip.MustParseAddr("127.0.0.1")}}, "not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := &nameResolver{answers: c.answers}
			e := newEnv(t, Config{Policy: netguard.Policy{Dev: true, Resolver: res}})
			u := url.URL{Scheme: "https", Host: "hooks.example.com:" + strconv.Itoa(port), Path: "/hook"}
			e.enqueue(u.String(), true)
			e.start()
			got := e.next()
			if got.State != core.DeliveryPending || got.LastStatus != 0 || !strings.Contains(got.LastError, c.want) {
				t.Fatalf("%+v", got)
			}
		})
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("receiver reached %d times", n)
	}
}

// TestLeaseTakeover: a worker that claimed a delivery and died holds it
// until the lease ends; then another worker delivers it.
func TestLeaseTakeover(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		rc := newReceiver(t, status(200))
		e := newEnvOn(t, open, Config{Lease: time.Minute})
		d := e.enqueue(rc.srv.URL+"/hook", true)
		claimed, err := e.st.ClaimDeliveries(context.Background(), e.clk.Now(), time.Minute, 10)
		if err != nil || len(claimed) != 1 || claimed[0].ID != d.ID {
			t.Fatalf("claim: %v, %v", claimed, err)
		}
		e.start()
		e.sleeping()
		e.clk.Advance(30 * time.Second)
		e.sleeping()
		e.noAttempt()
		e.clk.Advance(30 * time.Second)
		if got := e.next(); got.State != core.DeliveryDelivered || got.Attempts != 1 {
			t.Fatalf("after the lease: %+v", got)
		}
	})
}

// TestTwoWorkersShareTheOutbox: two workers (two replicas) on one store
// deliver every event exactly once between them.
func TestTwoWorkersShareTheOutbox(t *testing.T) {
	eachStore(t, func(t *testing.T, open opener) {
		var mu sync.Mutex
		seen := map[string]int{}
		rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[r.Header.Get("Livegate-Event-Id")]++
			mu.Unlock()
			w.WriteHeader(200)
		})
		e := newEnvOn(t, open, Config{BatchSize: 4})
		e.addWorker()
		const n = 24
		ids := map[string]bool{}
		for range n {
			ids[e.enqueue(rc.srv.URL+"/hook", true).ID] = true
		}
		e.start()
		for range n {
			if got := e.next(); got.State != core.DeliveryDelivered || got.Attempts != 1 {
				t.Fatalf("%+v", got)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != n {
			t.Fatalf("receiver saw %d distinct events, want %d", len(seen), n)
		}
		for id, c := range seen {
			if !ids[id] || c != 1 {
				t.Fatalf("event %s received %d times", id, c)
			}
		}
	})
}

func TestDefaultScheduleSpansADay(t *testing.T) {
	cfg, err := configDefault(Config{Store: (*bolt.Store)(nil), Sealer: &secret.Sealer{}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxAttempts < 8 {
		t.Fatalf("MaxAttempts %d < 8", cfg.MaxAttempts)
	}
	var lowSpan, maxSpan time.Duration
	for n := 1; n < cfg.MaxAttempts; n++ {
		w := window(cfg.BackoffBase, cfg.BackoffCap, n)
		lowSpan += w / 2
		maxSpan += w
	}
	if got := minSpan(cfg); got != lowSpan {
		t.Fatalf("minSpan = %s, want %s", got, lowSpan)
	}
	if lowSpan < 24*time.Hour {
		t.Fatalf("shortest span of %d attempts is %s, want >= 24h", cfg.MaxAttempts, lowSpan)
	}
	if lowSpan.Round(time.Minute) != 26*time.Hour+32*time.Minute || maxSpan != 53*time.Hour+3*time.Minute {
		t.Fatalf("schedule span [%s, %s] differs from the documented 26.5h–53h", lowSpan, maxSpan)
	}
	w := &Worker{cfg: cfg}
	for n := 1; n < cfg.MaxAttempts; n++ {
		win := window(cfg.BackoffBase, cfg.BackoffCap, n)
		for range 200 {
			if b := w.backoff(n); b < win/2 || b > win {
				t.Fatalf("backoff(%d) = %s outside [%s, %s]", n, b, win/2, win)
			}
		}
	}
	if got := window(time.Minute, 12*time.Hour, 1000); got != 12*time.Hour {
		t.Fatalf("window after 1000 attempts = %s", got)
	}
}

func TestConfigValidation(t *testing.T) {
	st := (*bolt.Store)(nil)
	for _, c := range []Config{
		{},
		{Store: st},
		{Store: st, Sealer: &secret.Sealer{}, Timeout: time.Minute, Lease: time.Second},
		{Store: st, Sealer: &secret.Sealer{}, BackoffBase: time.Hour, BackoffCap: time.Minute},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted an invalid config", c)
		}
	}
}

func TestNewDelivery(t *testing.T) {
	s := &core.Session{ID: "ses_1", TenantID: "ten_1", WebhookURL: "https://hooks.example.com/x"}
	d, err := NewDelivery(t0, core.EventSessionExpired, s, json.RawMessage(`{"session_id":"ses_1","status":"expired"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.ID, "evt_") || d.State != core.DeliveryPending || !d.NextAttemptAt.Equal(t0) ||
		d.TenantID != "ten_1" || d.SessionID != "ses_1" || d.URL != s.WebhookURL || d.Attempts != 0 {
		t.Fatalf("%+v", d)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(d.Body, &body); err != nil || len(body) != 4 {
		t.Fatalf("body %s: %v", d.Body, err)
	}
	if string(body["id"]) != `"`+d.ID+`"` || string(body["type"]) != `"session.expired"` ||
		string(body["created"]) != strconv.FormatInt(t0.Unix(), 10) || !strings.Contains(string(body["data"]), `"expired"`) {
		t.Fatalf("body %s", d.Body)
	}
	if _, err := NewDelivery(t0, core.EventSessionExpired, &core.Session{ID: "ses_2"}, json.RawMessage(`{}`)); !errors.Is(err, ErrNoWebhookURL) {
		t.Fatalf("no URL: %v", err)
	}
	for _, bad := range []string{``, `null`, `[1]`, `"x"`, `{`} {
		if _, err := NewDelivery(t0, core.EventSessionExpired, s, json.RawMessage(bad)); err == nil {
			t.Errorf("data %q accepted", bad)
		}
	}
	if _, err := NewDelivery(t0, "", s, json.RawMessage(`{}`)); err == nil {
		t.Error("empty event type accepted")
	}
}
