package api_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/pgtest"
)

// TestAPIPostgres runs the whole HTTP suite against PostgreSQL: one
// throwaway server (initdb + pg_ctl in a temp dir, free port), a fresh
// database per test.
func TestAPIPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	pg := pgtest.Start(t)
	var n atomic.Int64
	start := startWith(func(t testing.TB, o *daemon.Options) {
		dsn, err := pg.NewDatabase(fmt.Sprintf("api_%d", n.Add(1)))
		if err != nil {
			t.Fatal(err)
		}
		o.Store, o.PostgresDSN = daemon.StorePostgres, dsn
	})
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, start) })
	}
}
