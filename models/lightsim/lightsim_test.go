package lightsim

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
)

var white = liveness.Light{R: 1, G: 1, B: 1, Intensity: 1}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// gradient is a frame whose grey levels run 40–220 across x, so that
// averages over a region do not hinge on one level's rounding.
func gradient(w, h int) *imgproc.RGB {
	m := imgproc.NewRGB(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(40 + 180*x/(w-1))
			k := (y*w + x) * 3
			m.Pix[k], m.Pix[k+1], m.Pix[k+2] = v, v, v
		}
	}
	return m
}

// meanChange is the mean relative change of linear light of channel c over
// the rectangle [x0, x1)×[y0, y1).
func meanChange(in, out *imgproc.RGB, c, x0, y0, x1, y1 int) float64 {
	var a, b float64
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			k := (y*in.W+x)*3 + c
			a += imgproc.SRGBToLinear[in.Pix[k]]
			b += imgproc.SRGBToLinear[out.Pix[k]]
		}
	}
	return b/a - 1
}

func TestStrengthPhysics(t *testing.T) {
	base := DefaultParams()
	s0 := base.Strength()
	// The defaults: 400 cd/m² × 0.009 m² × cos 20° / 0.35² ≈ 27.6 lux on
	// the face, 9.2 % of 300 lux.
	if e := base.Illuminance(); !near(e, 27.62, 0.05) {
		t.Fatalf("default illuminance %.3f lux, want 27.62", e)
	}
	if !near(s0, 0.0921, 0.0005) {
		t.Fatalf("default strength %.4f, want 0.0921", s0)
	}
	tests := []struct {
		name  string
		edit  func(*Params)
		ratio float64 // Strength relative to the default
	}{
		{"distance ×2 quarters", func(p *Params) { p.Distance *= 2; p.BackgroundDistance *= 2 }, 0.25},
		{"ambient ×2 halves", func(p *Params) { p.AmbientLux *= 2 }, 0.5},
		{"luminance ×2 doubles", func(p *Params) { p.EmitterLuminance *= 2 }, 2},
		{"area ×3 triples", func(p *Params) { p.EmitterArea *= 3 }, 3},
		{"albedo cancels for skin", func(p *Params) { p.Albedo = 0.3 }, 1},
		{"paper reflects as skin", func(p *Params) { *p = p.WithSurface(Paper) }, 1},
		{"none reflects nothing", func(p *Params) { *p = p.WithSurface(None) }, 0},
		{"head-on", func(p *Params) { p.IncidenceDeg = 0 }, 1 / math.Cos(20*math.Pi/180)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := base
			tc.edit(&p)
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := p.Strength() / s0; !near(got, tc.ratio, 1e-9) {
				t.Errorf("strength ratio %.6f, want %.6f", got, tc.ratio)
			}
		})
	}
	// A screen's own emission swamps the 4 % its glass reflects.
	if s := base.WithSurface(Screen).Strength(); s <= 0 || s > s0/20 {
		t.Errorf("screen strength %.5f, want (0, %.5f]", s, s0/20)
	}
}

func TestResponseCrossTalk(t *testing.T) {
	p := DefaultParams()
	s := p.Strength()
	tests := []struct {
		light liveness.Light
		want  [3]float64
	}{
		{white, [3]float64{s, s, s}},
		{liveness.Light{R: 1, Intensity: 1}, [3]float64{0.8 * s, 0.1 * s, 0.04 * s}},
		{liveness.Light{G: 1, Intensity: 0.6}, [3]float64{0.6 * 0.15 * s, 0.6 * 0.8 * s, 0.6 * 0.16 * s}},
		{liveness.Light{B: 1, Intensity: 1}, [3]float64{0.05 * s, 0.1 * s, 0.8 * s}},
		{liveness.Light{}, [3]float64{}},
	}
	for _, tc := range tests {
		got := p.Response(tc.light)
		for c := range got {
			if !near(got[c], tc.want[c], 1e-12) {
				t.Errorf("%+v: response %v, want %v", tc.light, got, tc.want)
				break
			}
		}
	}
}

