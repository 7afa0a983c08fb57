package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/store/bolt"
)

type env struct {
	app      *fiber.App
	sessions *lifecycle.Service
	clk      *clock.Fake
	live     map[string]bool
	tenants  fakeTenants
}

// fakeTenants serves tenants from a map (Config.Tenants).
type fakeTenants map[string]*core.Tenant

func (f fakeTenants) Get(_ context.Context, id string) (*core.Tenant, error) {
	if t, ok := f[id]; ok {
		return t, nil
	}
	return nil, apierr.New(apierr.TenantNotFound, "tenant %s not found", id)
}

func newEnv(t *testing.T) *env { return newEnvWith(t, "") }

// newEnvWith is newEnv with the handler's TestCamera setting.
func newEnvWith(t *testing.T, testCamera string) *env {
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	sessions, err := lifecycle.New(lifecycle.Config{Store: st, URLs: netguard.Policy{Dev: true}, TokenKey: bytes.Repeat([]byte{3}, 32),
		PublicURL: "https://verify.example", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{sessions: sessions, clk: clk, live: map[string]bool{}, tenants: fakeTenants{}}
	h, err := New(Config{Sessions: sessions, Tenants: e.tenants, PublicURL: "https://verify.example", Clock: clk, Live: func(id string) bool { return e.live[id] },
		TestCamera: testCamera})
	if err != nil {
		t.Fatal(err)
	}
	e.app = fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error {
		if ae, ok := apierr.As(err); ok {
			return c.Status(ae.Status()).JSON(fiber.Map{"detail": fiber.Map{"code": ae.Code.ID}})
		}
		return fiber.DefaultErrorHandler(c, err)
	}})
	e.app.Get("/s/:id", h.Page)
	e.app.Get("/s/:id/state", h.State)
	e.app.Post("/s/:id/handoff", h.Handoff)
	e.app.Get("/s/:id/logo", h.Logo)
	e.app.Post("/s/:id/consent", h.Consent)
	return e
}

func (e *env) do(t *testing.T, method, path string) (int, string) {
	t.Helper()
	resp, err := e.app.Test(httptest.NewRequest(method, path, nil), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPageAndState(t *testing.T) {
	e := newEnv(t)
	c, err := e.sessions.Create(context.Background(), lifecycle.Principal{}, core.KindDirect,
		lifecycle.CreateRequest{Mode: "passive", RedirectURL: "http://127.0.0.1:9/done"}, "")
	if err != nil {
		t.Fatal(err)
	}
	id, tok := c.Session.ID, url.QueryEscape(c.ClientToken)
	st, body := e.do(t, "GET", "/s/"+id+"?t="+tok)
	if st != 200 || !strings.Contains(body, `"mode":"passive"`) || !strings.Contains(body, "Use my phone instead") {
		t.Fatalf("page: %d %.300s", st, body)
	}
	if strings.Contains(body, "http://") && strings.Contains(body, "<script src=") {
		t.Fatal("the page loads a script from elsewhere")
	}
	for _, bad := range []string{"/s/" + id, "/s/" + id + "?t=lgct_nope", "/s/" + id + "?t=" + url.QueryEscape(c.Token)} {
		if st, _ := e.do(t, "GET", bad); st != 404 {
			t.Errorf("GET %s: %d, want 404", bad, st)
		}
	}
	st, body = e.do(t, "GET", "/s/"+id+"/state?t="+tok)
	if st != 200 || !strings.Contains(body, `"status":"pending"`) || !strings.Contains(body, `"connected":false`) {
		t.Fatalf("state: %d %s", st, body)
	}
	e.live[id] = true
	if _, body = e.do(t, "GET", "/s/"+id+"/state?t="+tok); !strings.Contains(body, `"connected":true`) {
		t.Fatalf("state with a live connection: %s", body)
	}
	if _, err := e.sessions.Complete(context.Background(), id, lifecycle.Outcome{Confidence: 0.2}); err != nil {
		t.Fatal(err)
	}
	_, body = e.do(t, "GET", "/s/"+id+"/state?t="+tok)
	var s State
	json.Unmarshal([]byte(body), &s)
	if s.Status != "completed" || s.Verdict != "fail" || s.RedirectURL != "http://127.0.0.1:9/done?session_id="+id {
		t.Fatalf("completed state %+v", s)
	}
	if strings.Contains(body, "confidence") || strings.Contains(body, "0.2") {
		t.Fatalf("state shows the score: %s", body)
	}
}

func TestHandoff(t *testing.T) {
	e := newEnv(t)
	c, err := e.sessions.Create(context.Background(), lifecycle.Principal{}, core.KindDirect, lifecycle.CreateRequest{}, "")
	if err != nil {
		t.Fatal(err)
	}
	id := c.Session.ID
	st, body := e.do(t, "POST", "/s/"+id+"/handoff?t="+url.QueryEscape(c.ClientToken))
	var h Handoff
	if err := json.Unmarshal([]byte(body), &h); st != 200 || err != nil {
		t.Fatalf("handoff: %d %s", st, body)
	}
	if !strings.HasPrefix(h.QRSVG, "<svg") || !strings.Contains(h.QRSVG, "M") || !h.ExpiresAt.Equal(e.clk.Now().Add(5*time.Minute)) {
		t.Fatalf("handoff %+v", h)
	}
	u, _ := url.Parse(h.URL)
	if u.Query().Get("t") != "" || strings.Contains(h.URL, c.ClientToken) {
		t.Fatalf("the handoff link carries the client token in clear: %s", h.URL)
	}
	st, body = e.do(t, "GET", u.RequestURI())
	if st != 200 || !strings.Contains(body, `"from_handoff":true`) || !strings.Contains(body, c.ClientToken) {
		t.Fatalf("phone page: %d %.200s", st, body)
	}
	// Bound to its session.
	other, _ := e.sessions.Create(context.Background(), lifecycle.Principal{}, core.KindDirect, lifecycle.CreateRequest{}, "")
	if st, _ := e.do(t, "GET", "/s/"+other.Session.ID+"?"+u.RawQuery); st == 200 {
		t.Fatal("a handoff link opened another session")
	}
	// Tampered and expired links are refused.
	q := u.Query().Get("h")
	if st, _ := e.do(t, "GET", "/s/"+id+"?h="+q[:len(q)-2]+"AA"); st == 200 {
		t.Fatal("a tampered handoff link worked")
	}
	e.clk.Advance(5*time.Minute + time.Second)
	if st, _ := e.do(t, "GET", u.RequestURI()); st != 410 {
		t.Fatalf("expired handoff link: %d, want 410", st)
	}
}

func TestPageWeight(t *testing.T) {
	if w := PageWeight(); w > 40_000 {
		t.Fatalf("the page weighs %d bytes; keep it under 40 kB", w)
	}
	t.Logf("page weight: %d bytes, %d gzip-compressed (live, English)", PageWeight(), PageWeightGzip())
}

func TestPageCSP(t *testing.T) {
	e := newEnv(t)
	c, err := e.sessions.Create(context.Background(), lifecycle.Principal{}, core.KindDirect, lifecycle.CreateRequest{}, "")
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"verify.example.com": "wss://verify.example.com", "under_score.example": "connect-src 'self';"} {
		req := httptest.NewRequest("GET", "/s/"+c.Session.ID+"?t="+url.QueryEscape(c.ClientToken), nil)
		req.Host = host
		resp, err := e.app.Test(req, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, want) || !strings.Contains(csp, "script-src 'nonce-") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("host %q: CSP %q, want it to contain %q", host, csp, want)
		}
	}
}
