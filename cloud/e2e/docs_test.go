package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/capture/mount"
)

// lockedBuffer collects the server's log lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// newDocsServer starts livegate-cloud as `serve` wires its API — the
// daemon with the capture routes (whose engines never load: nothing
// captures here) and the default request rate limit — logging at debug
// level into log, with a test-mode tenant whose key it returns.
func newDocsServer(t *testing.T) (*apiServer, *lockedBuffer) {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	log := &lockedBuffer{}
	d, err := daemon.Start(context.Background(), daemon.Options{Listener: ln, DataDir: dir, PublicURL: base, Dev: true,
		AdminToken: adminToken, Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Routes: mount.Routes(mount.Options{DataDir: dir, ModelSets: 1})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	s := &apiServer{server: &server{base: base, sessions: d.Sessions()}, d: d}
	var tc api.TenantCreated
	s.call(t, "POST", "/admin/v1/tenants", adminToken, `{"name":"docs","mode":"test"}`, 201, &tc)
	s.key = tc.APIKey
	return s, log
}

// TestDocsOnPhone: at a phone's viewport (390×844) every documentation
// page gives its main content (almost) the whole width and nothing
// overflows sideways; /docs/api folds its contents away.
func TestDocsOnPhone(t *testing.T) {
	s, _ := newDocsServer(t)
	ctx := browser(t, "")
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(3))); err != nil {
		t.Fatal(err)
	}
	type layout struct {
		Viewport, Main, Scroll float64
		TOCOpen                bool
		Over                   []string
	}
	for _, page := range []string{"/docs/api", "/docs/reference/rate-limits", "/docs/reference/error-codes"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.base+page), chromedp.WaitReady("main")); err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		l, err := chromedp.Run(ctx, chromedp.Evaluate[layout](`(() => {
				for (const d of document.querySelectorAll("details.try")) d.open = true; // every try-it panel too
				const w = document.documentElement.clientWidth;
				const clips = (e) => /auto|hidden|scroll/.test(getComputedStyle(e).overflowX);
				const over = [...document.querySelectorAll("body *")]
					.filter((e) => e.getBoundingClientRect().right > w + 0.5 ||
						(e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0 && !clips(e) && !e.closest("pre")))
					.slice(0, 5).map((e) => e.tagName + "." + e.className + ": " + e.textContent.slice(0, 60));
				const toc = document.getElementById("toc");
				return { Viewport: w, Main: document.querySelector("main").getBoundingClientRect().width,
					Scroll: document.documentElement.scrollWidth, TOCOpen: !!(toc && toc.open), Over: over };
			})()`))
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		t.Logf("%s at 390 px: main %.0f of %.0f px, scroll width %.0f", page, l.Main, l.Viewport, l.Scroll)
		if l.Viewport != 390 {
			t.Fatalf("%s: viewport %.0f px, want 390 (the page's meta viewport)", page, l.Viewport)
		}
		if l.Main < 0.9*l.Viewport {
			t.Errorf("%s: main content %.0f px wide of %.0f", page, l.Main, l.Viewport)
		}
		if l.Scroll > l.Viewport || len(l.Over) > 0 {
			t.Errorf("%s overflows sideways: scroll width %.0f of %.0f; beyond the edge: %q", page, l.Scroll, l.Viewport, l.Over)
		}
		if l.TOCOpen {
			t.Errorf("%s: the contents are open on a phone, above every operation", page)
		}
	}
}

// TestDocsTryItCreatesSession: an integrator opens the try-it panel of
// POST /api/v1/managed-session with the keyboard, types a test key, keeps
// the example body and sends it: the page shows 201, the rate-limit
// headers and the session; the session exists; the key was kept nowhere
// (no storage, no cookie, not in the URL, not in the server's log).
func TestDocsTryItCreatesSession(t *testing.T) {
	s, log := newDocsServer(t)
	ctx := browser(t, "")
	const op = "#try-createManagedSession"
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+"/docs/api#createManagedSession"), chromedp.WaitReady(op),
		chromedp.Focus(op+" > summary"), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(op+"-cred")); err != nil {
		t.Fatal(err)
	}
	example, err := chromedp.Run(ctx, chromedp.Value(op+"-body"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(example), &want); err != nil || want["user_id"] != "user_123" {
		t.Fatalf("body not prefilled from the OpenAPI example: %q (%v)", example, err)
	}
	// Enter in the key's field sends the form.
	if err := chromedp.Do(ctx, chromedp.SendKeys(op+"-cred", s.key+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector("`+op+` .try-out").hidden`,
		chromedp.WithPollingTimeout(deadline))); err != nil {
		st, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("`+op+` .try-status").textContent`))
		t.Fatalf("no answer shown: %v; status %q", err, st)
	}
	type shown struct {
		Status, Headers, Body, URL, Stored, Cookie string
		OtherKey                                   string
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[shown](`(() => { const q = (s) => document.querySelector("`+op+` " + s).textContent; return {
		Status: q(".try-status"), Headers: q(".try-headers"), Body: q(".try-body"), URL: location.href,
		Stored: JSON.stringify([Object.keys(localStorage), Object.keys(sessionStorage)]), Cookie: document.cookie,
		OtherKey: document.getElementById("try-createLivenessSession-cred").value }; })()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status line: %s", got.Status)
	if !strings.HasPrefix(got.Status, "201 Created") || !strings.Contains(got.Status, "of 600 left") {
		t.Fatalf("status %q, want 201 Created with the rate limit", got.Status)
	}
	for _, h := range []string{"x-ratelimit-limit: 600", "x-ratelimit-remaining: ", "x-ratelimit-reset: ", "location: /api/v1/session/ses_", "x-request-id: req_"} {
		if !strings.Contains(got.Headers, h) {
			t.Errorf("headers shown lack %q:\n%s", h, got.Headers)
		}
	}
	var created api.SessionCreated
	if err := json.Unmarshal([]byte(got.Body), &created); err != nil || created.Status != "pending" || created.Mode != "passive" ||
		!strings.HasPrefix(created.SessionID, "ses_") || created.Token == "" {
		t.Fatalf("body shown: %v\n%s", err, got.Body)
	}
	var res lifecycle.Result
	s.call(t, "GET", "/api/v1/session/"+created.SessionID+"/result", s.key, "", 200, &res)
	if res.UserID != "user_123" || res.Status != "pending" || !res.Test {
		t.Fatalf("the session created from the page: %+v", res)
	}
	if got.OtherKey != s.key {
		t.Errorf("the key typed once is not in the other panels' fields")
	}
	if strings.Contains(got.URL, s.key) || got.Stored != "[[],[]]" || got.Cookie != "" {
		t.Errorf("the key was kept: URL %q, storage %s, cookies %q", got.URL, got.Stored, got.Cookie)
	}
	if strings.Contains(log.String(), s.key) {
		t.Error("the server logged the API key")
	}
	if !strings.Contains(log.String(), "/api/v1/managed-session") {
		t.Error("the server logged no request at debug level: the log check proves nothing")
	}
}