func TestRenderPhysics(t *testing.T) {
	const w, h = 320, 240
	src := gradient(w, h)
	// A dim room so the change is large against 8-bit rounding; no
	// auto-exposure, no latency; a flat surface (TestShade covers relief).
	p := DefaultParams()
	p.AmbientLux, p.AutoExposureMS, p.LatencyMS, p.ExposureMS = 50, 0, 0, 0
	p.Relief = Flat
	render := func(p Params) *imgproc.RGB {
		r, err := NewRenderer(p, func(time.Duration) liveness.Light { return white }, Ellipse{})
		if err != nil {
			t.Fatal(err)
		}
		out := imgproc.NewRGB(1, 1)
		if err := r.Render(out, src, time.Second); err != nil {
			t.Fatal(err)
		}
		return out
	}
	core := func(out *imgproc.RGB) float64 { return meanChange(src, out, 1, 130, 90, 190, 150) }
	corner := func(out *imgproc.RGB) float64 { return meanChange(src, out, 1, 280, 0, 320, 30) }
	out := render(p)
	if got := core(out); !near(got, p.Strength(), 0.01) {
		t.Errorf("face change %.4f, want %.4f", got, p.Strength())
	}
	if got, want := corner(out), p.Strength()*p.BackgroundFactor(); !near(got, want, 0.005) {
		t.Errorf("background change %.4f, want %.4f", got, want)
	}
	far := p
	far.Distance, far.BackgroundDistance = 2*p.Distance, 2*p.BackgroundDistance
	if got := core(render(far)) / core(out); !near(got, 0.25, 0.03) {
		t.Errorf("distance ×2: change ratio %.3f, want 0.25", got)
	}
	bright := p
	bright.AmbientLux *= 2
	if got := core(render(bright)) / core(out); !near(got, 0.5, 0.03) {
		t.Errorf("ambient ×2: change ratio %.3f, want 0.5", got)
	}
	// None leaves every pixel as it was, with auto-exposure on too.
	for _, ae := range []float64{0, 1000} {
		none := DefaultParams().WithSurface(None)
		none.AutoExposureMS = ae
		if got := render(none); !bytes.Equal(got.Pix, src.Pix) {
			t.Errorf("surface none, auto-exposure %v ms: pixels changed", ae)
		}
	}
	// In place gives the same result.
	r, _ := NewRenderer(p, func(time.Duration) liveness.Light { return white }, Ellipse{})
	inPlace := gradient(w, h)
	if err := r.Render(inPlace, inPlace, time.Second); err != nil || !bytes.Equal(inPlace.Pix, out.Pix) {
		t.Errorf("in-place render differs (%v)", err)
	}
}

