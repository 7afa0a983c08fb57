package mount

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/pgtest"
)

// TestMountedSharedThrottle: with PostgresDSN the WebSocket refuses a
// client that another replica has put into a cool-down, and with the
// throttle's database gone the route still serves (each replica then counts
// in its own memory).
func TestMountedSharedThrottle(t *testing.T) {
	srv := pgtest.Start(t)
	master := strings.Repeat("ab", 32)
	dir := t.TempDir()
	d, err := daemon.Start(context.Background(), daemon.Options{Addr: "127.0.0.1:0", DataDir: dir, MasterKeyHex: master,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Routes: Routes(Options{ModelSets: 1, PostgresDSN: srv.DSN()})})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	session := func() string {
		c, err := d.Sessions().Create(context.Background(), lifecycle.Principal{}, core.KindDirect, lifecycle.CreateRequest{Mode: "passive"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return "ws://" + d.Addr().String() + "/api/v1/session/" + c.Session.ID + "/ws?token=" + url.QueryEscape(c.ClientToken)
	}
	// firstMessage sends a frame that is not a JPEG and returns the first
	// message's code, or the close code.
	firstMessage := func(ws string) (string, int) {
		conn, _, err := websocket.DefaultDialer.Dial(ws, nil)
		if err != nil {
			t.Fatalf("WebSocket: %v", err)
		}
		defer conn.Close()
		conn.WriteMessage(websocket.BinaryMessage, []byte("not a jpeg"))
		var m capture.Message
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatalf("reading: %v", err)
		}
		if m.Code == capture.ErrThrottled {
			_, _, err := conn.ReadMessage()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return m.Code, ce.Code
			}
		}
		return m.Code, 0
	}

	// Another replica (same master key, same database) records 5 failures.
	key, _ := hex.DecodeString(master)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("livegate capture throttle key"))
	other, err := capture.OpenPGThrottle(context.Background(), srv.DSN(), capture.PGThrottleConfig{Key: mac.Sum(nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	now := time.Now()
	for range 5 {
		other.Fail("127.0.0.1", now)
	}
	if code, close := firstMessage(session()); code != capture.ErrThrottled || close != capture.CloseThrottled {
		t.Fatalf("after 5 failures on another replica: %q close %d, want %q close %d", code, close, capture.ErrThrottled, capture.CloseThrottled)
	}

	// The throttle's database goes away: the route still serves.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if code, close := firstMessage(session()); code != capture.ErrBadFrame {
		t.Fatalf("with the throttle database down: %q close %d, want %q", code, close, capture.ErrBadFrame)
	}
}
