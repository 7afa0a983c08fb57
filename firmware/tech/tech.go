package tech

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"livegate.dev/drivers"
	"livegate.dev/firmware/kiosk"
)

// Kiosk is what the view needs of the kiosk.
type Kiosk interface {
	Status() kiosk.Status
	Preview() []byte
	TestRelay(ctx context.Context, d time.Duration) (drivers.PulseReport, error)
	TestLight(ctx context.Context, name string, brightness float64, d time.Duration) error
	LightNames() []string
}

var _ Kiosk = (*kiosk.Kiosk)(nil)

// Options configures New.
type Options struct {
	// User and PasswordHash are the local credential; without them the test
	// buttons are disabled. Check compares a password with the hash
	// (config.CheckPassword). Optional.
	User, PasswordHash string
	Check              func(hash, password string) bool
	// Health reports whether the kiosk is healthy (nil: healthy).
	// Optional. Default: always healthy.
	Health func() error
	// Clock for session expiry and the login lock. Optional. Default:
	// drivers.RealClock.
	Clock drivers.Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
	// SessionTTL is a technician login's lifetime. Optional. Default: 15m.
	SessionTTL time.Duration
	// WalkUp simulates someone walking up to the kiosk and returns the
	// session it led to (kiosk.ErrNoFace when nobody faced the camera,
	// kiosk.ErrBusy when the kiosk was not idle). Only the sim board has
	// one: it drives the fake presence sensor. Optional. Default: nil
	// (POST /test/walkup answers 404).
	WalkUp func(ctx context.Context) (kiosk.Summary, error)
}

// WalkUpResult is the answer of POST /test/walkup.
type WalkUpResult struct {
	// Outcome is "decided" (Session holds the verdict; the result is in
	// the outbox, on its way to the cloud) or "no_face" (nothing stored).
	Outcome string         `json:"outcome"`
	Session *kiosk.Summary `json:"session,omitempty"`
}

// Server is the technician view (an http.Handler).
type Server struct {
	k   Kiosk
	o   Options
	mux http.Handler

	mu       sync.Mutex
	sessions map[string]session // by cookie token
	fails    int
	lockedTo time.Time
}

type session struct {
	csrf    string
	expires time.Time
}

const cookieName = "livegate_tech"

// New returns the view for k.
func New(k Kiosk, o Options) *Server {
	if o.Clock == nil {
		o.Clock = drivers.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 15 * time.Minute
	}
	s := &Server{k: k, o: o, sessions: map[string]session{}}
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.page)
	m.HandleFunc("GET /preview.jpg", s.preview)
	m.HandleFunc("GET /api/status", s.status)
	m.HandleFunc("GET /healthz", s.health)
	m.HandleFunc("POST /login", s.login)
	m.HandleFunc("POST /logout", s.logout)
	m.HandleFunc("POST /test/relay", s.testRelay)
	m.HandleFunc("POST /test/light", s.testLight)
	m.HandleFunc("POST /test/walkup", s.testWalkUp)
	s.mux = http.NewCrossOriginProtection().Handler(m)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'")
	w.Header().Set("Cache-Control", "no-store")
	s.mux.ServeHTTP(w, r)
}

// HealthHandler serves only /healthz (for a separate health listener).
func (s *Server) HealthHandler() http.Handler { return http.HandlerFunc(s.health) }

func (s *Server) enabled() bool { return s.o.User != "" && s.o.PasswordHash != "" && s.o.Check != nil }

// current returns the technician session of r, if logged in.
func (s *Server) current(r *http.Request) (string, session, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", session{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se, ok := s.sessions[c.Value]
	if !ok || s.o.Clock.Now().After(se.expires) {
		delete(s.sessions, c.Value)
		return "", session{}, false
	}
	return c.Value, se, true
}

