package postgres

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/pgtest"
	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/store/storetest"
)

// One throwaway server for the package; each test gets its own database.
var (
	serverOnce sync.Once
	server     *pgtest.Server
	serverErr  error
	dbSeq      atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// Every pool (and its health-check goroutine) was closed.
		if err := goleak.Find(); err != nil {
			fmt.Println(err)
			code = 1
		}
	}
	if server != nil {
		if err := server.Stop(); err != nil {
			fmt.Println(err)
			code = 1
		}
	}
	os.Exit(code)
}

// newDatabase returns the DSN of a fresh database on the package's server.
func newDatabase(t testing.TB) string {
	t.Helper()
	serverOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		server, serverErr = pgtest.StartServer(ctx, "")
	})
	if serverErr != nil {
		t.Fatalf("%v", serverErr)
	}
	name := strings.ToLower(fmt.Sprintf("t%d_%s", dbSeq.Add(1), strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())))
	if len(name) > 60 {
		name = name[:60]
	}
	dsn, err := server.NewDatabase(name)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

func open(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, newDatabase(t)) })
}

// TestMigrateConcurrently: replicas starting at once migrate once.
func TestMigrateConcurrently(t *testing.T) {
	dsn := newDatabase(t)
	const replicas = 4
	stores := make([]*Store, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), dsn, Options{})
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
				return
			}
			stores[i] = s
		}()
	}
	wg.Wait()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if s == nil {
			continue
		}
		defer s.Close()
		if v := s.SchemaVersion(); v != ms[len(ms)-1].version {
			t.Errorf("replica %d at schema version %d, want %d", i, v, ms[len(ms)-1].version)
		}
	}
	if stores[0] == nil {
		t.FailNow()
	}
	var n int
	if err := stores[0].pool.QueryRow(context.Background(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(ms) {
		t.Errorf("schema_migrations has %d rows (%v), want %d", n, err, len(ms))
	}
}

// TestReplicasClaimDisjoint: two Store instances on one database (two
// replicas) claiming at the same time never share a delivery.
func TestReplicasClaimDisjoint(t *testing.T) {
	dsn := newDatabase(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx := context.Background()
	var all []string
	for range 30 {
		ses := storetest.Session("")
		var ds []*core.Delivery
		for range 5 {
			d := storetest.Delivery(ses, core.EventSessionCreated)
			ds = append(ds, d)
			all = append(all, d.ID)
		}
		if _, err := a.CreateSession(ctx, ses, ds); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	owner := map[string]string{}
	perReplica := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for name, s := range map[string]*Store{"a": a, "b": b} {
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for {
					got, err := s.ClaimDeliveries(ctx, storetest.T0, time.Minute, 4)
					if err != nil {
						t.Errorf("replica %s worker %d: %v", name, w, err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, d := range got {
						if prev, ok := owner[d.ID]; ok {
							t.Errorf("delivery %s claimed by %s and again by %s", d.ID, prev, name)
						}
						owner[d.ID] = name
						perReplica[name]++
					}
					mu.Unlock()
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	if len(owner) != len(all) {
		t.Errorf("claimed %d deliveries, want %d", len(owner), len(all))
	}
	t.Logf("claims per replica: %v", perReplica)
}
