package api_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/daemon"
)

// TestShutdownRightAfterStart stops daemons as soon as they have started,
// as a SIGTERM arriving with the "serving" log line does: each Shutdown
// returns and the HTTP server stops (TestMain checks no goroutine is left).
// The HTTP server may not have begun serving its listener by then; Shutdown
// used to find nothing to stop, the server then served on, and Shutdown
// waited for it forever.
func TestShutdownRightAfterStart(t *testing.T) {
	for i := range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		d, err := daemon.Start(context.Background(), daemon.Options{Listener: ln, DataDir: t.TempDir(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		done := make(chan error, 1)
		go func() { done <- d.Shutdown(ctx) }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("start %d: shutdown: %v", i, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("start %d: Shutdown had not returned after 20 s", i)
		}
		cancel()
	}
}
