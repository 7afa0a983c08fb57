package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"livegate.dev/board"
	"livegate.dev/drivers"
	"livegate.dev/firmware/config"
	"livegate.dev/firmware/kiosk"
	"livegate.dev/firmware/tech"
)

// stateSignal tells waiters that the kiosk changed state (kiosk.Options.OnState).
type stateSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newStateSignal() *stateSignal { return &stateSignal{ch: make(chan struct{})} }

// changed returns a channel closed at the next state change.
func (s *stateSignal) changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *stateSignal) notify(kiosk.State, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

// walkUpper simulates walk-ups on the sim board for the technician view
// (POST /test/walkup): the fake presence sensor sees someone arrive, and
// sees them leave once the kiosk started its session, so that the next
// walk-up is a new arrival.
type walkUpper struct {
	sim    *board.Sim
	k      *kiosk.Kiosk
	states *stateSignal
	clk    drivers.Clock
	// idle bounds the wait for a previous session's pulse and cool down
	// to end; start the wait for the kiosk to leave idle; limit the wait
	// for the session's end (guide timeout + max duration + a margin).
	idle, start, limit time.Duration
	mu                 sync.Mutex // one walk-up at a time
}

// simDistanceMM is where the simulated person stands: within the sim
// board's presence threshold (600 mm).
const simDistanceMM = 450

// WalkUp implements tech.Options.WalkUp.
func (w *walkUpper) WalkUp(ctx context.Context) (kiosk.Summary, error) {
	if !w.mu.TryLock() {
		return kiosk.Summary{}, kiosk.ErrBusy
	}
	defer w.mu.Unlock()
	// A session that just ended still pulses the relay or cools down:
	// wait for idle a little.
	if err := w.wait(ctx, w.idle, func(s kiosk.Status) bool { return s.State == kiosk.StateIdle }); err != nil {
		return kiosk.Summary{}, fmt.Errorf("%w (%v)", kiosk.ErrBusy, err)
	}
	st := w.k.Status()
	before := st.Sessions
	w.sim.SetPresence(true, simDistanceMM)
	left := false
	leave := func() {
		if !left {
			w.sim.SetPresence(false, 0)
			left = true
		}
	}
	defer leave()
	if err := w.wait(ctx, w.start, func(s kiosk.Status) bool { return s.State != kiosk.StateIdle }); err != nil {
		return kiosk.Summary{}, fmt.Errorf("walk-up: the kiosk did not leave idle within %s of the presence sensor firing: %w", w.start, err)
	}
	leave()
	done := func(s kiosk.Status) bool { return s.Sessions > before || s.State == kiosk.StateIdle }
	if err := w.wait(ctx, w.limit, done); err != nil {
		return kiosk.Summary{}, fmt.Errorf("walk-up: the session did not end within %s: %w", w.limit, err)
	}
	st = w.k.Status()
	switch {
	case st.Sessions > before && len(st.Recent) > 0:
		return st.Recent[0], nil
	case st.LastError != "":
		return kiosk.Summary{}, fmt.Errorf("walk-up: the session ended without a stored verdict: %s", st.LastError)
	}
	return kiosk.Summary{}, kiosk.ErrNoFace
}

// wait returns once cond holds for the kiosk's status, re-checking at
// every state change, or an error when d passed or ctx ended first.
func (w *walkUpper) wait(ctx context.Context, d time.Duration, cond func(kiosk.Status) bool) error {
	deadline := w.clk.After(d)
	for {
		ch := w.states.changed() // before the check: no change is missed
		if cond(w.k.Status()) {
			return nil
		}
		select {
		case <-ch:
		case <-deadline:
			return errors.New("timed out")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// cmdWalkUp asks the running daemon's technician view to simulate a
// walk-up (sim board) and prints the session it led to.
func cmdWalkUp(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("walkup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/livegate/kiosk.yaml", "the daemon's config file (for technician.listen and technician.user)")
	addr := fs.String("addr", "", "technician view address (default: technician.listen of --config)")
	user := fs.String("user", "", "technician user (default: technician.user of --config); the password is read from "+techPasswordEnv+" or stdin")
	timeout := fs.Duration("timeout", 90*time.Second, "how long to wait for the session's verdict")
	asJSON := fs.Bool("json", false, `print the answer as JSON ({"outcome": "decided"|"no_face", "session": {…}})`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("walkup: unexpected argument %q", fs.Arg(0))}
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if *addr == "" || explicit["config"] {
		c, err := config.Load(*path, os.Environ())
		if err != nil {
			return fmt.Errorf("walkup: %w (or give --addr)", err)
		}
		if *addr == "" {
			*addr = c.Technician.Listen
		}
		if *user == "" && c.Technician.PasswordHash != "" {
			*user = c.Technician.User
		}
	}
	base, err := techBase(*addr)
	if err != nil {
		return err
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: *timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{}
	if *user != "" {
		pw, err := techPassword(stdin)
		if err != nil {
			return err
		}
		var lr struct {
			CSRF string `json:"csrf"`
		}
		if err := techPost(ctx, hc, base+"/login", url.Values{"user": {*user}, "password": {pw}}, &lr); err != nil {
			return fmt.Errorf("walkup: log in to %s as %s: %w", base, *user, err)
		}
		form.Set("csrf", lr.CSRF)
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "walk-up on %s: someone steps in front of the kiosk…\n", base)
	}
	var res tech.WalkUpResult
	if err := techPost(ctx, hc, base+"/test/walkup", form, &res); err != nil {
		return fmt.Errorf("walkup: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	if res.Outcome != "decided" || res.Session == nil {
		fmt.Fprintln(stdout, "no face within the guide timeout: nothing stored (is the camera pointed at a face?)")
		return nil
	}
	s := res.Session
	relay := "relay not energised"
	if s.Pulsed {
		relay = "relay pulsed"
	}
	fmt.Fprintf(stdout, "session %s: %s, confidence %.2f, reasons %v, %s\n", s.SessionID, s.Verdict, s.Confidence, s.Reasons, relay)
	fmt.Fprintln(stdout, "stored in the outbox; an enrolled kiosk sends it to the cloud (GET /api/v1/session/"+s.SessionID+"/result with the tenant's API key)")
	return nil
}

// techPasswordEnv holds the technician password for walkup.
const techPasswordEnv = "LIVEGATE_TECH_PASSWORD"

func techPassword(stdin io.Reader) (string, error) {
	if pw := os.Getenv(techPasswordEnv); pw != "" {
		return pw, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("walkup: reading the technician password from stdin: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", fmt.Errorf("walkup: a technician credential is configured: give its password in %s or on stdin", techPasswordEnv)
	}
	return pw, nil
}

// techBase turns a technician.listen address into a URL on this machine
// (an unspecified host becomes 127.0.0.1).
func techBase(listen string) (string, error) {
	if listen == "" || listen == "off" {
		return "", errors.New("walkup: the technician view is off (technician.listen); the walk-up goes through it")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("walkup: technician address %q: %w", listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// techPost posts form to u and decodes a 200 JSON answer into out; other
// answers become errors carrying the view's message.
func techPost(ctx context.Context, hc *http.Client, u string, form url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("is the daemon running? %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Detail struct{ Code, Message string } `json:"detail"`
		}
		if json.Unmarshal(body, &e) == nil && e.Detail.Message != "" {
			return fmt.Errorf("%s (%s, HTTP %d)", e.Detail.Message, e.Detail.Code, res.StatusCode)
		}
		return fmt.Errorf("HTTP %d from %s", res.StatusCode, u)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("answer of %s: %w", u, err)
	}
	return nil
}
