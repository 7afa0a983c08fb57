package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/tenancy"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/cloud/internal/web"
	"livegate.dev/cloud/internal/web/i18n"
)

// pageServer serves the capture page alone (no capture WebSocket, no
// engine): the screens test drives the page with the messages the server
// would send.
type pageServer struct {
	base     string
	sessions *lifecycle.Service
	tenants  *tenancy.Service
}

func newPageServer(t *testing.T) *pageServer {
	t.Helper()
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	sessions, err := lifecycle.New(lifecycle.Config{Store: st, URLs: netguard.Policy{Dev: true}, TokenKey: bytes.Repeat([]byte{9}, 32), PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secret.New(bytes.Repeat([]byte{6}, 32))
	if err != nil {
		t.Fatal(err)
	}
	tenants := tenancy.New(st, sealer, nil)
	wh, err := web.New(web.Config{Sessions: sessions, Tenants: tenants, PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	app := pageApp(wh)
	go app.Listener(ln)
	t.Cleanup(func() {
		app.ShutdownWithTimeout(5 * time.Second)
		st.Close()
	})
	return &pageServer{base: base, sessions: sessions, tenants: tenants}
}

// demoLogo draws a small two-colour logo.
func demoLogo(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 144, 144))
	for y := range 144 {
		for x := range 144 {
			dx, dy := float64(x)-72, float64(y)-72
			switch d := math.Hypot(dx, dy); {
			case d < 40 && dx > -14 && dx < 14:
				img.Set(x, y, color.NRGBA{255, 255, 255, 255})
			case d < 66:
				img.Set(x, y, color.NRGBA{0x1a, 0x7f, 0x37, 255})
			case d < 70:
				img.Set(x, y, color.NRGBA{0xe8, 0xa3, 0x17, 255})
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// device is a browser size the page is shown at: twice the density, so
// that the halved screenshot is sharp.
type device struct {
	name string
	w, h int64
}

var devices = []device{{"desktop", 720, 640}, {"phone", 390, 844}}

// setMotion sets the emulated prefers-reduced-motion.
func setMotion(t *testing.T, ctx context.Context, v string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: v}}}); err != nil {
		t.Fatal(err)
	}
}

// screenBrowser starts Chromium whose camera plays the real face clip, with
// the given size and reduced motion on (the illustrations then hold their
// pose: a still picture of each screen).
func screenBrowser(t *testing.T, d device) context.Context {
	t.Helper()
	ctx := browser(t, genuineY4M(t))
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(d.w, d.h, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	setMotion(t, ctx, "reduce")
	return ctx
}

// eval runs a script in the page and decodes its result.
func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// stubWebSocket keeps the page's capture connection from going anywhere:
// the test plays the server's part through window.livegate.handle.
const stubWebSocket = `window.WebSocket = function () { this.readyState = 0; this.send = () => {}; this.close = () => {}; }; true`

// TestScreens renders every screen of the capture page — consent, welcome, camera
// permission, camera blocked, not HTTPS, capture with guidance, holding
// still, each challenge, the light, analysing, the results (pass, fail,
// retry with advice), the wait after too many failures, the handoff — on a
// desktop and a phone, in English (unbranded) and in Arabic (right to left,
// a tenant's brand name, logo, accent colour and policy link), and checks what each
// must show: the language and direction, one instruction at a time, each
// challenge's illustration (turning the way the mirrored preview shows the
// user's left or right, in both directions of text), labels and live
// regions. With LIVEGATE_UPDATE_SCREENSHOTS=1 it writes them to
// docs/img/screens/<lang>-<device>-<screen>.png (docs/capture.md).
func TestScreens(t *testing.T) {
	s := newPageServer(t)
	bg := context.Background()
	nt, err := s.tenants.Create(bg, "acme", core.TenantLive)
	if err != nil {
		t.Fatal(err)
	}
	logo, err := web.ProcessLogo(demoLogo(t))
	if err != nil {
		t.Fatal(err)
	}
	page, err := web.CheckPage(core.CapturePage{BrandName: "بنك أكمي", AccentColor: "#1a7f37", PolicyURL: "https://acme.example/privacy", Logo: logo})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.tenants.SetCapturePage(bg, nt.Tenant.ID, func(p *core.CapturePage) { *p = page }); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "ar"} {
		for _, d := range devices {
			t.Run(lang+"-"+d.name, func(t *testing.T) {
				p := lifecycle.Principal{}
				kind := core.KindDirect
				if lang == "ar" {
					p, kind = lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: nt.Tenant.ID, KeyID: "key_demo"}, core.KindManaged
				}
				c, err := s.sessions.Create(bg, p, kind, lifecycle.CreateRequest{Mode: "active", RedirectURL: s.base + "/done"}, "")
				if err != nil {
					t.Fatal(err)
				}
				screens(t, screenBrowser(t, d), c.SessionURL+"&lang="+lang, lang, d.name)
			})
		}
	}
}

func screens(t *testing.T, ctx context.Context, url, lang, dev string) {
	msg := i18n.Builtin(lang)
	snap := func(name string) { t.Helper(); shotAs(t, ctx, fmt.Sprintf("screens/%s-%s-%s.png", lang, dev, name)) }
	show := func(name string) {
		t.Helper()
		eval[any](t, ctx, fmt.Sprintf(`window.livegate.show(%q)`, name))
		waitScreen(t, ctx, name)
	}
	handle := func(m string) { t.Helper(); eval[any](t, ctx, `window.livegate.handle(`+m+`)`) }
	text := func(sel string) string {
		t.Helper()
		return eval[string](t, ctx, `document.querySelector(`+fmt.Sprintf("%q", sel)+`).textContent`)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	// The consent screen comes first.
	waitScreen(t, ctx, "consent")
	dir := map[string]string{"en": "ltr", "ar": "rtl"}[lang]
	if got := eval[string](t, ctx, `document.documentElement.lang + " " + document.documentElement.dir`); got != lang+" "+dir {
		t.Fatalf("<html> %q, want %q", got, lang+" "+dir)
	}
	if got := text("#h-consent"); got != msg["consent.title"] {
		t.Fatalf("consent title %q, want %q", got, msg["consent.title"])
	}
	audit(t, ctx)
	snap("consent")
	giveConsent(t, ctx)
	if got := text("#h-welcome"); got != msg["welcome.title"] {
		t.Fatalf("welcome title %q, want %q", got, msg["welcome.title"])
	}
	// Mirrored layout: the primary action starts the row (right in Arabic).
	startLeft := eval[bool](t, ctx, `document.getElementById("b-start").getBoundingClientRect().left < document.getElementById("b-phone").getBoundingClientRect().left`)
	if sameLine := eval[bool](t, ctx, `Math.abs(document.getElementById("b-start").getBoundingClientRect().top - document.getElementById("b-phone").getBoundingClientRect().top) < 2`); sameLine && startLeft != (dir == "ltr") {
		t.Errorf("%s: Start is on the %v side", lang, map[bool]string{true: "left", false: "right"}[startLeft])
	}
	if lang == "ar" {
		if got := eval[string](t, ctx, `(document.querySelector(".brand span") || {}).textContent + "|" + getComputedStyle(document.getElementById("b-start")).backgroundColor + "|" + (document.querySelector(".brand img") || {}).complete`); got != "بنك أكمي|rgb(26, 127, 55)|true" {
			t.Errorf("branding: %q", got)
		}
	}
	audit(t, ctx)
	snap("welcome")

	for _, scr := range []string{"permission", "denied", "insecure"} {
		show(scr)
		snap(scr)
	}

	// Capture, through the camera; the test plays the server.
	eval[bool](t, ctx, stubWebSocket)
	show("welcome")
	if err := chromedp.Do(ctx, chromedp.Click("#b-start")); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, ctx, "capture")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("video").videoWidth > 0`, chromedp.WithPollingTimeout(deadline))); err != nil {
		t.Fatalf("no camera picture: %v", err)
	}
	handle(`{type: "challenge", mode: "active", challenge: "turn_right", index: 0, count: 4, remaining_ms: 5000}`)
	handle(`{type: "feedback", status: "too_far"}`)
	handle(`{type: "progress", progress: 0.05}`)
	instr := func(wantKey string) {
		t.Helper()
		if got := text("#guide"); got != msg[wantKey] {
			t.Fatalf("instruction %q, want %s %q", got, wantKey, msg[wantKey])
		}
	}
	// num writes n as the page does (Intl.NumberFormat of the language).
	num := func(n int) string {
		t.Helper()
		return eval[string](t, ctx, fmt.Sprintf(`new Intl.NumberFormat(%q).format(%d)`, lang, n))
	}
	instr("guide.too_far")
	if eval[bool](t, ctx, `!document.getElementById("ill").hasAttribute("hidden")`) {
		t.Error("an illustration beside a problem to fix")
	}
	snap("capture-guidance")
	// The face is placed; the first challenge is drawn but not started: one
	// instruction, holding still — not "turn your head" over "keep still".
	handle(`{type: "feedback", status: "hold_still"}`)
	instr("guide.hold_still")
	panel := eval[string](t, ctx, `document.querySelector("#s-capture .panel").innerText`)
	if strings.Contains(panel, msg["prompt.turn_right"]) {
		t.Fatalf("the prompt is shown while the guidance says to keep still: %q", panel)
	}
	if got := eval[string](t, ctx, `document.getElementById("ill").dataset.ch`); got != "hold_still" {
		t.Errorf("hold still illustration %q", got)
	}
	if got := text("#step"); got != strings.NewReplacer("{i}", num(1), "{n}", num(4)).Replace(msg["capture.step"]) {
		t.Errorf("step %q", got)
	}
	snap("capture-hold")

	for i, ch := range []string{"turn_right", "blink", "turn_left", "smile", "nod"} {
		handle(fmt.Sprintf(`{type: "challenge", mode: "active", challenge: %q, index: %d, count: 5, remaining_ms: 5000}`, ch, i))
		handle(`{type: "feedback", status: "challenge"}`)
		handle(fmt.Sprintf(`{type: "progress", progress: %.2f}`, 0.15+0.15*float64(i)))
		instr("prompt." + ch)
		if got := eval[string](t, ctx, `(() => { const e = document.getElementById("ill"); return e.hasAttribute("hidden") ? "" : e.dataset.ch; })()`); got != ch {
			t.Fatalf("%s: illustration %q", ch, got)
		}
		// A moment off-centre while turning keeps the prompt.
		handle(`{type: "feedback", status: "off_centre"}`)
		instr("prompt." + ch)
		handle(`{type: "feedback", status: "challenge"}`)
		if ch == "turn_left" || ch == "turn_right" {
			// The user's left is the screen's left in the mirrored
			// preview, whatever the text direction.
			dx := eval[float64](t, ctx, `(() => { const c = (s) => { const r = document.querySelector("#ill " + s).getBoundingClientRect(); return r.left + r.width / 2; };
				return c(".nose") - c(".face"); })()`)
			if (ch == "turn_left") != (dx < -2) || math.Abs(dx) < 2 {
				t.Errorf("%s (%s): the illustration's nose is %.1f px from the face's centre", ch, lang, dx)
			}
		}
		if ch == "turn_left" {
			// The illustrations move, unless the user asks for reduced
			// motion: then each holds its pose.
			anims := func() int {
				return eval[int](t, ctx, `document.querySelector("#ill .feat").getAnimations().length`)
			}
			moving := anims()
			setMotion(t, ctx, "no-preference")
			if moving != 0 || anims() == 0 {
				t.Errorf("turn_left animations: %d with reduced motion, %d without", moving, anims())
			}
			setMotion(t, ctx, "reduce")
		}
		// Each challenge differs from the others by its instruction only.
		shotClip(t, ctx, fmt.Sprintf("screens/%s-%s-challenge-%s.png", lang, dev, ch), "#s-capture .panel")
	}
	// The face lost during a challenge: that comes first.
	handle(`{type: "feedback", status: "no_face"}`)
	instr("guide.no_face")
	handle(`{type: "feedback", status: "challenge"}`)

	// The light challenge: the screen behind the camera view takes a colour.
	handle(`{type: "light", color: "#ff2d95"}`)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`getComputedStyle(document.getElementById("flash")).backgroundColor === "rgb(255, 45, 149)"`,
		chromedp.WithPollingTimeout(deadline))); err != nil { // past the reduced-motion fade
		t.Fatalf("the light colour: %v", err)
	}
	snap("capture-light")
	handle(`{type: "light", off: true}`)
	handle(`{type: "progress", progress: 1}`)
	waitScreen(t, ctx, "analyzing")
	snap("analysing")

	eval[any](t, ctx, `window.livegate.result("retry", false, 2, "", ["too_dark"])`)
	waitScreen(t, ctx, "result")
	if got := text("#r-text"); !strings.Contains(got, msg["advice.too_dark"]) || !strings.Contains(got, strings.ReplaceAll(msg["result.attempts_left"], "{n}", num(2))) {
		t.Errorf("retry text %q", got)
	}
	snap("result-retry")
	eval[any](t, ctx, `window.livegate.result("fail", true, 0, "", ["backlit"])`)
	waitScreen(t, ctx, "result")
	snap("result-fail")
	eval[any](t, ctx, `window.livegate.result("pass", true, 0, "")`)
	waitScreen(t, ctx, "result")
	if got := text("#h-result"); got != msg["result.pass_title"] {
		t.Errorf("pass title %q", got)
	}
	snap("result-pass")

	// Too many failed attempts: the wait counted down in the language's digits.
	eval[any](t, ctx, `window.livegate.fail("too_many_failures", "", 179)`)
	waitScreen(t, ctx, "error")
	if got, want := text("#e-wait"), strings.ReplaceAll(msg["wait.until"], "{time}", num(2)+":"+num(59)); got != want {
		t.Errorf("countdown %q, want %q", got, want)
	}
	if got := eval[string](t, ctx, `document.getElementById("e-live").getAttribute("aria-live") + " " + document.getElementById("e-wait").getAttribute("role")`); got != "polite timer" {
		t.Errorf("countdown semantics %q", got)
	}
	snap("wait")
	eval[any](t, ctx, `window.livegate.fail("session_busy", "")`)
	waitScreen(t, ctx, "error")
	snap("error")

	// Handoff: the QR code of a link that keeps the language.
	show("welcome")
	if err := chromedp.Do(ctx, chromedp.Click("#b-phone")); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, ctx, "handoff")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.querySelector("#qr svg") && document.getElementById("h-exp").textContent !== ""`,
		chromedp.WithPollingTimeout(deadline))); err != nil {
		t.Fatalf("no QR code: %v", err)
	}
	if got := text("#h-link"); !strings.HasSuffix(got, "&lang="+lang) {
		t.Errorf("handoff link %q does not keep the language", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("#qr svg").getAttribute("aria-label")`); got != msg["handoff.qr_label"] {
		t.Errorf("QR label %q", got)
	}
	snap("handoff")
}

// audit checks what an accessibility audit checks on the current screen:
// every button and link has a name, every image a text alternative, the
// live regions are there, and nothing is focusable while hidden.
func audit(t *testing.T, ctx context.Context) {
	t.Helper()
	problems := eval[[]string](t, ctx, `(() => {
		const out = [];
		for (const b of document.querySelectorAll("button, a[href]")) if (!b.textContent.trim() && !b.getAttribute("aria-label")) out.push("unnamed " + b.id);
		for (const i of document.querySelectorAll("img")) if (!i.hasAttribute("alt")) out.push("img without alt");
		for (const id of ["guide", "h-status", "e-live"]) if (!document.getElementById(id).getAttribute("aria-live")) out.push(id + " is not live");
		if (!document.getElementById("bar").getAttribute("aria-label")) out.push("progress bar without a name");
		if (!document.getElementById("video").getAttribute("aria-label")) out.push("video without a name");
		if (!document.title) out.push("no title");
		return out; })()`)
	for _, p := range problems {
		t.Error(p)
	}
}
