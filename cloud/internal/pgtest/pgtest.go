package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled is returned when no PostgreSQL server binaries are found.
var ErrNotInstalled = errors.New("pgtest: PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin; run `make setup`, which installs the Debian package postgresql (or set LIVEGATE_PG_BIN)")

// Server is a running throwaway PostgreSQL server.
type Server struct {
	root  string // the temporary directory, removed by Stop
	data  string
	bin   string
	port  int
	runAs string // "postgres" when started by root
}

// BinDir returns the directory holding initdb and pg_ctl: $LIVEGATE_PG_BIN,
// else the highest version under /usr/lib/postgresql.
func BinDir() (string, error) {
	if d := os.Getenv("LIVEGATE_PG_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err != nil {
			return "", fmt.Errorf("pgtest: LIVEGATE_PG_BIN=%s: %w", d, err)
		}
		return d, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	type cand struct {
		dir string
		ver float64
	}
	var cs []cand
	for _, m := range matches {
		dir := filepath.Dir(m)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err != nil {
			continue
		}
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		cs = append(cs, cand{dir, v})
	}
	if len(cs) == 0 {
		return "", ErrNotInstalled
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].ver > cs[j].ver })
	return cs[0].dir, nil
}

// Start starts a server for a test or benchmark and stops it (removing its
// files) when tb's cleanup runs. It fails tb when PostgreSQL is missing.
func Start(tb testing.TB) *Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := StartServer(ctx, "")
	if err != nil {
		tb.Fatalf("%v", err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("%v", err)
		}
	})
	return s
}

// StartServer starts a server with its files in a new directory under dir
// (os.TempDir() if empty). The caller must call Stop.
func StartServer(ctx context.Context, dir string) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir = os.TempDir()
	}
	reapOrphans(ctx, dir, bin)
	root, err := os.MkdirTemp(dir, "livegate-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: temp dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(root, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(root)
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{root: root, data: filepath.Join(root, "data"), bin: bin}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(root)
		}
	}()
	if os.Geteuid() == 0 {
		if err := s.prepareForPostgresUser(); err != nil {
			return nil, err
		}
	}
	if out, err := s.run(ctx, "initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
		"--locale=C.UTF-8", "--no-sync"); err != nil {
		return nil, fmt.Errorf("pgtest: initdb in %s: %w\n%s", s.data, err, out)
	}
	// A free port can be taken between our probe and the server's bind:
	// try a few.
	var lastErr error
	for range 3 {
		if s.port, err = freePort(); err != nil {
			return nil, err
		}
		sock := s.root
		if len(sock)+len("/.s.PGSQL.65535") > 100 { // beyond sun_path: TCP only
			sock = "''"
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", s.port, sock)
		out, err := s.run(ctx, "pg_ctl", "-D", s.data, "-l", filepath.Join(s.root, "postgres.log"), "-w", "-t", "60", "-o", opts, "start")
		if err == nil {
			ok = true
			return s, nil
		}
		log, _ := os.ReadFile(filepath.Join(s.root, "postgres.log"))
		lastErr = fmt.Errorf("pgtest: pg_ctl start on port %d: %w\n%s\n%s", s.port, err, out, tail(log, 2000))
	}
	return nil, lastErr
}

// prepareForPostgresUser gives the directory to postgres and makes sure
// postgres can reach it.
func (s *Server) prepareForPostgresUser() error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("pgtest: running as root needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(s.root, uid, gid); err != nil {
		return fmt.Errorf("pgtest: chown %s: %w", s.root, err)
	}
	for d := filepath.Dir(s.root); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("pgtest: let postgres enter %s: %w", d, err)
			}
		}
		if d == "/" || d == filepath.Dir(d) {
			break
		}
	}
	s.runAs = "postgres"
	return nil
}

func (s *Server) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	path := filepath.Join(s.bin, tool)
	var cmd *exec.Cmd
	if s.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", s.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = s.root
	// pg_ctl's server must outlive this command's process group signals.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("pgtest: find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port != 5432 {
			return port, nil
		}
	}
	return 0, errors.New("pgtest: no free port")
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// DataDir is the server's data directory (the cluster's files: base/ holds
// the tables). Tests that look for bytes in the table files read it.
func (s *Server) DataDir() string { return s.data }

// DSN is the connection string of the server's postgres database.
func (s *Server) DSN() string { return s.dsn("postgres") }

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// NewDatabase creates the database name and returns its DSN.
func (s *Server) NewDatabase(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		return "", fmt.Errorf("pgtest: connect to %s: %w", s.DSN(), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %q: %w", name, err)
	}
	return s.dsn(name), nil
}

// Stop stops the server (immediate shutdown) and removes its files.
func (s *Server) Stop() error {
	if s.root == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Immediate: the files are deleted next, so the shutdown checkpoint a
	// fast or smart stop writes (and fsyncs) would be wasted time.
	var err error
	if out, e := s.run(ctx, "pg_ctl", "-D", s.data, "-m", "immediate", "-w", "stop"); e != nil {
		err = fmt.Errorf("pgtest: pg_ctl stop: %w\n%s", e, out)
	}
	if e := os.RemoveAll(s.root); e != nil && err == nil {
		err = fmt.Errorf("pgtest: remove %s: %w", s.root, e)
	}
	s.root = ""
	return err
}

// ownerFile holds the pid of the process that started a server.
const ownerFile = "owner.pid"

// reapOrphans stops and removes servers under dir whose starting process is
// gone (a test binary killed by a timeout never runs its cleanup).
func reapOrphans(ctx context.Context, dir, bin string) {
	roots, _ := filepath.Glob(filepath.Join(dir, "livegate-pg-*"))
	for _, root := range roots {
		b, err := os.ReadFile(filepath.Join(root, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		orphan := &Server{root: root, data: filepath.Join(root, "data"), bin: bin}
		if fi, err := os.Stat(root); err == nil && os.Geteuid() == 0 {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
				orphan.runAs = "postgres"
			}
		}
		if _, err := os.Stat(filepath.Join(orphan.data, "postmaster.pid")); err == nil {
			orphan.run(ctx, "pg_ctl", "-D", orphan.data, "-m", "immediate", "-w", "stop")
		}
		os.RemoveAll(root)
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
