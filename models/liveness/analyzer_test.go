package liveness

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"livegate.dev/models/imgproc"
)

func TestNewDrawsChallengesAndLights(t *testing.T) {
	for _, c := range []struct {
		name     string
		cfg      Config
		min, max int
		lights   bool
	}{
		{"active default", Config{}, 3, 4, false},
		{"active 6", Config{MinChallenges: 6, MaxChallenges: 9}, 6, 6, false},
		{"passive", Config{Mode: Passive}, 0, 0, false},
		{"light", Config{Mode: Passive, LightControlled: true}, 0, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			for seed := uint64(0); seed < 20; seed++ {
				a := New(c.cfg, nil, rand.New(rand.NewPCG(seed, 1)))
				ch := a.Challenges()
				if len(ch) < c.min || len(ch) > c.max {
					t.Fatalf("%d challenges, want %d–%d", len(ch), c.min, c.max)
				}
				for i := 1; i < len(ch); i++ {
					if ch[i] == ch[i-1] {
						t.Fatalf("challenge repeated back to back: %v", ch)
					}
				}
				ls := a.LightSequence()
				if (len(ls) > 0) != c.lights {
					t.Fatalf("%d light steps, want lights %v", len(ls), c.lights)
				}
				for i := 1; i < len(ls); i++ {
					if ls[i].Light == ls[i-1].Light && ls[i].Intensity == ls[i-1].Intensity {
						t.Fatalf("light step %d repeats the previous one", i)
					}
				}
			}
			// Unseeded analyzers draw different sequences.
			if c.cfg.Mode != Passive {
				diff := false
				first := New(c.cfg, nil, nil).Challenges()
				for i := 0; i < 10 && !diff; i++ {
					n := New(c.cfg, nil, nil).Challenges()
					diff = len(n) != len(first) || !equalChallenges(n, first)
				}
				if !diff && c.min != c.max {
					t.Error("ten unseeded analyzers drew the same challenges")
				}
			}
		})
	}
}

func equalChallenges(a, b []Challenge) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Mode: "sleepy"}, false},
		{Config{ChallengeKinds: []Challenge{"wink"}}, false},
		{Config{PassThreshold: 0.5, RetryThreshold: 0.6}, false},
		{Config{LightPlan: []LightStep{{Light: Light{R: 1, Intensity: 1}}, {Light: Light{G: 1, Intensity: 0.6}, Start: 400 * time.Millisecond}}}, true},
		{Config{LightPlan: []LightStep{{Light: Light{R: 1, Intensity: 1}, Start: 100 * time.Millisecond}}}, false},
		{Config{LightPlan: []LightStep{{Light: Light{R: 2, Intensity: 1}}}}, false},
		{Config{ChallengePlan: []Challenge{Blink, TurnLeft}}, true},
		{Config{ChallengePlan: []Challenge{"wink"}}, false},
	} {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: err %v, want ok %v", c.cfg, err, c.ok)
		}
	}
}

// TestPlansReplace: given plans are used as they are (a stored session
// replayed for support), whatever the random source draws.
func TestPlansReplace(t *testing.T) {
	plan := []LightStep{{Light: Light{R: 1, Intensity: 1}}, {Light: Light{B: 1, Intensity: 0.6}, Start: 400 * time.Millisecond}}
	a := New(Config{Mode: Active, ChallengePlan: []Challenge{Smile, Blink}, LightPlan: plan}, nil, rand.New(rand.NewPCG(1, 2)))
	if got := a.Challenges(); !slices.Equal(got, []Challenge{Smile, Blink}) {
		t.Errorf("challenges %v, want the plan", got)
	}
	if got := a.LightSequence(); !slices.Equal(got, plan) || !a.Config().LightControlled {
		t.Errorf("lights %v (controlled %v), want the plan", got, a.Config().LightControlled)
	}
}

// TestBadFrames feeds frames that must give guidance and an error, never a
// panic, without models (they fail before any inference).
func TestBadFrames(t *testing.T) {
	var good bytes.Buffer
	if err := jpeg.Encode(&good, image.NewRGBA(image.Rect(0, 0, 64, 64)), nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		frame Frame
		want  error
	}{
		{"no image", Frame{}, ErrBadFrame},
		{"corrupt JPEG", Frame{JPEG: []byte("\xff\xd8\xff\xe0 not really")}, ErrBadFrame},
		{"truncated JPEG", Frame{JPEG: good.Bytes()[:good.Len()/2]}, ErrBadFrame},
		{"pixels do not match the size", Frame{Image: &imgproc.RGB{W: 64, H: 64, Pix: make([]byte, 10)}}, ErrBadFrame},
		{"tiny", Frame{Image: imgproc.NewRGB(8, 8)}, ErrBadFrame},
		{"huge", Frame{Image: &imgproc.RGB{W: 100000, H: 2, Pix: nil}}, ErrBadFrame},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := New(Config{Mode: Passive}, nil, rand.New(rand.NewPCG(1, 1)))
			g, err := a.Feed(context.Background(), c.frame)
			if !errors.Is(err, c.want) || g.Status != StatusBadFrame {
				t.Errorf("status %q err %v, want bad_frame and %v", g.Status, err, c.want)
			}
		})
	}
}

