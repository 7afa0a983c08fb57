package pgtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := StartServer(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Port() == 5432 {
		t.Fatal("throwaway server on 5432")
	}
	dsns := map[string]string{}
	for _, name := range []string{"alpha", "beta"} {
		dsn, err := s.NewDatabase(name)
		if err != nil {
			t.Fatal(err)
		}
		dsns[name] = dsn
	}
	if _, err := s.NewDatabase("alpha"); err == nil {
		t.Error("creating a database twice succeeded")
	}
	for name, dsn := range dsns {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect to %s: %v", name, err)
		}
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&got); err != nil || got != name {
			t.Errorf("current_database() = %q, %v; want %q", got, err, name)
		}
		var fsync string
		if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "on" {
			t.Errorf("fsync = %q, %v; want on (benchmarks measure durable commits)", fsync, err)
		}
		conn.Close(ctx)
	}
	root := s.root
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stop left %s behind: %v", root, err)
	}
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	if conn, err := pgx.Connect(cctx, dsns["alpha"]); err == nil {
		conn.Close(ctx)
		t.Error("server still accepts connections after Stop")
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestBinDirMissing(t *testing.T) {
	t.Setenv("LIVEGATE_PG_BIN", t.TempDir())
	if _, err := BinDir(); err == nil {
		t.Fatal("BinDir with an empty LIVEGATE_PG_BIN succeeded")
	}
	if _, err := StartServer(context.Background(), t.TempDir()); err == nil {
		t.Fatal("StartServer without binaries succeeded")
	}
}

func TestNotInstalledMessage(t *testing.T) {
	if msg := ErrNotInstalled.Error(); !strings.Contains(msg, "make setup") || !strings.Contains(msg, "postgresql") {
		t.Errorf("message %q does not say how to install PostgreSQL", msg)
	}
}

// TestReapOrphans: a server whose starting process died is stopped and
// removed by the next StartServer in the same directory.
func TestReapOrphans(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "pgtest-reap-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	orphan, err := StartServer(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer orphan.Stop()
	// Pretend its owner died: a pid that cannot be a live process.
	if err := os.WriteFile(filepath.Join(orphan.root, ownerFile), []byte("2147483646"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := StartServer(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if _, err := os.Stat(orphan.root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphan %s not removed: %v", orphan.root, err)
	}
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	if conn, err := pgx.Connect(cctx, orphan.DSN()); err == nil {
		conn.Close(ctx)
		t.Error("orphan server still accepts connections")
	}
}
