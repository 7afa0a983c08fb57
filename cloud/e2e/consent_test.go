package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/web/i18n"
)

// countCamera makes every document of the tab count its calls to
// getUserMedia in window.__cameraAsked, from before the page's own script.
func countCamera(t *testing.T, ctx context.Context) {
	t.Helper()
	const js = `window.__cameraAsked = 0;
if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => { window.__cameraAsked++; return gum(c); };
}`
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: js})
		return err
	})); err != nil {
		t.Fatalf("instrumenting getUserMedia: %v", err)
	}
}

// TestConsentBrowser: a verification session's page opens on the consent
// screen in every built-in language (Arabic right to left), with the camera
// untouched; agreeing with the box unticked is refused where the user is
// (an alert, the box marked invalid and focused); a capture WebSocket
// opened by the page before consent is refused (403 consent.required over
// HTTP, the handshake failing); the Start button cannot reach the camera;
// once the user agrees the consent is recorded with the text's hash and
// language, the welcome screen follows, and only Start asks for the camera,
// whose capture runs to its verdict and the redirect with sessionId.
func TestConsentBrowser(t *testing.T) {
	s := newServer(t)
	ctx := browser(t, genuineY4M(t))
	countCamera(t, ctx)
	bg := context.Background()
	c, err := s.sessions.CreateWith(bg, lifecycle.Principal{}, core.KindManaged,
		lifecycle.CreateRequest{Mode: "passive", RedirectURL: s.base + "/done"}, "", lifecycle.Extra{Flow: []string{lifecycle.CheckLiveness}})
	if err != nil {
		t.Fatal(err)
	}
	id := c.Session.ID
	asked := func() int { t.Helper(); return eval[int](t, ctx, `window.__cameraAsked`) }

	for _, lang := range []string{"es", "fr", "de", "pt", "ar", "zh", "en"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(c.SessionURL+"&lang="+lang)); err != nil {
			t.Fatal(err)
		}
		waitScreen(t, ctx, "consent")
		msg := i18n.Builtin(lang)
		dir := map[bool]string{true: "rtl", false: "ltr"}[lang == "ar"]
		got := eval[string](t, ctx, `[document.documentElement.lang, document.documentElement.dir, document.getElementById("h-consent").textContent,
			document.querySelector("label[for=consent-box]").textContent, document.getElementById("b-agree").textContent,
			String(document.getElementById("s-welcome").hidden), String(document.getElementById("video").srcObject)].join("|")`)
		if want := strings.Join([]string{lang, dir, msg["consent.title"], msg["consent.agree"], msg["button.agree"], "true", "null"}, "|"); got != want {
			t.Errorf("%s: consent screen %q, want %q", lang, got, want)
		}
		audit(t, ctx)
		if n := asked(); n != 0 {
			t.Fatalf("%s: the camera was asked for %d times on the consent screen", lang, n)
		}
	}

	// Agreeing unticked: an alert where the user is, nothing recorded.
	if err := chromedp.Do(ctx, chromedp.Click("#b-agree")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("consent-err").textContent !== ""`, chromedp.WithPollingTimeout(deadline))); err != nil {
		t.Fatalf("no alert when agreeing unticked: %v", err)
	}
	msg := i18n.Builtin("en")
	got := eval[string](t, ctx, `[document.body.dataset.screen, document.getElementById("consent-err").textContent, document.getElementById("consent-err").getAttribute("role"),
		document.getElementById("consent-box").getAttribute("aria-invalid"), document.activeElement.id].join("|")`)
	if want := "consent|" + msg["consent.required"] + "|alert|true|consent-box"; got != want {
		t.Fatalf("agreeing unticked: %q, want %q", got, want)
	}

	// A capture before consent is refused by the server: the WebSocket's
	// route answers 403 consent.required, and the handshake fails.
	refused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
  const cfg = JSON.parse(document.getElementById("cfg").textContent);
  const path = cfg.ws + "?token=" + encodeURIComponent(cfg.token);
  const r = await fetch(path);
  const body = await r.json();
  const ws = await new Promise((done) => {
    const w = new WebSocket((location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + path);
    w.onopen = () => { w.close(); done("open"); };
    w.onerror = () => done("refused");
  });
  return r.status + " " + body.detail.code + " " + ws;
})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("trying a capture before consent: %v", err)
	}
	if refused != "403 consent.required refused" {
		t.Fatalf("a capture before consent: %q, want 403 consent.required and a refused handshake", refused)
	}
	// The Start button, hidden on the welcome screen, cannot reach the camera.
	eval[any](t, ctx, `document.getElementById("b-start").click()`)
	waitScreen(t, ctx, "consent")
	if n := asked(); n != 0 {
		t.Fatalf("Start before consent asked for the camera %d times", n)
	}
	if sess, err := s.sessions.Get(bg, id); err != nil || sess.Consent != nil || sess.Status != core.StatusPending {
		t.Fatalf("before consent: %+v %v", sess, err)
	}

	// The user agrees.
	before := time.Now().UTC().Add(-time.Second)
	giveConsent(t, ctx)
	if n := asked(); n != 0 {
		t.Fatalf("agreeing asked for the camera %d times", n)
	}
	sess, err := s.sessions.Get(bg, id)
	if err != nil || sess.Consent == nil {
		t.Fatalf("no consent recorded: %+v %v", sess, err)
	}
	text := i18n.ConsentText(i18n.Messages("en", nil))
	shown := eval[string](t, ctx, `JSON.parse(document.getElementById("cfg").textContent).consent.sha256`)
	if cs := sess.Consent; cs.Language != "en" || cs.Text != text || cs.TextSHA256 != shown || cs.GivenAt.Before(before) {
		t.Fatalf("consent %+v, want the English text with hash %s", cs, shown)
	}

	if err := chromedp.Do(ctx, chromedp.Click("#b-start")); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, ctx, "capture")
	if n := asked(); n != 1 {
		t.Fatalf("Start asked for the camera %d times, want 1", n)
	}
	waitScreen(t, ctx, "result")
	want := fmt.Sprintf("/done?sessionId=%s", id)
	end := time.Now().Add(deadline)
	var loc string
	for time.Now().Before(end) {
		if loc, _ = chromedp.Run(ctx, chromedp.Location()); strings.HasSuffix(loc, want) {
			break
		}
		<-time.After(100 * time.Millisecond)
	}
	if !strings.HasSuffix(loc, want) {
		t.Fatalf("no redirect to the integrator: at %q, want …%s", loc, want)
	}
	if sess, err := s.sessions.Get(bg, id); err != nil || sess.Status != core.StatusCompleted || sess.Consent == nil {
		t.Fatalf("after capture: %+v %v", sess, err)
	}
}
