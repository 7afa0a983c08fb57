package tech_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"livegate.dev/drivers"
	"livegate.dev/firmware/config"
	"livegate.dev/firmware/kiosk"
	"livegate.dev/firmware/tech"
)

type fakeKiosk struct {
	mu     sync.Mutex
	relay  []time.Duration
	lights []string
	busy   bool
}

func (f *fakeKiosk) Status() kiosk.Status {
	return kiosk.Status{State: kiosk.StateIdle, Recent: []kiosk.Summary{{SessionID: "k1-abc", Verdict: "pass", Confidence: 0.9, Pulsed: true}}}
}
func (f *fakeKiosk) Preview() []byte { return []byte("\xff\xd8jpeg") }
func (f *fakeKiosk) TestRelay(ctx context.Context, d time.Duration) (drivers.PulseReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy {
		return drivers.PulseReport{}, kiosk.ErrBusy
	}
	f.relay = append(f.relay, d)
	return drivers.PulseReport{Requested: d, Applied: d}, nil
}
func (f *fakeKiosk) TestLight(ctx context.Context, name string, b float64, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name != "white" {
		return kiosk.ErrUnknownLight
	}
	f.lights = append(f.lights, name)
	return nil
}
func (f *fakeKiosk) LightNames() []string { return []string{"white"} }

func setup(t *testing.T, health func() error) (*httptest.Server, *fakeKiosk, *drivertestClock) {
	t.Helper()
	h, err := config.HashPasswordCost("s3cret-pass", config.MinIterations)
	if err != nil {
		t.Fatal(err)
	}
	fk := &fakeKiosk{}
	clk := &drivertestClock{now: time.Unix(1e9, 0)}
	srv := httptest.NewServer(tech.New(fk, tech.Options{User: "tech", PasswordHash: h, Check: config.CheckPassword, Health: health, Clock: clk}))
	t.Cleanup(srv.Close)
	return srv, fk, clk
}

type drivertestClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *drivertestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}
func (c *drivertestClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}
func (c *drivertestClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(t *testing.T, c *http.Client, u string, form url.Values, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func login(t *testing.T, srv *httptest.Server, c *http.Client) string {
	t.Helper()
	if code, body := post(t, c, srv.URL+"/login", url.Values{"user": {"tech"}, "password": {"s3cret-pass"}}, nil); code != http.StatusSeeOther {
		t.Fatalf("login = %d %s", code, body)
	}
	res, err := c.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfRe.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("no CSRF token on the logged-in page:\n%s", b)
	}
	return m[1]
}

func TestTestButtons(t *testing.T) {
	srv, fk, _ := setup(t, nil)
	c := client(t)
	csrf := login(t, srv, c)
	anon := client(t)
	tests := []struct {
		name   string
		c      *http.Client
		path   string
		form   url.Values
		hdr    map[string]string
		want   int
		relays int
	}{
		{"not logged in", anon, "/test/relay", url.Values{"csrf": {csrf}}, nil, http.StatusUnauthorized, 0},
		{"no csrf", c, "/test/relay", url.Values{}, nil, http.StatusForbidden, 0},
		{"wrong csrf", c, "/test/relay", url.Values{"csrf": {strings.Repeat("0", len(csrf))}}, nil, http.StatusForbidden, 0},
		{"cross-site", c, "/test/relay", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, 0},
		{"foreign origin", c, "/test/relay", url.Values{"csrf": {csrf}}, map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden, 0},
		{"bad duration", c, "/test/relay", url.Values{"csrf": {csrf}, "ms": {"60000"}}, nil, http.StatusBadRequest, 0},
		{"relay ok", c, "/test/relay", url.Values{"csrf": {csrf}, "ms": {"300"}}, nil, http.StatusOK, 1},
		{"light ok", c, "/test/light", url.Values{"csrf": {csrf}, "light": {"white"}}, nil, http.StatusOK, 1},
		{"unknown light", c, "/test/light", url.Values{"csrf": {csrf}, "light": {"uv"}}, nil, http.StatusBadRequest, 1},
		{"bad brightness", c, "/test/light", url.Values{"csrf": {csrf}, "light": {"white"}, "brightness": {"2"}}, nil, http.StatusBadRequest, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, tt.c, srv.URL+tt.path, tt.form, tt.hdr)
			if code != tt.want {
				t.Errorf("POST %s = %d %s, want %d", tt.path, code, body, tt.want)
			}
			fk.mu.Lock()
			n := len(fk.relay)
			fk.mu.Unlock()
			if n != tt.relays {
				t.Errorf("relay tests = %d, want %d", n, tt.relays)
			}
		})
	}
	if fk.relay[0] != 300*time.Millisecond {
		t.Errorf("relay test for %v", fk.relay[0])
	}
	res, _ := c.Get(srv.URL + "/test/relay")
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /test/relay = %d", res.StatusCode)
	}
	res.Body.Close()
	fk.mu.Lock()
	fk.busy = true
	fk.mu.Unlock()
	if code, _ := post(t, c, srv.URL+"/test/relay", url.Values{"csrf": {csrf}}, nil); code != http.StatusConflict {
		t.Errorf("relay test while busy = %d, want 409", code)
	}
}

