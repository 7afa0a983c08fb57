package api_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/captcha"
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func withPoW(max int64, step int) func(*daemon.Options) {
	return func(o *daemon.Options) {
		o.Captcha = daemon.CaptchaOptions{Kind: "pow", PoW: captcha.PoWConfig{MaxNumber: max, Step: step, AddressStep: 1 << 30, Window: time.Minute}}
	}
}

func (e *env) challenge() captcha.Challenge {
	e.t.Helper()
	r := e.do("GET", "/api/v1/captcha/challenge", nil)
	if r.status != http.StatusOK {
		e.t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		e.t.Fatalf("challenge Cache-Control %q, want no-store", cc)
	}
	var c captcha.Challenge
	r.decode(e.t, &c)
	return c
}

func (e *env) solved() string {
	e.t.Helper()
	payload, _, err := captcha.Solve(context.Background(), e.challenge())
	if err != nil {
		e.t.Fatal(err)
	}
	return payload
}

// TestCaptchaPoW: with --captcha pow, POST /api/v1/session needs a fresh
// solution of a challenge the server signed; every refusal uses its code,
// creates nothing and matches the OpenAPI document.
func TestCaptchaPoW(t *testing.T) {
	e := startWith(nil)(t, withPoW(2000, 1000))
	check := schemaChecker(t, e)
	const body = `{"mode":"passive"}`

	good := e.solved()
	late := e.solved()
	other := e.solved()
	forged := []byte(`{"algorithm":"SHA-256","challenge":"00","number":1,"salt":"ab?expires=99999999999","signature":"00"}`)
	tests := []struct {
		name   string
		header string
		status int
		code   string
	}{
		{"no solution", "", 403, "captcha.required"},
		{"not base64", "%%%", 403, "captcha.invalid"},
		{"forged", b64(forged), 403, "captcha.invalid"},
		{"good", good, 201, ""},
		{"replayed", good, 409, "captcha.replayed"},
		{"another", other, 201, ""},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.header != "" {
			hdr = []string{"X-Captcha", tt.header}
		}
		r := e.do("POST", "/api/v1/session", body, hdr...)
		check("POST", "/api/v1/session", r)
		if r.status != tt.status || errCode(r) != tt.code {
			t.Fatalf("%s: %d %s, want %d %s", tt.name, r.status, r.body, tt.status, tt.code)
		}
	}
	e.clk.Advance(5 * time.Minute)
	r := e.do("POST", "/api/v1/session", body, "X-Captcha", late)
	check("POST", "/api/v1/session", r)
	if r.status != 403 || errCode(r) != "captcha.expired" {
		t.Fatalf("after 5 minutes: %d %s, want 403 captcha.expired", r.status, r.body)
	}
	check("GET", "/api/v1/captcha/challenge", e.do("GET", "/api/v1/captcha/challenge", nil))
	// A browser on another origin may send X-Captcha.
	pre := e.do("OPTIONS", "/api/v1/session", nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type,x-captcha")
	if got := pre.header.Get("Access-Control-Allow-Headers"); pre.status != 204 || !containsFold(got, "X-Captcha") {
		t.Fatalf("preflight: %d, Allow-Headers %q", pre.status, got)
	}
	if ch := e.do("GET", "/api/v1/captcha/challenge", nil, "Origin", "https://app.example.com"); ch.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatal("the challenge route does not answer other origins")
	}
}

func containsFold(list, item string) bool {
	for _, f := range splitComma(list) {
		if http.CanonicalHeaderKey(f) == http.CanonicalHeaderKey(item) {
			return true
		}
	}
	return false
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			f := s[start:i]
			for len(f) > 0 && f[0] == ' ' {
				f = f[1:]
			}
			out = append(out, f)
			start = i + 1
		}
	}
	return out
}

// TestCaptchaDifficultyRisesUnderLoad: maxnumber doubles for each Step
// direct sessions created within the window, and falls back once the
// window has passed (fake clock).
func TestCaptchaDifficultyRisesUnderLoad(t *testing.T) {
	e := startWith(nil)(t, withPoW(500, 3))
	want := []int64{500, 1000, 2000, 4000}
	for i, w := range want {
		if got := e.challenge().MaxNumber; got != w {
			t.Fatalf("after %d sessions: maxnumber %d, want %d", 3*i, got, w)
		}
		for range 3 {
			if r := e.do("POST", "/api/v1/session", `{}`, "X-Captcha", e.solved()); r.status != 201 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		}
	}
	e.clk.Advance(time.Minute)
	if got := e.challenge().MaxNumber; got != 500 {
		t.Fatalf("a quiet minute later: maxnumber %d, want 500", got)
	}
}

