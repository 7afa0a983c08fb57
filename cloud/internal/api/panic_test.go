package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/tenancy"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store/bolt"
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

// TestPanicIsEnvelopedAndLogged builds the server from its parts, adds a
// panicking route before serving, and drives it in process.
func TestPanicIsEnvelopedAndLogged(t *testing.T) {
	var logs syncWriter
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sealer, _ := secret.New(bytes.Repeat([]byte{1}, secret.KeySize))
	sessions, err := lifecycle.New(lifecycle.Config{Store: st, URLs: netguard.Policy{}, TokenKey: bytes.Repeat([]byte{2}, 32),
		PublicURL: "http://localhost:8000", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	tenants := tenancy.New(st, sealer, nil)
	srv, err := api.New(api.Config{Sessions: sessions, Tenants: tenants, Store: st, Logger: logger, AdminToken: adminToken,
		Replay: func(context.Context, string) (*core.Delivery, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	srv.App().Get("/test-panic", func(*fiber.Ctx) error { panic("boom") })
	do := func(method, path, body string, hdr ...string) resp {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		r, err := srv.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		return resp{status: r.StatusCode, header: r.Header, body: b}
	}

	r := do("GET", "/test-panic", "").want(t, 500, "server.internal")
	if strings.Contains(string(r.body), "boom") {
		t.Fatalf("panic value leaked to the client: %s", r.body)
	}
	do("GET", "/healthz", "").want(t, 200, "") // still serving
	nt, err := tenants.Create(context.Background(), "Acme", core.TenantTest)
	if err != nil {
		t.Fatal(err)
	}
	var sc api.SessionCreated
	do("POST", "/api/v1/managed-session", `{}`, bearer(nt.APIKey)...).want(t, 201, "").decode(t, &sc)
	do("GET", "/api/v1/session/"+sc.SessionID+"/result?token="+sc.Token, "").want(t, 200, "")

	out := logs.String()
	if !strings.Contains(out, "boom") || !strings.Contains(out, r.header.Get("X-Request-Id")) {
		t.Fatalf("panic not logged with its request id:\n%s", out)
	}
	for _, s := range []string{nt.APIKey, nt.WebhookSecret, adminToken, sc.Token, sc.ClientToken, "token="} {
		if strings.Contains(out, s) {
			t.Fatalf("log contains a secret (%s…)", s[:5])
		}
	}
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
				sawSession = rec["session_id"] == sc.SessionID && rec["tenant_id"] == nt.Tenant.ID
			}
		}
	}
	if !sawSession {
		t.Fatalf("session creation logged without its session_id/tenant_id:\n%s", out)
	}
}