func TestLatencyShiftsResponse(t *testing.T) {
	step := time.Second
	light := func(t time.Duration) liveness.Light {
		if t >= step {
			return white
		}
		return liveness.Light{}
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	tests := []struct {
		latency, exposure float64
		at                float64 // ms
		want              float64 // share of the full response
	}{
		{0, 0, 999, 0},
		{0, 0, 1000, 1},
		{100, 0, 1099, 0},
		{100, 0, 1100, 1},
		{200, 0, 1150, 0},
		{200, 0, 1200, 1},
		{100, 40, 1100, 0},     // the whole exposure before the step
		{100, 40, 1120, 0.5},   // half of it after
		{100, 40, 1140, 1},     // all of it after
		{100, 40, 1130, 0.75},  // three quarters
		{100, 40, 1105, 0.125}, // one of eight instants
	}
	for _, tc := range tests {
		p := DefaultParams()
		p.LatencyMS, p.ExposureMS = tc.latency, tc.exposure
		r, err := NewRenderer(p, light, Ellipse{})
		if err != nil {
			t.Fatal(err)
		}
		got := r.Relative(ms(tc.at))[1] / p.Strength()
		if !near(got, tc.want, 1e-9) {
			t.Errorf("latency %v ms, exposure %v ms, frame at %v ms: response %.3f, want %.3f", tc.latency, tc.exposure, tc.at, got, tc.want)
		}
	}
}

func TestAutoExposure(t *testing.T) {
	const w, h = 160, 120
	src := gradient(w, h)
	light := func(t time.Duration) liveness.Light {
		if t >= time.Second {
			return white
		}
		return liveness.Light{}
	}
	tests := []struct {
		name      string
		ae, meter float64
	}{
		{"locked", 0, 0.5},
		{"face-weighted, 500 ms", 500, 0.5},
		{"face only, 500 ms", 500, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			p.AutoExposureMS, p.FaceMetering, p.LatencyMS, p.ExposureMS = tc.ae, tc.meter, 0, 0
			p.Relief = Flat // the face's change is even, so face-only metering cancels it everywhere
			r, err := NewRenderer(p, light, Ellipse{})
			if err != nil {
				t.Fatal(err)
			}
			out := imgproc.NewRGB(w, h)
			var gains []float64
			for i := 0; i <= 100; i++ { // 4 s at 25 fps
				if err := r.Render(out, src, time.Duration(i)*40*time.Millisecond); err != nil {
					t.Fatal(err)
				}
				gains = append(gains, r.Gain())
			}
			if tc.ae == 0 {
				for i, g := range gains {
					if g != 1 {
						t.Fatalf("locked exposure: gain %.4f at frame %d", g, i)
					}
				}
				return
			}
			if gains[25] != 1 || gains[27] >= 1 {
				t.Errorf("gain before/after the step at 1 s: %.4f, %.4f", gains[25], gains[27])
			}
			for i := 27; i < len(gains); i++ {
				if gains[i] > gains[i-1] {
					t.Fatalf("gain rises at frame %d: %.5f after %.5f", i, gains[i], gains[i-1])
				}
			}
			// Three seconds after the step (6 time constants) the gain
			// has cancelled the metered change.
			want := 1 / (1 + r.meter*p.Strength())
			if !near(gains[100], want, 0.001) {
				t.Errorf("settled gain %.4f, want %.4f", gains[100], want)
			}
			if tc.meter == 1 {
				if got := meanChange(src, out, 1, 70, 50, 90, 70); math.Abs(got) > 0.01 {
					t.Errorf("face-only metering: face change %.4f after settling, want about 0", got)
				}
			}
		})
	}
}

func TestRenderDeterministic(t *testing.T) {
	var sched Schedule
	colours := []liveness.Light{{R: 1, Intensity: 1}, {G: 1, B: 1, Intensity: 0.6}, {R: 1, B: 1, Intensity: 1}}
	for i, c := range colours {
		sched.Set(time.Duration(i)*400*time.Millisecond, c)
	}
	run := func() []byte {
		r, err := NewRenderer(DefaultParams(), sched.At, Ellipse{})
		if err != nil {
			t.Fatal(err)
		}
		src := gradient(64, 48)
		out := imgproc.NewRGB(64, 48)
		var all []byte
		for i := 0; i < 30; i++ {
			if err := r.Render(out, src, time.Duration(i)*40*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			all = append(all, out.Pix...)
		}
		return all
	}
	a, b := run(), run()
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same input differ")
	}
	if bytes.Equal(a[:64*48*3], a[len(a)-64*48*3:]) {
		t.Fatal("the light did not change the frames")
	}
}

func TestSchedule(t *testing.T) {
	var s Schedule
	red, green := liveness.Light{R: 1, Intensity: 1}, liveness.Light{G: 1, Intensity: 1}
	s.Set(800*time.Millisecond, green)
	s.Set(400*time.Millisecond, red)
	s.Set(800*time.Millisecond, red) // replaces
	s.Set(1200*time.Millisecond, green)
	tests := []struct {
		at   time.Duration
		want liveness.Light
	}{
		{0, liveness.Light{}},
		{399 * time.Millisecond, liveness.Light{}},
		{400 * time.Millisecond, red},
		{1199 * time.Millisecond, red},
		{1200 * time.Millisecond, green},
		{time.Hour, green},
	}
	for _, tc := range tests {
		if got := s.At(tc.at); got != tc.want {
			t.Errorf("At(%v) = %+v, want %+v", tc.at, got, tc.want)
		}
	}
	if s.Len() != 3 {
		t.Errorf("Len %d, want 3", s.Len())
	}
}

