package corpus

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"livegate.dev/models/imgproc"
)

// TestEyeholePlan: the masks' windows are 6–8 s inside their clip, franck's
// around one of its clear blinks, and no mask is printed from a photo of
// its wearer.
func TestEyeholePlan(t *testing.T) {
	for _, size := range []string{Small, Medium, Full} {
		g := fakeGenerator(size, 3)
		masks := 0
		for _, j := range g.plan() {
			l := j.label
			if l.Species != SpeciesEyeholeMask {
				continue
			}
			masks++
			c := g.clipByName(l.Source)
			if c == nil {
				t.Fatalf("%s: %s: source %q is not a clip", size, l.Path, l.Source)
			}
			from, to := l.SourceFrames[0], l.SourceFrames[1]
			if secs := float64(to-from) / c.FPS(); from < 0 || to > len(c.Frames) || secs < 6 || secs > 8 {
				t.Errorf("%s: %s: window %v (%.1f s) of %d frames", size, l.Path, l.SourceFrames, secs, len(c.Frames))
			}
			if l.Photo == "" || person(l.Photo) == person(l.Source) {
				t.Errorf("%s: %s: mask photo %q worn in %s", size, l.Path, l.Photo, l.Source)
			}
			if c == g.clips[0] {
				blink := false
				for _, b := range g.blinks[c.Name] {
					blink = blink || (b >= from && b < to)
				}
				if !blink {
					t.Errorf("%s: %s: window %v holds none of the blinks %v", size, l.Path, l.SourceFrames, g.blinks[c.Name])
				}
			}
		}
		if masks == 0 {
			t.Errorf("%s: no eyehole mask", size)
		}
	}
}

// TestRenderEyeholeMask draws a uniform red print with eye and mouth holes
// over a gradient frame, noise-free: inside the holes the frame's own
// pixels show unchanged, the rest of the printed face is the print, and
// the frame away from the mask is untouched.
func TestRenderEyeholeMask(t *testing.T) {
	photo := imgproc.NewRGB(200, 200)
	for i := 0; i < len(photo.Pix); i += 3 {
		photo.Pix[i], photo.Pix[i+1], photo.Pix[i+2] = 200, 40, 40
	}
	f := syntheticFace(200, 200)
	f.Eyes = [2][2]float64{{f.CX - 0.2*f.Width, f.CY - 0.1*f.Height}, {f.CX + 0.2*f.Width, f.CY - 0.1*f.Height}}
	rng := rand.New(rand.NewPCG(5, 5))
	pp := PrintParams{Paper: [3]float64{240, 238, 230}, Ink: [3]float64{30, 28, 32}, Saturation: 1, Gamma: 1}
	cut := NewCutout(photo, f, CutParams{Margin: 0.1, Top: 0.1}, pp, rng)
	hole := 0.12 * f.Width
	m := &eyeholeMask{Cut: cut, Exposure: 1, Holes: []holeEllipse{
		newHole(f.Eyes[0], hole, 0.7*hole, 0), newHole(f.Eyes[1], hole, 0.7*hole, 0),
		newHole([2]float64{f.CX, f.CY + 0.25*f.Height}, 1.5*hole, 0.6*hole, 0)}}
	src := gradient(SampleW, SampleH)
	dst := imgproc.NewRGB(SampleW, SampleH)
	// The printed eyes onto two points of the frame, rolled by 10°.
	q0 := complex(130, 100)
	q1 := q0 + cmplx.Rect(60, 10*math.Pi/180)
	toFrame := simFrom(cpt(f.Eyes[0]), cpt(f.Eyes[1]), q0, q1)
	renderEyeholeMask(dst, src, m, toFrame, 1, 0, rng)
	toPhoto := toFrame.inverse()
	var inHole, showing, onPrint, printed, far, farSame int
	for y := 0; y < SampleH; y++ {
		for x := 0; x < SampleW; x++ {
			z := toPhoto.apply(complex(float64(x)+0.5, float64(y)+0.5))
			k := (y*SampleW + x) * 3
			same := dst.Pix[k] == src.Pix[k] && dst.Pix[k+1] == src.Pix[k+1] && dst.Pix[k+2] == src.Pix[k+2]
			hd := math.Inf(1)
			for _, h := range m.Holes {
				hd = math.Min(hd, h.dist(z))
			}
			d := math.Hypot((real(z)-f.CX)/(f.Width/2), (imag(z)-f.CY)/(f.Height/2))
			switch {
			case hd < 0.6:
				inHole++
				if same {
					showing++
				}
			case hd > 1.2 && d < 0.9:
				onPrint++
				if r, g, b := dst.At(x, y); r > 150 && g < 90 && b < 90 {
					printed++
				}
			case d > 1.6:
				far++
				if same {
					farSame++
				}
			}
		}
	}
	if inHole < 100 || showing != inHole {
		t.Errorf("holes: %d of %d pixels show the frame", showing, inHole)
	}
	if onPrint < 1000 || printed != onPrint {
		t.Errorf("face: %d of %d pixels printed", printed, onPrint)
	}
	if far < 1000 || farSame != far {
		t.Errorf("away from the mask: %d of %d pixels untouched", farSame, far)
	}
}