func token() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("tech: crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

func writeError(w http.ResponseWriter, code int, short, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"detail": map[string]string{"code": short, "message": msg}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.enabled() {
		writeError(w, http.StatusForbidden, "tech_disabled", "no technician credential is configured")
		return
	}
	now := s.o.Clock.Now()
	s.mu.Lock()
	locked := now.Before(s.lockedTo)
	s.mu.Unlock()
	if locked {
		writeError(w, http.StatusTooManyRequests, "locked", "too many failed logins; wait a minute")
		return
	}
	user, pw := r.PostFormValue("user"), r.PostFormValue("password")
	okUser := subtle.ConstantTimeCompare([]byte(user), []byte(s.o.User)) == 1
	okPw := s.o.Check(s.o.PasswordHash, pw) // always run: no timing hint on the user name
	if !okUser || !okPw {
		s.mu.Lock()
		s.fails++
		if s.fails >= 5 {
			s.fails, s.lockedTo = 0, now.Add(time.Minute)
		}
		s.mu.Unlock()
		s.o.Logger.Warn("technician login failed", "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, "bad_credential", "wrong user or password")
		return
	}
	t := token()
	s.mu.Lock()
	s.fails = 0
	for k, se := range s.sessions {
		if now.After(se.expires) {
			delete(s.sessions, k)
		}
	}
	s.sessions[t] = session{csrf: token(), expires: now.Add(s.o.SessionTTL)}
	s.mu.Unlock()
	s.o.Logger.Info("technician logged in", "remote", r.RemoteAddr)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: t, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: int(s.o.SessionTTL.Seconds())})
	if r.Header.Get("Accept") == "application/json" {
		// A command-line client (livegate-kiosk walkup) gets the CSRF
		// token its test actions must carry instead of the page.
		s.mu.Lock()
		csrf := s.sessions[t].csrf
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"csrf": csrf})
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if t, se, ok := s.current(r); ok && s.csrfOK(r, se) {
		s.mu.Lock()
		delete(s.sessions, t)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) csrfOK(r *http.Request, se session) bool {
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(se.csrf)) == 1
}

// authorize checks the login and the CSRF token of a test action.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	if !s.enabled() {
		writeError(w, http.StatusForbidden, "tech_disabled", "no technician credential is configured")
		return false
	}
	_, se, ok := s.current(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "login_required", "log in first")
		return false
	}
	if !s.csrfOK(r, se) {
		writeError(w, http.StatusForbidden, "csrf", "missing or wrong CSRF token")
		return false
	}
	return true
}

func duration(r *http.Request, def, max time.Duration) (time.Duration, error) {
	v := r.PostFormValue("ms")
	if v == "" {
		return def, nil
	}
	ms, err := strconv.Atoi(v)
	if err != nil || ms <= 0 || time.Duration(ms)*time.Millisecond > max {
		return 0, fmt.Errorf("ms %q not within 1–%d", v, max.Milliseconds())
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func (s *Server) testRelay(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r) {
		return
	}
	d, err := duration(r, 500*time.Millisecond, 5*time.Second)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_duration", err.Error())
		return
	}
	s.o.Logger.Info("technician: relay test", "remote", r.RemoteAddr, "ms", d.Milliseconds())
	pr, err := s.k.TestRelay(r.Context(), d)
	if err != nil {
		s.actionError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"relay": "pulsed", "applied_ms": pr.Applied.Milliseconds(), "clipped": pr.Clipped})
}

func (s *Server) testLight(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r) {
		return
	}
	d, err := duration(r, time.Second, 10*time.Second)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_duration", err.Error())
		return
	}
	b := 1.0
	if v := r.PostFormValue("brightness"); v != "" {
		if b, err = strconv.ParseFloat(v, 64); err != nil || !(b >= 0 && b <= 1) {
			writeError(w, http.StatusBadRequest, "bad_brightness", fmt.Sprintf("brightness %q not within [0, 1]", v))
			return
		}
	}
	name := r.PostFormValue("light")
	s.o.Logger.Info("technician: light test", "remote", r.RemoteAddr, "light", name, "ms", d.Milliseconds())
	if err := s.k.TestLight(r.Context(), name, b, d); err != nil {
		s.actionError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"light": name, "brightness": b, "ms": d.Milliseconds()})
}