func TestWithStrength(t *testing.T) {
	tests := []struct {
		name    string
		p       Params
		s       float64
		wantErr string
	}{
		{"skin 2 %", DefaultParams(), 0.02, ""},
		{"skin 8 %", DefaultParams(), 0.08, ""},
		{"paper 1 %", DefaultParams().WithSurface(Paper), 0.01, ""},
		{"laptop 4 %", Laptop(), 0.04, ""},
		{"kiosk 4 %", Kiosk(), 0.04, ""},
		{"screen 0.1 %", DefaultParams().WithSurface(Screen), 0.001, ""},
		{"screen 5 %: its own light", DefaultParams().WithSurface(Screen), 0.05, "ambient"},
		{"none", DefaultParams().WithSurface(None), 0.02, "reflects nothing"},
		{"zero", DefaultParams(), 0, "want > 0"},
		{"too strong for any room", DefaultParams(), 100, "ambient"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := tc.p.WithStrength(tc.s)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !near(q.Strength(), tc.s, 1e-12) || q.Validate() != nil {
				t.Errorf("strength %.6f (valid: %v), want %.6f", q.Strength(), q.Validate(), tc.s)
			}
			if q.EmitterLuminance != tc.p.EmitterLuminance || q.Distance != tc.p.Distance {
				t.Errorf("emitter or geometry changed: %+v", q)
			}
		})
	}
}

