package api_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"livegate.dev/cloud/internal/pgtest"
)

var (
	pgOnce   sync.Once
	pgServer *pgtest.Server
	pgErr    error
)

// postgresServer starts one throwaway PostgreSQL server for the package
// (stopped by TestMain); tests take their own database or schema in it.
func postgresServer(t *testing.T) *pgtest.Server {
	t.Helper()
	pgOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		pgServer, pgErr = pgtest.StartServer(ctx, "")
	})
	if pgErr != nil {
		t.Fatal(pgErr)
	}
	return pgServer
}

// TestMain stops the shared PostgreSQL server and fails the package if a
// test left goroutines behind: every server, worker, sweeper and receiver
// a test starts must stop. fasthttp's worker-pool cleaner notices Shutdown
// only after its idle sleep (up to 10 s), and its Date-header updater lives
// for the process: those are the goroutines allowed to outlive a test.
func TestMain(m *testing.M) {
	code := m.Run()
	if pgServer != nil {
		if err := pgServer.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
			goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
