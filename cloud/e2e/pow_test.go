package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/captcha"
	"livegate.dev/cloud/internal/capture/mount"
	"livegate.dev/cloud/internal/core"
)

// newPoWServer starts livegate-cloud with --captcha pow at maxnumber max
// (and the capture routes when capture is set).
func newPoWServer(t *testing.T, max int64, capture bool) (*daemon.Daemon, string) {
	return newStartServer(t, daemon.CaptchaOptions{Kind: "pow", PoW: captcha.PoWConfig{MaxNumber: max}}, capture)
}

// newStartServer starts livegate-cloud with the captcha options c.
func newStartServer(t *testing.T, c daemon.CaptchaOptions, capture bool) (*daemon.Daemon, string) {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	o := daemon.Options{Listener: ln, DataDir: dir, PublicURL: base, Dev: true,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Captcha: c}
	if capture {
		o.Routes = mount.Routes(mount.Options{DataDir: dir, ModelSets: 1})
	}
	d, err := daemon.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	return d, base
}

type started struct {
	SessionID string `json:"sessionId"`
	Tried     string `json:"tried"`
	Ms        string `json:"ms"`
	SolveMs   string `json:"solveMs"`
	Status    string `json:"status"`
	Path      string `json:"path"`
	Cookie    string `json:"cookie"`
}

const startedJS = `({sessionId: document.documentElement.dataset.sessionId || "", tried: document.documentElement.dataset.powTried || "",
	ms: document.documentElement.dataset.powMs || "", solveMs: document.documentElement.dataset.powSolveMs || "", status: (document.getElementById("status") || {}).textContent || "",
	path: location.pathname, cookie: document.cookie})`

// TestStartPageSolvesPoW: with --captcha pow, the start page solves the
// challenge in a Web Worker without user action, creates the direct
// session with it and opens the session's capture page.
func TestStartPageSolvesPoW(t *testing.T) {
	d, base := newPoWServer(t, 50_000, true)
	ctx := browser(t, "")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/start")); err != nil {
		t.Fatal(err)
	}
	// The page navigates away by itself: poll across the navigation.
	var path string
	for end := time.Now().Add(deadline); ; {
		p, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
		if err != nil && !transientContextErr(err) {
			t.Fatal(err)
		}
		if strings.HasPrefix(p, "/s/ses_") {
			path = p
			break
		}
		if time.Now().After(end) {
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[started](startedJS))
			t.Fatalf("the start page did not reach a capture page (%+v)", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	id := strings.TrimPrefix(path, "/s/")
	sess, err := d.Store().GetSession(context.Background(), id)
	if err != nil {
		t.Fatalf("session %s: %v", id, err)
	}
	if sess.Kind != core.KindDirect || sess.Status != core.StatusPending {
		t.Fatalf("session %s: kind %s status %s", id, sess.Kind, sess.Status)
	}
	if cookie, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`)); cookie != "" {
		t.Fatalf("a cookie was set: %q", cookie)
	}
}

// TestPoWSolveTimeInChromium measures the start page's solve in Chromium
// at each difficulty (the figures in docs/api.md, "Abuse protection"): the
// hashes it tried, the time from script start to the session's 201, and
// the rate. The secret number is random, so each run's time varies; the
// expected time is maxnumber/2 at the measured rate.
func TestPoWSolveTimeInChromium(t *testing.T) {
	maxes := []int64{50_000, 200_000, 800_000}
	type srv struct {
		d    *daemon.Daemon
		base string
	}
	var servers []srv
	for _, max := range maxes {
		d, base := newPoWServer(t, max, false)
		servers = append(servers, srv{d, base})
	}
	ctx := browser(t, "") // closed before the servers shut down
	// Every document records its main thread's long tasks (over 50 ms),
	// the ones Lighthouse counts against a page.
	const observe = `window.__long = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(Math.round(e.duration)); }).observe({type: "longtask", buffered: true});`
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: observe})
		return err
	})); err != nil {
		t.Fatal(err)
	}
	for i, max := range maxes {
		d, base := servers[i].d, servers[i].base
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/start?stay=1")); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.documentElement.dataset.sessionId`, chromedp.WithPollingTimeout(deadline))); err != nil {
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[started](startedJS))
			t.Fatalf("maxnumber %d: no session: %v (%+v)", max, err, got)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[started](startedJS))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Store().GetSession(context.Background(), got.SessionID); err != nil {
			t.Fatalf("maxnumber %d: session %s not stored: %v", max, got.SessionID, err)
		}
		long, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`window.__long`))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("maxnumber %d: the worker tried %s numbers in %s ms; %s ms from the script's start to the 201; main-thread long tasks (ms): %v",
			max, got.Tried, got.SolveMs, got.Ms, long)
	}
}

// TestStartPageWithoutCaptcha: on a server without --captcha the challenge
// route answers 404 captcha.not_enabled and the start page creates the
// session without solving anything.
func TestStartPageWithoutCaptcha(t *testing.T) {
	d, base := newStartServer(t, daemon.CaptchaOptions{}, false)
	ctx := browser(t, "")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/start?stay=1&mode=active")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.documentElement.dataset.sessionId`, chromedp.WithPollingTimeout(deadline))); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Evaluate[started](startedJS))
		t.Fatalf("no session: %v (%+v)", err, got)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[started](startedJS))
	if err != nil {
		t.Fatal(err)
	}
	if got.Tried != "0" {
		t.Fatalf("the page solved %s numbers on a server that asks for none", got.Tried)
	}
	sess, err := d.Store().GetSession(context.Background(), got.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if sess.Mode != core.ModeActive || sess.Kind != core.KindDirect {
		t.Fatalf("session %s: mode %s kind %s, want an active direct session", sess.ID, sess.Mode, sess.Kind)
	}
}
