package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/webhook"
)

const (
	adminToken = "adm_test_token_0123456789"
	legacyKey  = "legacy_global_key_0123456789"
	t0ISO      = "2026-06-01T12:00:00Z"
)

// env is one running livegate-cloud (daemon.Start, the same wiring as
// `livegate-cloud serve`) on 127.0.0.1:0 with a fake clock.
type env struct {
	t      testing.TB
	d      *daemon.Daemon
	clk    *clock.Fake
	base   string
	client *http.Client
}

// starter starts an env with the suite's store, applying mods to the options.
type starter func(t testing.TB, mods ...func(*daemon.Options)) *env

// fakeResolver answers the names the hostile-URL table uses.
type fakeResolver map[string][]string

func (r fakeResolver) LookupNetIP(_ context.Context, _ string, host string) ([]netip.Addr, error) {
	addrs, ok := r[strings.ToLower(host)]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

var resolver = fakeResolver{
	"hooks.example.com":    {"93.184.216.34"},
	"app.example.com":      {"93.184.216.34"},
	"rebind.example.com":   {"10.0.0.5"},
	"mixed.example.com":    {"93.184.216.34", "127.0.0.1"},
	"metadata.example.com": {"169.254.169.254"},
	"mapped.example.com":   {"::ffff:127.0.0.1"},
	"ula.example.com":      {"fd00::1"},
	"cgnat.example.com":    {"100.100.100.200"},
	"127.0.0.1.nip.io":     {"127.0.0.1"},
}

// startWith returns a starter that adds base options (the store) first.
func startWith(base func(t testing.TB, o *daemon.Options)) starter {
	return func(t testing.TB, mods ...func(*daemon.Options)) *env {
		t.Helper()
		clk := clock.NewFake(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		o := daemon.Options{
			Listener:   ln,
			DataDir:    t.TempDir(),
			Dev:        true,
			AdminToken: adminToken,
			LegacyKey:  legacyKey,
			RateLimit:  1_000_000,
			Clock:      clk,
			Resolver:   resolver,
			Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
			Webhook:    webhook.Config{MaxAttempts: 3, BackoffBase: time.Minute, BackoffCap: time.Hour, Timeout: 5 * time.Second},
		}
		if base != nil {
			base(t, &o)
		}
		for _, m := range mods {
			m(&o)
		}
		d, err := daemon.Start(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := d.Shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
		return &env{t: t, d: d, clk: clk, base: "http://" + ln.Addr().String(),
			client: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	}
}

// with returns a copy of e reporting to t (for subtests and fuzz targets).
func (e *env) with(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

// retryNow moves the fake clock by d (past a scheduled retry) and wakes the
// webhook worker, which then claims what is due at the new time.
func (e *env) retryNow(d time.Duration) {
	e.clk.Advance(d)
	e.d.Worker().Notify()
}

// waitSaved polls the store (real-time deadline) until delivery id has
// recorded n attempts and released its lease: the worker saved the outcome.
func (e *env) waitSaved(id string, n int) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := e.d.Store().GetDelivery(context.Background(), id)
		if err == nil && d.Attempts == n && d.LeaseUntil.IsZero() {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("delivery %s: attempt %d not saved (%+v, %v)", id, n, d, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sweepUntil advances the fake clock by step at a time, letting the TTL
// sweeper run on it, until rcv gets a delivery (or a real-time deadline).
func (e *env) sweepUntil(rcv *receiver, step time.Duration) delivered {
	e.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		e.clk.Advance(step)
		select {
		case d := <-rcv.ch:
			return d
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			e.t.Fatal("no delivery while sweeping")
		}
	}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; body is marshalled unless it is a string or []byte.
// hdr are header name/value pairs; a JSON Content-Type is added to bodies
// unless hdr sets one.
func (e *env) do(method, path string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.base+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	r, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: r.StatusCode, header: r.Header, body: b}
}

// rawOversized posts a body of twice the limit over a raw connection and
// reads the answer even though the server stops reading the body early
// (a normal client may see a broken pipe before it reads the 413).
func (e *env) rawOversized(path string, hdr ...string) resp {
	e.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	n := 2 * api.DefaultBodyLimit
	head := "POST " + path + " HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: " + fmt.Sprint(n) + "\r\n"
	for i := 0; i+1 < len(hdr); i += 2 {
		head += hdr[i] + ": " + hdr[i+1] + "\r\n"
	}
	if _, err := conn.Write([]byte(head + "\r\n")); err != nil {
		e.t.Fatal(err)
	}
	go conn.Write(bytes.Repeat([]byte("a"), n)) // may fail once the server closes; the answer is what matters
	r, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("reading the answer to an oversized body: %v", err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{status: r.StatusCode, header: r.Header, body: b}
}

func bearer(key string) []string { return []string{"Authorization", "Bearer " + key} }

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// want checks the status and, for errors, that the body is the envelope
// with code and the X-Request-Id it names.
func (r resp) want(t testing.TB, status int, code string) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	rid := r.header.Get("X-Request-Id")
	if !strings.HasPrefix(rid, "req_") {
		t.Fatalf("X-Request-Id %q", rid)
	}
	if status >= 400 {
		var env openapi.Envelope
		dec := json.NewDecoder(bytes.NewReader(r.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&env); err != nil {
			t.Fatalf("error body is not the envelope: %s (%v)", r.body, err)
		}
		if env.Detail.Code != code || env.Detail.Message == "" || env.Detail.RequestID != rid {
			t.Fatalf("envelope %+v, want code %s and request_id %s", env.Detail, code, rid)
		}
	}
	return r
}

func (r resp) message(t testing.TB) string {
	var env openapi.Envelope
	r.decode(t, &env)
	return env.Detail.Message
}

func (e *env) tenant(mode string) api.TenantCreated {
	e.t.Helper()
	var tc api.TenantCreated
	e.do("POST", "/admin/v1/tenants", map[string]string{"name": "Tenant " + mode, "mode": mode}, bearer(adminToken)...).
		want(e.t, 201, "").decode(e.t, &tc)
	return tc
}

func (e *env) session(key string, body any) api.SessionCreated {
	e.t.Helper()
	var sc api.SessionCreated
	e.do("POST", "/api/v1/managed-session", body, bearer(key)...).want(e.t, 201, "").decode(e.t, &sc)
	return sc
}

// receiver is a loopback webhook endpoint (allowed by dev mode).
type receiver struct {
	srv    *httptest.Server
	ch     chan delivered
	status atomic.Int32
}

type delivered struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{ch: make(chan delivered, 64)}
	r.status.Store(http.StatusNoContent)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.ch <- delivered{header: req.Header.Clone(), body: b}
		w.WriteHeader(int(r.status.Load()))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + "/hook?src=test" }

// next waits (real time, with a deadline) for the next delivery.
func (r *receiver) next(t *testing.T) delivered {
	t.Helper()
	select {
	case d := <-r.ch:
		return d
	case <-time.After(15 * time.Second):
		t.Fatal("no webhook delivery within 15 s")
		return delivered{}
	}
}

// none checks that nothing was delivered (the outbox was already drained,
// so there is nothing in flight to wait for).
func (r *receiver) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-r.ch:
		t.Fatalf("unexpected delivery %s", d.body)
	default:
	}
}

// event decodes a webhook body.
type event struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Created int64           `json:"created"`
	Data    json.RawMessage `json:"data"`
}

func (d delivered) event(t *testing.T) event {
	t.Helper()
	var ev event
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatalf("webhook body %s: %v", d.body, err)
	}
	if d.header.Get("Livegate-Event-Id") != ev.ID || d.header.Get("Livegate-Attempt") == "" {
		t.Fatalf("webhook headers %v for event %s", d.header, ev.ID)
	}
	return ev
}

func sprint(v ...any) string { return fmt.Sprint(v...) }

func contextWithTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// schemaChecker checks answers against the server's OpenAPI document:
// the status is documented, the body matches its schema and an error's
// code is among the response's x-error-codes.
func schemaChecker(t *testing.T, e *env) func(method, path string, r resp) {
	doc, err := openapi3.NewLoader().LoadFromData(e.do("GET", "/openapi.json", nil).body)
	if err != nil {
		t.Fatal(err)
	}
	return func(method, path string, r resp) {
		t.Helper()
		op := doc.Paths.Find(path).GetOperation(method)
		if op == nil {
			t.Fatalf("%s %s is not documented", method, path)
		}
		ref := op.Responses.Status(r.status)
		if ref == nil {
			t.Fatalf("%s %s: status %d is not documented (%s)", method, path, r.status, r.body)
		}
		ct := ref.Value.Content.Get("application/json")
		if ct == nil {
			return
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		if err := ct.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Fatalf("%s %s %d: body does not match its schema: %v\n%s", method, path, r.status, err, r.body)
		}
		if r.status >= 400 {
			codes, _ := ref.Value.Extensions["x-error-codes"].([]any)
			found := false
			for _, c := range codes {
				found = found || c == errCode(r)
			}
			if !found {
				t.Fatalf("%s %s %d: code %s is not documented on the response (%v)", method, path, r.status, errCode(r), codes)
			}
		}
	}
}

func errCode(r resp) string {
	var env struct {
		Detail struct{ Code string } `json:"detail"`
	}
	json.Unmarshal(r.body, &env)
	return env.Detail.Code
}