// TestCaptchaDifficultyPerAddress: one client address creating sessions
// gets harder challenges while another address keeps the resting
// difficulty (addresses from X-Forwarded-For behind --proxy-header).
func TestCaptchaDifficultyPerAddress(t *testing.T) {
	e := startWith(nil)(t, func(o *daemon.Options) {
		o.ProxyHeader = "X-Forwarded-For"
		o.Captcha = daemon.CaptchaOptions{Kind: "pow", PoW: captcha.PoWConfig{MaxNumber: 500, Step: 1 << 30, AddressStep: 2}}
	})
	from := func(addr string) captcha.Challenge {
		r := e.do("GET", "/api/v1/captcha/challenge", nil, "X-Forwarded-For", addr)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var c captcha.Challenge
		r.decode(t, &c)
		return c
	}
	for i, want := range []int64{500, 1000, 2000} {
		c := from("198.51.100.7")
		if c.MaxNumber != want {
			t.Fatalf("after %d sessions from the address: maxnumber %d, want %d", 2*i, c.MaxNumber, want)
		}
		for range 2 {
			payload, _, err := captcha.Solve(context.Background(), from("198.51.100.7"))
			if err != nil {
				t.Fatal(err)
			}
			if r := e.do("POST", "/api/v1/session", `{}`, "X-Captcha", payload, "X-Forwarded-For", "198.51.100.7"); r.status != 201 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		}
	}
	if got := from("203.0.113.9").MaxNumber; got != 500 {
		t.Fatalf("another address: maxnumber %d, want 500", got)
	}
}

// TestCaptchaOff: without --captcha nothing changes, and the challenge
// route says so.
func TestCaptchaOff(t *testing.T) {
	e := startWith(nil)(t)
	check := schemaChecker(t, e)
	r := e.do("GET", "/api/v1/captcha/challenge", nil)
	check("GET", "/api/v1/captcha/challenge", r)
	if r.status != 404 || errCode(r) != "captcha.not_enabled" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/session", `{}`); r.status != 201 {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// TestCaptchaRemote: --captcha hcaptcha|turnstile verifies the token with
// the service (here a local fake siteverify) and maps its answers.
func TestCaptchaRemote(t *testing.T) {
	seen := map[string]bool{}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		tok := r.PostForm.Get("response")
		switch {
		case tok == "down":
			http.Error(w, "down", http.StatusBadGateway)
		case r.PostForm.Get("secret") == "site-secret" && tok == "ok" && !seen[tok]:
			seen[tok] = true
			w.Write([]byte(`{"success":true}`))
		case seen[tok]:
			w.Write([]byte(`{"success":false,"error-codes":["timeout-or-duplicate"]}`))
		default:
			w.Write([]byte(`{"success":false,"error-codes":["invalid-input-response"]}`))
		}
	}))
	defer fake.Close()
	for _, kind := range []string{"hcaptcha", "turnstile"} {
		t.Run(kind, func(t *testing.T) {
			clear(seen)
			e := startWith(nil)(t, func(o *daemon.Options) {
				o.Captcha = daemon.CaptchaOptions{Kind: kind, Secret: "site-secret", VerifyURL: fake.URL + "/siteverify"}
			})
			check := schemaChecker(t, e)
			for _, tt := range []struct {
				token  string
				status int
				code   string
			}{{"", 403, "captcha.required"}, {"bad", 403, "captcha.invalid"}, {"ok", 201, ""}, {"ok", 409, "captcha.replayed"}, {"down", 503, "captcha.unavailable"}} {
				var hdr []string
				if tt.token != "" {
					hdr = []string{"X-Captcha", tt.token}
				}
				r := e.do("POST", "/api/v1/session", `{}`, hdr...)
				check("POST", "/api/v1/session", r)
				if r.status != tt.status || errCode(r) != tt.code {
					t.Fatalf("token %q: %d %s, want %d %s", tt.token, r.status, r.body, tt.status, tt.code)
				}
			}
			r := e.do("GET", "/api/v1/captcha/challenge", nil)
			if r.status != 404 || errCode(r) != "captcha.not_enabled" {
				t.Fatalf("challenge under %s: %d %s", kind, r.status, r.body)
			}
		})
	}
	// Refused at start: without --dev the verify URL must be https to a
	// public address; a remote kind needs its secret; unknown kinds.
	for _, c := range []daemon.CaptchaOptions{
		{Kind: "turnstile", Secret: "s", VerifyURL: fake.URL},
		{Kind: "hcaptcha"},
		{Kind: "recaptcha", Secret: "s"},
	} {
		d, err := daemon.Start(context.Background(), daemon.Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Captcha: c})
		if err == nil {
			d.Shutdown(context.Background())
			t.Errorf("--captcha %+v was accepted", c)
		}
	}
}
