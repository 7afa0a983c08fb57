package health_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"livegate.dev/drivers/drivertest"
	"livegate.dev/firmware/health"
)

func listen(t *testing.T) (string, *net.UnixConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return path, c
}

func recv(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 256)
	n, err := c.Read(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(b[:n])
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		enabled bool
		wd      time.Duration
		wantErr bool
	}{
		{"outside systemd", map[string]string{}, false, 0, false},
		{"socket", map[string]string{"NOTIFY_SOCKET": "/run/x"}, true, 0, false},
		{"abstract", map[string]string{"NOTIFY_SOCKET": "@x"}, true, 0, false},
		{"watchdog", map[string]string{"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "20000000"}, true, 20 * time.Second, false},
		{"watchdog for another pid", map[string]string{"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}, true, 0, false},
		{"bad usec", map[string]string{"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "soon"}, false, 0, true},
		{"relative socket", map[string]string{"NOTIFY_SOCKET": "run/x"}, false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := health.FromEnv(env(tt.env))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if n.Enabled() != tt.enabled || n.Watchdog != tt.wd {
				t.Errorf("enabled %v watchdog %v", n.Enabled(), n.Watchdog)
			}
		})
	}
	var none *health.Notifier
	if err := none.Ready(); err != nil {
		t.Errorf("nil notifier: %v", err)
	}
}

func TestNotifyAndWatchdog(t *testing.T) {
	path, c := listen(t)
	n, err := health.FromEnv(env(map[string]string{"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "10000000"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, c); got != "READY=1" {
		t.Fatalf("got %q", got)
	}
	clk := drivertest.NewClock(time.Unix(0, 0))
	var bad atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.RunWatchdog(ctx, clk, slog.New(slog.NewTextHandler(io.Discard, nil)), func() error {
			if bad.Load() {
				return errors.New("stuck")
			}
			return nil
		})
	}()
	if got := recv(t, c); got != "WATCHDOG=1" {
		t.Fatalf("got %q", got)
	}
	if !clk.WaitForWaiters(1, 5*time.Second) {
		t.Fatal("watchdog not waiting")
	}
	clk.Advance(5 * time.Second) // half of WATCHDOG_USEC
	if got := recv(t, c); got != "WATCHDOG=1" {
		t.Fatalf("got %q", got)
	}
	// Unhealthy: no ping for this period; the next message is STOPPING.
	bad.Store(true)
	if !clk.WaitForWaiters(1, 5*time.Second) {
		t.Fatal("watchdog not waiting")
	}
	clk.Advance(5 * time.Second)
	if !clk.WaitForWaiters(1, 5*time.Second) {
		t.Fatal("watchdog not waiting")
	}
	cancel()
	<-done
	if err := n.Stopping(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, c); got != "STOPPING=1" {
		t.Fatalf("got %q after an unhealthy period, want STOPPING=1", got)
	}
}