// testWalkUp simulates a walk-up (sim board only) and answers once the
// session it started is decided, or ended without a face. It answers
// loopback clients only; with a technician credential configured it needs
// the login and the CSRF token like every test action.
func (s *Server) testWalkUp(w http.ResponseWriter, r *http.Request) {
	if s.o.WalkUp == nil {
		writeError(w, http.StatusNotFound, "no_walkup", "walk-up simulation exists on the sim board with a presence sensor only")
		return
	}
	if !loopback(r.RemoteAddr) {
		writeError(w, http.StatusForbidden, "loopback_only", "a walk-up can be simulated from this machine only")
		return
	}
	if s.enabled() && !s.authorize(w, r) {
		return
	}
	s.o.Logger.Info("technician: simulated walk-up", "remote", r.RemoteAddr)
	sum, err := s.o.WalkUp(r.Context())
	res := WalkUpResult{Outcome: "decided", Session: &sum}
	switch {
	case errors.Is(err, kiosk.ErrNoFace):
		res = WalkUpResult{Outcome: "no_face"}
	case err != nil:
		s.actionError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

// loopback reports whether addr (host:port) is a loopback address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

func (s *Server) actionError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, kiosk.ErrBusy):
		writeError(w, http.StatusConflict, "busy", "a session is running; try when idle")
	case errors.Is(err, kiosk.ErrUnknownLight):
		writeError(w, http.StatusBadRequest, "unknown_light", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "hardware", err.Error())
	}
}

func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	b := s.k.Preview()
	if b == nil {
		writeError(w, http.StatusNotFound, "no_frame", "no frame captured yet")
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(b)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s.k.Status())
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	st := s.k.Status()
	body := map[string]any{"status": "ok", "state": st.State}
	code := http.StatusOK
	if s.o.Health != nil {
		if err := s.o.Health(); err != nil {
			body["status"], body["error"], code = "unhealthy", err.Error(), http.StatusServiceUnavailable
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>livegate kiosk</title>
<style>body{font-family:sans-serif;margin:1em}td,th{padding:2px 8px;text-align:left}.pass{color:green}.fail{color:#b00}</style></head>
<body><h1>livegate kiosk</h1>
<p>State: <b>{{.Status.State}}</b> since {{.Status.Since.Format "15:04:05"}} · sessions {{.Status.Sessions}} · passes {{.Status.Passes}}
{{if .Status.LastError}}<br>Error: {{.Status.LastError}}{{end}}</p>
<img src="/preview.jpg" alt="camera preview (none yet)" width="320">
<h2>Last verdicts</h2>
<table><tr><th>time</th><th>session</th><th>verdict</th><th>confidence</th><th>reasons</th><th>relay</th></tr>
{{range .Status.Recent}}<tr><td>{{.DecidedAt.Format "15:04:05"}}</td><td>{{.SessionID}}</td><td class="{{.Verdict}}">{{.Verdict}}</td><td>{{printf "%.2f" .Confidence}}</td><td>{{range .Reasons}}{{.}} {{end}}</td><td>{{if .Pulsed}}pulsed{{end}}</td></tr>{{end}}
</table>
<h2>Tests</h2>
{{if not .Enabled}}<p>Disabled: no technician credential configured.</p>
{{else if .LoggedIn}}
<form method="post" action="/test/relay"><input type="hidden" name="csrf" value="{{.CSRF}}">
<input name="ms" value="500" size="5"> ms <button>Pulse relay</button></form>
{{range .Lights}}<form method="post" action="/test/light"><input type="hidden" name="csrf" value="{{$.CSRF}}">
<input type="hidden" name="light" value="{{.}}"><button>Light {{.}} 1 s</button></form>{{end}}
<form method="post" action="/logout"><input type="hidden" name="csrf" value="{{.CSRF}}"><button>Log out</button></form>
{{else}}
<form method="post" action="/login"><input name="user" placeholder="user"> <input name="password" type="password" placeholder="password"> <button>Log in</button></form>
{{end}}
{{if and .WalkUp (or (not .Enabled) .LoggedIn)}}<form method="post" action="/test/walkup"><input type="hidden" name="csrf" value="{{.CSRF}}"><button>Simulate a walk-up (sim)</button></form>{{end}}
</body></html>`))

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	_, se, ok := s.current(r)
	data := struct {
		Status                    kiosk.Status
		Enabled, LoggedIn, WalkUp bool
		CSRF                      string
		Lights                    []string
	}{Status: s.k.Status(), Enabled: s.enabled(), LoggedIn: ok, CSRF: se.csrf, Lights: s.k.LightNames(), WalkUp: s.o.WalkUp != nil}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.Execute(w, data); err != nil {
		s.o.Logger.Error("technician page", "err", err)
	}
}