// TestEyeholeMaskShowsEyes renders masks over cap13 (its eyes half shut
// near frame 57) from real photos: in each frame the wearer's eyes (round the mesh's
// eye centres of the source frame) show the source frame's pixels (gain,
// noise and JPEG aside), while most of the wearer's face outline is covered.
func TestEyeholeMaskShowsEyes(t *testing.T) {
	g := needRealGenerator(t)
	c := g.clips[0]
	dir := t.TempDir()
	photos := []string{"skimage/astronaut.png"}
	if len(g.media.Crops) > 0 {
		photos = append(photos, g.media.Crops[0]) // a 150 px crop: the cut stops at its edge
	}
	for i, photo := range photos {
		seed := uint64(31 + i)
		l := Label{Label: Attack, Species: SpeciesEyeholeMask, Mode: "passive", Source: c.Name, SourceFrames: [2]int{50, 200}, Photo: photo, Path: "mask.avi"}
		_, la := renderJob(t, g, dir, l, seed, g.eyeholeAttack)
		frames := decodeAll(t, filepath.Join(dir, "mask.avi"))
		gain := la.Params["gain"]
		for _, k := range []int{0, len(frames) / 2, len(frames) - 1} {
			src, err := c.Frame(50+k, nil)
			if err != nil {
				t.Fatal(err)
			}
			shapes, err := g.faces.shapesOf(src, 1)
			if err != nil || len(shapes) == 0 {
				t.Fatalf("frame %d: no face (%v)", 50+k, err)
			}
			s := shapes[0]
			diff := func(x, y int) float64 {
				var d float64
				for ch := 0; ch < 3; ch++ {
					q := (y*src.W+x)*3 + ch
					d = math.Max(d, math.Abs(float64(frames[k].Pix[q])-gain*float64(src.Pix[q])))
				}
				return d
			}
			for e := 0; e < 2; e++ {
				r := math.Max(0.15*s.EyeW[e], 2)
				var sum, n float64
				for y := int(s.Eyes[e][1] - r); y <= int(s.Eyes[e][1]+r); y++ {
					for x := int(s.Eyes[e][0] - r); x <= int(s.Eyes[e][0]+r); x++ {
						if math.Hypot(float64(x)+0.5-s.Eyes[e][0], float64(y)+0.5-s.Eyes[e][1]) <= r {
							sum += diff(x, y)
							n++
						}
					}
				}
				if n == 0 || sum/n > 12 {
					t.Errorf("%s frame %d eye %d: mean difference %.1f from the source over %.0f pixels (params %v)", photo, k, e, sum/n, n, la.Params)
				}
			}
			cover := fillPolygon(s.Outline, src.W, src.H)
			var covered, area float64
			for p, v := range cover {
				if v < 1 {
					continue
				}
				area++
				if diff(p%src.W, p/src.W) > 20 {
					covered++
				}
			}
			if covered < 0.5*area {
				t.Errorf("%s frame %d: %.0f of %.0f face pixels covered (params %v)", photo, k, covered, area, la.Params)
			}
		}
	}
}