func TestParseAndValidate(t *testing.T) {
	tests := []struct {
		json    string
		wantErr string
		check   func(Params) bool
	}{
		{`{}`, "", func(p Params) bool { return p == DefaultParams() }},
		{`{"surface":"screen"}`, "", func(p Params) bool { return p.Albedo == 0.04 && p.SelfLuminance == 150 }},
		{`{"surface":"paper","albedo":0.8}`, "", func(p Params) bool { return p.Albedo == 0.8 }},
		{`{"ambient_lux":1000,"distance_m":0.5}`, "", func(p Params) bool { return p.AmbientLux == 1000 && p.Distance == 0.5 }},
		{`{"surface":"glass"}`, "surface", nil},
		{`{"distance_m":0.01}`, "distance_m", nil},
		{`{"distance_m":2}`, "background_distance_m", nil},
		{`{"ambient_lux":0}`, "ambient_lux", nil},
		{`{"emitter_luminance_cd_m2":0}`, "emitter_luminance_cd_m2", nil},
		{`{"face_metering":1.5}`, "face_metering", nil},
		{`{"surface":"skin","albedo":0}`, "albedo 0", nil},
		{`{"latency":100}`, "unknown field", nil},
		{`{"latency_ms":`, "params", nil},
	}
	for _, tc := range tests {
		p, err := ParseParams([]byte(tc.json))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tc.json, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.json, err)
			continue
		}
		if !tc.check(p) {
			t.Errorf("%s: got %+v", tc.json, p)
		}
	}
	if _, err := NewRenderer(DefaultParams(), nil, Ellipse{CX: 10, CY: 10, RX: -1, RY: 5}); err == nil {
		t.Error("negative semi-axis accepted")
	}
	r, err := NewRenderer(DefaultParams(), nil, Ellipse{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Render(imgproc.NewRGB(1, 1), &imgproc.RGB{W: 4, H: 4, Pix: make([]uint8, 5)}, 0); err == nil {
		t.Error("bad source accepted")
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for i := 0; i < 256; i++ {
		if got := encode(imgproc.SRGBToLinear[i]); int(got) != i {
			t.Fatalf("encode(decode(%d)) = %d", i, got)
		}
	}
}

// TestSetFaceMovesTheLight: the lit region follows the face.
func TestSetFaceMovesTheLight(t *testing.T) {
	src := imgproc.NewRGB(320, 240)
	for i := range src.Pix {
		src.Pix[i] = 128
	}
	white := func(time.Duration) liveness.Light { return liveness.Light{R: 1, G: 1, B: 1, Intensity: 1} }
	p := DefaultParams()
	p.AutoExposureMS = 0
	r, err := NewRenderer(p, white, Ellipse{})
	if err != nil {
		t.Fatal(err)
	}
	var dst imgproc.RGB
	at := func(x, y int) uint8 { return dst.Pix[(y*dst.W+x)*3] }
	r.SetFace(FaceFromBox([4]float64{10, 20, 60, 60}))
	if err := r.Render(&dst, src, time.Second); err != nil {
		t.Fatal(err)
	}
	if at(40, 45) <= at(160, 120) {
		t.Errorf("face at the left: lit %d there, %d in the centre", at(40, 45), at(160, 120))
	}
	r.SetFace(Ellipse{})
	if err := r.Render(&dst, src, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if at(160, 120) <= at(20, 20) {
		t.Errorf("default face: centre %d, corner %d", at(160, 120), at(20, 20))
	}
}

func TestShade(t *testing.T) {
	const aspect = 1.3
	// regionMean is the shade's mean over the unit disc on a finer grid
	// than meanShade's.
	regionMean := func(p Params) float64 {
		const n = 200
		var s float64
		k := 0
		for j := 0; j < n; j++ {
			dy := 2*(float64(j)+0.5)/n - 1
			for i := 0; i < n; i++ {
				dx := 2*(float64(i)+0.5)/n - 1
				if dx*dx+dy*dy < 1 {
					s += p.Shade(dx, dy, aspect)
					k++
				}
			}
		}
		return s / float64(k)
	}
	head := DefaultParams()
	matte := head
	matte.ReliefContrast = 1
	bent := DefaultParams().WithSurface(Paper)
	bent.Relief = Bent
	flat := DefaultParams().WithSurface(Paper)
	for _, p := range []Params{head, matte, bent, flat} {
		if m := regionMean(p); !near(m, 1, 0.01) {
			t.Errorf("%s κ %.1f: mean shade over the region %.4f, want 1", p.Relief, p.ReliefContrast, m)
		}
	}
	if flat.Relief != Flat || head.Relief != Head {
		t.Fatalf("defaults: paper %q, skin %q", flat.Relief, head.Relief)
	}
	tests := []struct {
		name string
		p    Params
		// a and b are points; want is shade(a)/shade(b).
		a, b [2]float64
		want float64
	}{
		// Matte ellipsoid: at (0.6, 0) the normal is (0.6, 0, 0.8), cos
		// 0.8; at the centre 1.
		{"head matte, cheek vs centre", matte, [2]float64{0.6, 0}, [2]float64{0, 0}, 0.8},
		// κ 0.8: 1 − 0.8·0.2 = 0.84.
		{"head skin, cheek vs centre", head, [2]float64{0.6, 0}, [2]float64{0, 0}, 0.84},
		// Forehead (0, −0.6): normal (0, −0.6/1.3, 0.8), cos 0.8/√(0.213+0.64).
		{"head matte, forehead vs centre", matte, [2]float64{0, -0.6}, [2]float64{0, 0}, 0.8 / math.Sqrt(0.36/1.69+0.64)},
		{"head, left and right", head, [2]float64{-0.5, 0.2}, [2]float64{0.5, 0.2}, 1},
		// Bent (R 1.2): cos √(1 − 0.25) at 0.6, whatever the height.
		{"bent, side vs centre", bent, [2]float64{0.6, 0}, [2]float64{0, 0}, math.Sqrt(0.75)},
		{"bent, up vs middle", bent, [2]float64{0.3, -0.7}, [2]float64{0.3, 0}, 1},
		{"flat", flat, [2]float64{0.7, -0.5}, [2]float64{0, 0}, 1},
	}
	for _, tc := range tests {
		got := tc.p.Shade(tc.a[0], tc.a[1], aspect) / tc.p.Shade(tc.b[0], tc.b[1], aspect)
		if !near(got, tc.want, 1e-9) {
			t.Errorf("%s: ratio %.4f, want %.4f", tc.name, got, tc.want)
		}
	}
	if s := matte.Shade(0.8, 0.7, aspect); s != 0 {
		t.Errorf("matte head outside the ellipsoid: shade %.3f, want 0", s)
	}
	bad := DefaultParams()
	bad.Relief = "dome"
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "relief") {
		t.Errorf("relief dome: %v", err)
	}
}