func TestLoginLockAndExpiry(t *testing.T) {
	srv, _, clk := setup(t, nil)
	c := client(t)
	for i := 0; i < 5; i++ {
		if code, _ := post(t, c, srv.URL+"/login", url.Values{"user": {"tech"}, "password": {"guess"}}, nil); code != http.StatusUnauthorized {
			t.Fatalf("bad login %d = %d", i, code)
		}
	}
	if code, _ := post(t, c, srv.URL+"/login", url.Values{"user": {"tech"}, "password": {"s3cret-pass"}}, nil); code != http.StatusTooManyRequests {
		t.Fatalf("login while locked = %d, want 429", code)
	}
	clk.advance(61 * time.Second)
	csrf := login(t, srv, c)
	clk.advance(16 * time.Minute)
	if code, _ := post(t, c, srv.URL+"/test/relay", url.Values{"csrf": {csrf}}, nil); code != http.StatusUnauthorized {
		t.Errorf("expired session = %d, want 401", code)
	}
}

func TestStatusHealthPreview(t *testing.T) {
	var mu sync.Mutex
	var herr error
	srv, _, _ := setup(t, func() error { mu.Lock(); defer mu.Unlock(); return herr })
	for _, tt := range []struct {
		path, want string
		code       int
	}{
		{"/healthz", `"status":"ok"`, 200},
		{"/api/status", `"verdict":"pass"`, 200},
		{"/preview.jpg", "\xff\xd8", 200},
		{"/", "Last verdicts", 200},
	} {
		res, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.code || !strings.Contains(string(b), tt.want) {
			t.Errorf("GET %s = %d %q", tt.path, res.StatusCode, b)
		}
	}
	mu.Lock()
	herr = errors.New("camera stalled")
	mu.Unlock()
	res, _ := http.Get(srv.URL + "/healthz")
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("unhealthy /healthz = %d", res.StatusCode)
	}
	res.Body.Close()
}

// TestWalkUp: the simulated walk-up answers loopback clients only, needs the
// login and CSRF token when a credential is configured (and nothing more
// when none is), and reports the session it led to.
func TestWalkUp(t *testing.T) {
	h, err := config.HashPasswordCost("s3cret-pass", config.MinIterations)
	if err != nil {
		t.Fatal(err)
	}
	decided := kiosk.Summary{SessionID: "k1-0f", Verdict: "fail", Confidence: 0.31, Reasons: []string{"texture"}}
	walkUp := func(err error) func(context.Context) (kiosk.Summary, error) {
		return func(context.Context) (kiosk.Summary, error) {
			if err != nil {
				return kiosk.Summary{}, err
			}
			return decided, nil
		}
	}
	serve := func(o tech.Options) *httptest.Server {
		o.Check = config.CheckPassword
		srv := httptest.NewServer(tech.New(&fakeKiosk{}, o))
		t.Cleanup(srv.Close)
		return srv
	}
	withCred := func(w func(context.Context) (kiosk.Summary, error)) tech.Options {
		return tech.Options{User: "tech", PasswordHash: h, WalkUp: w}
	}
	tests := []struct {
		name    string
		o       tech.Options
		login   bool
		csrf    string // "" uses the login's token
		want    int
		outcome string
	}{
		{"not the sim board", withCred(nil), true, "", http.StatusNotFound, ""},
		{"credential configured, not logged in", withCred(walkUp(nil)), false, "x", http.StatusUnauthorized, ""},
		{"logged in, wrong csrf", withCred(walkUp(nil)), true, strings.Repeat("0", 48), http.StatusForbidden, ""},
		{"logged in", withCred(walkUp(nil)), true, "", http.StatusOK, "decided"},
		{"no face", withCred(walkUp(kiosk.ErrNoFace)), true, "", http.StatusOK, "no_face"},
		{"busy", withCred(walkUp(kiosk.ErrBusy)), true, "", http.StatusConflict, ""},
		{"no credential configured", tech.Options{WalkUp: walkUp(nil)}, false, "", http.StatusOK, "decided"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(tt.o)
			c := client(t)
			csrf := tt.csrf
			if tt.login {
				code, body := post(t, c, srv.URL+"/login", url.Values{"user": {"tech"}, "password": {"s3cret-pass"}},
					map[string]string{"Accept": "application/json"})
				var lr struct{ CSRF string }
				if code != http.StatusOK || json.Unmarshal([]byte(body), &lr) != nil || lr.CSRF == "" {
					t.Fatalf("JSON login = %d %s", code, body)
				}
				if csrf == "" {
					csrf = lr.CSRF
				}
			}
			code, body := post(t, c, srv.URL+"/test/walkup", url.Values{"csrf": {csrf}}, nil)
			if code != tt.want {
				t.Fatalf("POST /test/walkup = %d %s, want %d", code, body, tt.want)
			}
			if tt.outcome == "" {
				return
			}
			var res tech.WalkUpResult
			if err := json.Unmarshal([]byte(body), &res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.outcome || (tt.outcome == "decided") != (res.Session != nil) ||
				(res.Session != nil && res.Session.SessionID != decided.SessionID) {
				t.Errorf("walk-up answered %s", body)
			}
		})
	}

	// Loopback only, whatever the credential.
	s := tech.New(&fakeKiosk{}, tech.Options{WalkUp: walkUp(nil)})
	for _, remote := range []string{"192.0.2.7:4000", "[2001:db8::1]:4000", "10.0.0.2:4000"} {
		r := httptest.NewRequest("POST", "/test/walkup", nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden {
			t.Errorf("walk-up from %s = %d %s, want 403", remote, w.Code, w.Body)
		}
	}
}
