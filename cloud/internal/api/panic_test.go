package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/daemon"
)

// syncWriter is a goroutine-safe log sink.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestPanicIsEnvelopedAndLogged(t *testing.T) {
	var logs syncWriter
	e := startWith(nil)(t, func(o *daemon.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	// A route added for the test only; the server's middleware applies to it.
	e.d.Server().App().Get("/test-panic", func(*fiber.Ctx) error { panic("boom") })
	r := e.do("GET", "/test-panic", nil).want(t, 500, "server.internal")
	if strings.Contains(string(r.body), "boom") {
		t.Fatalf("panic value leaked to the client: %s", r.body)
	}
	// The server keeps serving.
	e.do("GET", "/healthz", nil).want(t, 200, "")
	// The log has the panic with its request id, and no secrets.
	tc := e.tenant("test")
	e.do("POST", "/api/v1/managed-session", nil, bearer(tc.APIKey)...).want(t, 201, "")
	out := logs.String()
	if !strings.Contains(out, "boom") || !strings.Contains(out, r.header.Get("X-Request-Id")) {
		t.Fatalf("panic not logged with its request id:\n%s", out)
	}
	for _, secret := range []string{tc.APIKey, tc.WebhookSecret, adminToken, "lgst_", "lgct_"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log contains a secret (%s…)", secret[:5])
		}
	}
	// Every request line is structured with request_id; session routes carry session_id.
	sawSession := false
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		if rec["msg"] == "http request" {
			if rid, _ := rec["request_id"].(string); !strings.HasPrefix(rid, "req_") {
				t.Fatalf("request log without request_id: %s", line)
			}
			if rec["path"] == "/api/v1/managed-session" {
				sawSession = rec["session_id"] != nil && rec["tenant_id"] != nil
			}
		}
	}
	if !sawSession {
		t.Fatal("session creation logged without session_id/tenant_id")
	}
}
