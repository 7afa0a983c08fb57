package api_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/pgtest"
)

// TestAPIPostgres runs the whole HTTP suite against PostgreSQL: one
// throwaway server (initdb + pg_ctl in a temp dir, free port), one database,
// a fresh schema per test (search_path), so the store migrates from scratch
// each time without paying for CREATE DATABASE.
func TestAPIPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	pg := pgtest.Start(t)
	dsn, err := pg.NewDatabase("api")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	start := startWith(func(t testing.TB, o *daemon.Options) {
		schema := fmt.Sprintf("t%d", n.Add(1))
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		o.Store, o.PostgresDSN = daemon.StorePostgres, dsn+"&search_path="+schema
	})
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, start) })
	}
}