// TestFeedSequence runs real frames through the models: guidance on a face,
// a frame of another size, timestamps going backwards.
func TestFeedSequence(t *testing.T) {
	skipShortModels(t)
	m := sharedModels(t)
	img := loadImage(t, "grace_hopper_512x512.jpg")
	a := New(Config{Mode: Passive}, m, rand.New(rand.NewPCG(1, 1)))
	ctx := context.Background()
	g, err := a.Feed(ctx, Frame{Image: img, Timestamp: time.Second})
	if err != nil || g.Status == StatusNoFace || g.Status == StatusBadFrame {
		t.Fatalf("first frame: %+v, %v", g, err)
	}
	if _, err := a.Feed(ctx, Frame{Image: img, Timestamp: time.Second}); !errors.Is(err, ErrTimestamp) {
		t.Errorf("same timestamp: %v, want ErrTimestamp", err)
	}
	if _, err := a.Feed(ctx, Frame{Image: img, Timestamp: 500 * time.Millisecond}); !errors.Is(err, ErrTimestamp) {
		t.Errorf("timestamp going back: %v, want ErrTimestamp", err)
	}
	if _, err := a.Feed(ctx, Frame{Image: imgproc.NewRGB(320, 240), Timestamp: 2 * time.Second}); !errors.Is(err, ErrBadFrame) {
		t.Errorf("frame of another size: %v, want ErrBadFrame", err)
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img.ToImage(), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	if g, err := a.Feed(ctx, Frame{JPEG: enc.Bytes(), Timestamp: 2500 * time.Millisecond}); err != nil || g.Status == StatusNoFace {
		t.Errorf("JPEG frame: %+v, %v", g, err)
	}
	blank := imgproc.NewRGB(img.W, img.H)
	g, err = a.Feed(ctx, Frame{Image: blank, Timestamp: 3 * time.Second})
	if err != nil || g.Status != StatusNoFace {
		t.Errorf("blank frame: %+v, %v; want no_face", g, err)
	}
	v := a.Verdict()
	if v.Verdict == VerdictPass {
		t.Errorf("two frames and errors passed: %+v", v)
	}
	if !contains(v.Reasons, ReasonTimestampAnomaly) || !contains(v.Reasons, ReasonBadFrames) {
		t.Errorf("reasons %v lack timestamp_anomaly and bad_frames", v.Reasons)
	}
	// Cancelled context: an error, no panic.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	a2 := New(Config{Mode: Passive}, m, nil)
	// Hold the only model set so the Feed has to wait.
	s, err := m.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a2.Feed(cctx, Frame{Image: img, Timestamp: 1})
	m.release(s)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestModelsSharedByAnalyzers runs two analyzers on two goroutines over one
// model set (they take turns) and closes the bundle twice.
func TestModelsSharedByAnalyzers(t *testing.T) {
	skipShortModels(t)
	m, err := LoadModels(ModelOptions{})
	if err != nil {
		if skipMissing() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	img := loadImage(t, "grace_hopper_512x512.jpg")
	errs := make(chan error, 2)
	for k := 0; k < 2; k++ {
		go func() {
			a := New(Config{Mode: Passive}, m, nil)
			for i := 0; i < 3; i++ {
				if _, err := a.Feed(context.Background(), Frame{Image: img, Timestamp: time.Duration(i+1) * 40 * time.Millisecond}); err != nil {
					errs <- err
					return
				}
			}
			if a.Verdict().FaceFrames != 3 {
				errs <- errors.New("not every frame had a face")
				return
			}
			errs <- nil
		}()
	}
	for k := 0; k < 2; k++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	a := New(Config{Mode: Passive}, m, nil)
	if _, err := a.Feed(context.Background(), Frame{Image: img, Timestamp: 1}); !errors.Is(err, ErrClosed) {
		t.Errorf("Feed after Close: %v, want ErrClosed", err)
	}
}
