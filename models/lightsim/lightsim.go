package lightsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
)

// Surface is what is in front of the camera, reflecting the emitted light.
type Surface string

// Surfaces.
const (
	// Skin: a live face, diffuse. Albedo 0.45 (about 0.3 for dark to 0.6
	// for light skin in the red channel; lower in blue).
	Skin Surface = "skin"
	// Paper: a print or a cut-out, diffuse (matte paper). Albedo 0.7.
	Paper Surface = "paper"
	// Screen: a phone or tablet replaying a face. Its glass reflects about
	// 4 % (taken here as if all of it reached the camera, an upper bound)
	// and its own emission (SelfLuminance, 150 cd/m²) dominates its
	// brightness, so the response is weak.
	Screen Surface = "screen"
	// None: frames injected into the stream; nothing in front of the
	// camera reflects anything.
	None Surface = "none"
)

// Params describe the emitter, the geometry, the room, the surface and the
// camera. They are literal values: start from DefaultParams (or Laptop,
// Kiosk) and change what differs; ParseParams decodes JSON over the
// defaults. Validate reports values outside the documented ranges.
type Params struct {
	// EmitterLuminance is the emitter's luminance at full white, in cd/m²,
	// at the user's brightness setting. Default 400 (phones 300–600,
	// laptops 200–400). Range (0, 10000].
	EmitterLuminance float64 `json:"emitter_luminance_cd_m2"`
	// EmitterArea is the emitting area in m² (the part of the screen the
	// page fills with the colour). Default 0.009 (a 6.1-inch phone, 6.5 ×
	// 14 cm); a 14-inch laptop is 0.054. Range (0, 1].
	EmitterArea float64 `json:"emitter_area_m2"`
	// Distance from the emitter to the face, in m. Default 0.35 (a phone
	// at arm's length; a laptop 0.5–0.6). Range [0.05, 5].
	Distance float64 `json:"distance_m"`
	// IncidenceDeg is the mean angle between the face's surface normal and
	// the direction to the emitter, in degrees. Default 20 (cheeks and
	// forehead of a face looking at the screen). Range [0, 85].
	IncidenceDeg float64 `json:"incidence_deg"`
	// BackgroundDistance is the distance from the emitter to the
	// background, in m; the background gets (Distance/BackgroundDistance)²
	// of the face's change. Default 1.5. Range [Distance, 100].
	BackgroundDistance float64 `json:"background_distance_m"`
	// AmbientLux is the ambient illuminance on the face, in lux. Default
	// 300 (dim room 50, office 300–500, near a window or outdoors
	// 1000–10000). Range [1, 100000].
	AmbientLux float64 `json:"ambient_lux"`
	// Surface is skin, paper, screen or none. Default skin.
	Surface Surface `json:"surface"`
	// Albedo is the surface's reflectance to the emitted light: diffuse
	// for skin (0.45; 0.3–0.6 with skin tone) and paper (0.7), the glass's
	// 0.04 for a screen, 0 for none. It cancels in the relative change of
	// a surface without emission of its own. Range [0, 1].
	Albedo float64 `json:"albedo"`
	// SelfLuminance is the surface's own emission in cd/m² (a screen
	// showing a face: 150 by default for Screen; 0 for the others). Range
	// [0, 10000].
	SelfLuminance float64 `json:"self_luminance_cd_m2"`
	// CrossTalk is the share of a camera channel's response that comes
	// from the display's other two primaries (CameraResponse). Default
	// 0.2. Range [0, 0.6].
	CrossTalk float64 `json:"cross_talk"`
	// LatencyMS: a frame stamped t shows the light emitted LatencyMS
	// earlier (display pipeline plus camera pipeline). Default 100.
	// Range [0, 2000].
	LatencyMS float64 `json:"latency_ms"`
	// ExposureMS is the frame's exposure: the light is averaged over it,
	// which smooths a step edge over one exposure. Default 33 (1/30 s).
	// Range [0, 1000].
	ExposureMS float64 `json:"exposure_ms"`
	// AutoExposureMS is the time constant with which the camera's gain
	// adapts back towards the brightness it had, partly cancelling a step
	// of light; 0 means an exposure locked at the start. Default 1000
	// (phone and webcam auto-exposure settles in about 0.3–3 s). Range
	// [0, 60000].
	AutoExposureMS float64 `json:"auto_exposure_ms"`
	// FaceMetering is the weight auto-exposure gives the face region
	// (1: the face only, as face-priority metering; 0: the whole frame
	// evenly). Default 0.5. Range [0, 1].
	FaceMetering float64 `json:"face_metering"`
	// Relief is the shape of the surface as the emitter sees it, which
	// spreads the change over the face region (Shade): head for skin,
	// flat for the others (WithSurface). Default head.
	Relief Relief `json:"relief"`
	// BendRadius is the radius of a bent sheet's bend (Relief bent), in
	// half-widths of the face region. Default 1.2. Range [0.5, 20].
	BendRadius float64 `json:"bend_radius"`
	// ReliefContrast κ is the share of the Lambertian fall-off that
	// reaches the camera: a surface facing the emitter at angle θ changes
	// by 1 − κ(1 − cos θ) of what it would facing it. 1 is a matte
	// (Lambertian) surface; skin's subsurface scattering and the room's
	// inter-reflections soften the fall-off, so skin's default is 0.8
	// (paper's 1). Range [0, 1].
	ReliefContrast float64 `json:"relief_contrast"`
}

// Relief is a surface's shape (Params.Relief).
type Relief string

// Reliefs.
const (
	// Head: a face, an ellipsoid filling the face region (half-width
	// and half-height the region's semi-axes, half-depth its half-width),
	// seen along the camera's axis with the emitter beside the camera.
	Head Relief = "head"
	// Flat: a print or a screen held flat, facing the camera.
	Flat Relief = "flat"
	// Bent: paper bent round a vertical axis (a mask curved round the
	// head), radius BendRadius half-widths, centred on the face.
	Bent Relief = "bent"
)

// DefaultParams is a phone showing the hosted page at arm's length in an
// office, reflected by skin.
func DefaultParams() Params {
	return Params{
		EmitterLuminance:   400,
		EmitterArea:        0.009,
		Distance:           0.35,
		IncidenceDeg:       20,
		BackgroundDistance: 1.5,
		AmbientLux:         300,
		Surface:            Skin,
		Albedo:             0.45,
		CrossTalk:          0.2,
		LatencyMS:          100,
		ExposureMS:         33,
		AutoExposureMS:     1000,
		FaceMetering:       0.5,
		Relief:             Head,
		BendRadius:         1.2,
		ReliefContrast:     0.8,
	}
}

// Laptop is a 14-inch laptop screen at 300 cd/m², 0.55 m from the face.
func Laptop() Params {
	p := DefaultParams()
	p.EmitterLuminance, p.EmitterArea, p.Distance, p.BackgroundDistance = 300, 0.054, 0.55, 2
	return p
}

// Kiosk is a kiosk's diffused LED panel: 0.015 m² at 3000 cd/m², 0.6 m from
// the face, with a fixed camera pipeline (60 ms latency). These are design
// assumptions, not measurements of a livegate kiosk.
func Kiosk() Params {
	p := DefaultParams()
	p.EmitterLuminance, p.EmitterArea, p.Distance, p.BackgroundDistance = 3000, 0.015, 0.6, 2.5
	p.LatencyMS = 60
	return p
}

// WithSurface returns p with the surface s and that surface's default
// albedo, self-luminance, relief and relief contrast.
func (p Params) WithSurface(s Surface) Params {
	p.Surface = s
	switch s {
	case Skin:
		p.Albedo, p.SelfLuminance, p.Relief, p.ReliefContrast = 0.45, 0, Head, 0.8
	case Paper:
		p.Albedo, p.SelfLuminance, p.Relief, p.ReliefContrast = 0.7, 0, Flat, 1
	case Screen:
		p.Albedo, p.SelfLuminance, p.Relief, p.ReliefContrast = 0.04, 150, Flat, 1
	case None:
		p.Albedo, p.SelfLuminance, p.Relief, p.ReliefContrast = 0, 0, Flat, 1
	}
	return p
}

// ParseParams decodes a JSON object over DefaultParams; when it names a
// surface, that surface's albedo, self-luminance, relief and relief
// contrast are the defaults of the fields it leaves out. The result is validated.
func ParseParams(data []byte) (Params, error) {
	var head struct {
		Surface Surface `json:"surface"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return Params{}, fmt.Errorf("lightsim: params: %w", err)
	}
	p := DefaultParams()
	if head.Surface != "" {
		p = p.WithSurface(head.Surface)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Params{}, fmt.Errorf("lightsim: params: %w", err)
	}
	if err := p.Validate(); err != nil {
		return Params{}, err
	}
	return p, nil
}

// Validate reports a value outside its documented range, naming the field.
func (p Params) Validate() error {
	check := func(name string, v, lo, hi float64, openLo bool) error {
		if math.IsNaN(v) || v > hi || v < lo || (openLo && v == lo) {
			br := "["
			if openLo {
				br = "("
			}
			return fmt.Errorf("lightsim: %s %g outside %s%g, %g]", name, v, br, lo, hi)
		}
		return nil
	}
	for _, c := range []struct {
		name       string
		v, lo, hi  float64
		openBottom bool
	}{
		{"emitter_luminance_cd_m2", p.EmitterLuminance, 0, 10000, true},
		{"emitter_area_m2", p.EmitterArea, 0, 1, true},
		{"distance_m", p.Distance, 0.05, 5, false},
		{"incidence_deg", p.IncidenceDeg, 0, 85, false},
		{"background_distance_m", p.BackgroundDistance, p.Distance, 100, false},
		{"ambient_lux", p.AmbientLux, 1, 100000, false},
		{"albedo", p.Albedo, 0, 1, false},
		{"self_luminance_cd_m2", p.SelfLuminance, 0, 10000, false},
		{"cross_talk", p.CrossTalk, 0, 0.6, false},
		{"latency_ms", p.LatencyMS, 0, 2000, false},
		{"exposure_ms", p.ExposureMS, 0, 1000, false},
		{"auto_exposure_ms", p.AutoExposureMS, 0, 60000, false},
		{"face_metering", p.FaceMetering, 0, 1, false},
		{"bend_radius", p.BendRadius, 0.5, 20, false},
		{"relief_contrast", p.ReliefContrast, 0, 1, false},
	} {
		if err := check(c.name, c.v, c.lo, c.hi, c.openBottom); err != nil {
			return err
		}
	}
	switch p.Surface {
	case Skin, Paper, Screen:
		if p.Albedo == 0 {
			return fmt.Errorf("lightsim: surface %q with albedo 0 (use surface %q)", p.Surface, None)
		}
	case None:
	default:
		return fmt.Errorf("lightsim: surface %q: want %s, %s, %s or %s", p.Surface, Skin, Paper, Screen, None)
	}
	switch p.Relief {
	case Head, Flat, Bent:
	default:
		return fmt.Errorf("lightsim: relief %q: want %s, %s or %s", p.Relief, Head, Flat, Bent)
	}
	return nil
}

// Shade is the share of the face's change (its mean over the face region
// is 1: Strength) at the point (dx, dy) of the face region, in its
// semi-axes from its centre, for a region of aspect RY/RX aspect. A
// Lambertian surface whose normal makes angle θ with the direction to the
// emitter (taken along the camera's axis: the screen or the LEDs are
// beside the camera) receives cos θ of the light it would facing it;
// ReliefContrast κ keeps 1 − κ(1 − cos θ) of that. Head: an ellipsoid of
// semi-axes RX, RY and depth RX, whose normal at (dx, dy) is
// (dx, dy/aspect, w) with w = √(1 − dx² − dy²), so cos θ = w/|…|, and 0
// outside it (ρ ≥ 1). Flat: 1 everywhere. Bent: cos θ = √(1 − (dx/R)²),
// R = BendRadius, 0 past it. The mean that normalises it is taken over
// the region (ρ < 1) on a 64×64 grid, whatever the frame's size.
func (p Params) Shade(dx, dy, aspect float64) float64 {
	return p.rawShade(dx, dy, aspect) / p.meanShade(aspect)
}

func (p Params) rawShade(dx, dy, aspect float64) float64 {
	var c float64
	switch p.Relief {
	case Flat, "":
		return 1
	case Head:
		w2 := 1 - dx*dx - dy*dy
		if w2 > 0 {
			w := math.Sqrt(w2)
			q := dy / aspect
			c = w / math.Sqrt(dx*dx+q*q+w*w)
		}
	case Bent:
		if u := dx / p.BendRadius; u*u < 1 {
			c = math.Sqrt(1 - u*u)
		}
	}
	return 1 - p.ReliefContrast*(1-c)
}

// meanShade is rawShade's mean over the unit disc (64×64 cell centres).
func (p Params) meanShade(aspect float64) float64 {
	if p.Relief == Flat || p.Relief == "" {
		return 1
	}
	const n = 64
	var s float64
	var k int
	for j := 0; j < n; j++ {
		dy := 2*(float64(j)+0.5)/n - 1
		for i := 0; i < n; i++ {
			dx := 2*(float64(i)+0.5)/n - 1
			if dx*dx+dy*dy < 1 {
				s += p.rawShade(dx, dy, aspect)
				k++
			}
		}
	}
	return s / float64(k)
}

// Illuminance is the emitter's illuminance on the face at full white, in
// lux: E = L·A·cos θ / d².
func (p Params) Illuminance() float64 {
	return p.EmitterLuminance * p.EmitterArea * math.Cos(p.IncidenceDeg*math.Pi/180) / (p.Distance * p.Distance)
}

// Strength is the relative change of the face's brightness (linear light,
// every channel) at full white, before auto-exposure:
// ρ·E / (ρ·E_ambient + π·L_self); 0 for the None surface.
func (p Params) Strength() float64 {
	if p.Surface == None || p.Albedo == 0 {
		return 0
	}
	return p.Albedo * p.Illuminance() / (p.Albedo*p.AmbientLux + math.Pi*p.SelfLuminance)
}

// BackgroundFactor is the share of the face's change the background gets:
// (Distance/BackgroundDistance)².
func (p Params) BackgroundFactor() float64 {
	r := p.Distance / p.BackgroundDistance
	return r * r
}

// WithStrength returns p with the ambient illuminance changed so that
// Strength is s (the emitter and the geometry stay; the room gets brighter
// or darker). It fails for the None surface, for a screen whose own
// emission alone keeps it below s, and when the ambient needed is outside
// its range.
func (p Params) WithStrength(s float64) (Params, error) {
	if !(s > 0) || math.IsInf(s, 0) {
		return p, fmt.Errorf("lightsim: strength %g: want > 0", s)
	}
	if p.Surface == None || p.Albedo == 0 {
		return p, fmt.Errorf("lightsim: strength %g: surface %q reflects nothing", s, p.Surface)
	}
	amb := (p.Albedo*p.Illuminance()/s - math.Pi*p.SelfLuminance) / p.Albedo
	if amb < 1 || amb > 100000 {
		return p, fmt.Errorf("lightsim: strength %g needs %.3g lux of ambient light with %.3g lux from the emitter (want 1–100000)", s, amb, p.Illuminance())
	}
	p.AmbientLux = amb
	return p, nil
}

// CameraResponse is the camera channels' (rows: R, G, B) response to the
// display's primaries (columns: R, G, B) with the given cross-talk x: the
// diagonal is 1 − x; the camera's R takes ¾x from green and ¼x from blue,
// G ½x from each of red and blue, B ⅕x from red and ⅘x from green. Rows sum
// to 1: full white changes every channel equally.
func CameraResponse(x float64) [3][3]float64 {
	return [3][3]float64{
		{1 - x, 0.75 * x, 0.25 * x},
		{0.5 * x, 1 - x, 0.5 * x},
		{0.2 * x, 0.8 * x, 1 - x},
	}
}

// Response is the relative change of each camera channel of the face
// (linear light, before auto-exposure) while light l is emitted.
func (p Params) Response(l liveness.Light) [3]float64 {
	s := p.Strength()
	if s == 0 {
		return [3]float64{}
	}
	m := CameraResponse(p.CrossTalk)
	e := [3]float64{clamp01(l.R) * clamp01(l.Intensity), clamp01(l.G) * clamp01(l.Intensity), clamp01(l.B) * clamp01(l.Intensity)}
	var out [3]float64
	for c := 0; c < 3; c++ {
		out[c] = s * (m[c][0]*e[0] + m[c][1]*e[1] + m[c][2]*e[2])
	}
	return out
}

func clamp01(v float64) float64 { return min(max(v, 0), 1) }

// LightFunc gives the light the capture side was emitting at time t (on
// the frames' clock).
type LightFunc func(t time.Duration) liveness.Light

// Schedule is a record of the light emitted: each entry holds from its
// time until the next. Its At is a LightFunc. The zero value is an empty
// schedule (nothing emitted).
type Schedule struct {
	ts []time.Duration
	ls []liveness.Light
}

// Set records that light l is emitted from t on. Entries may come in any
// order; an entry at the same time replaces the earlier one.
func (s *Schedule) Set(t time.Duration, l liveness.Light) {
	i := sort.Search(len(s.ts), func(i int) bool { return s.ts[i] >= t })
	if i < len(s.ts) && s.ts[i] == t {
		s.ls[i] = l
		return
	}
	s.ts = append(s.ts, 0)
	s.ls = append(s.ls, liveness.Light{})
	copy(s.ts[i+1:], s.ts[i:])
	copy(s.ls[i+1:], s.ls[i:])
	s.ts[i], s.ls[i] = t, l
}

// At is the light emitted at t: the latest entry at or before t, or no
// light (the zero Light) before the first entry.
func (s *Schedule) At(t time.Duration) liveness.Light {
	i := sort.Search(len(s.ts), func(i int) bool { return s.ts[i] > t })
	if i == 0 {
		return liveness.Light{}
	}
	return s.ls[i-1]
}

// Len is the number of entries.
func (s *Schedule) Len() int { return len(s.ts) }

// Ellipse is the face region in pixels: centre and semi-axes. Soft is the
// width of the edge's falloff as a fraction of the semi-axes (0 takes
// the default 0.3).
type Ellipse struct {
	CX, CY, RX, RY float64
	Soft           float64
}

// DefaultFace is the region the hosted page asks the user to fill (the
// oval in the middle of the frame): centred, semi-axes a quarter of the
// width and 0.42 of the height (80 × 100 px in a 320×240 frame).
func DefaultFace(w, h int) Ellipse {
	return Ellipse{CX: float64(w) / 2, CY: float64(h) / 2, RX: 0.25 * float64(w), RY: 0.42 * float64(h), Soft: 0.3}
}

// exposureSamples is how many instants of the exposure are averaged.
const exposureSamples = 8

// Renderer lights frames of one clip in order. It keeps the
// auto-exposure's state between frames; use one Renderer per clip. It is
// not safe for concurrent use.
type Renderer struct {
	p     Params
	light LightFunc
	face  Ellipse
	m     [3][3]float64
	s     float64

	// Weight map for the current frame size.
	w                  []float32
	ww, wh             int
	meter              float64 // AE's metered share of the face change
	started            bool
	gain, target, last float64
	lastT              time.Duration
}

// NewRenderer returns a Renderer for params p, emitted light light (nil:
// nothing emitted) and face region face (the zero Ellipse: DefaultFace of
// each frame's size).
func NewRenderer(p Params, light LightFunc, face Ellipse) (*Renderer, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if face != (Ellipse{}) && (!(face.RX > 0) || !(face.RY > 0) || face.Soft < 0 || face.Soft > 2) {
		return nil, fmt.Errorf("lightsim: face ellipse %+v: want positive semi-axes and soft in [0, 2]", face)
	}
	if light == nil {
		light = func(time.Duration) liveness.Light { return liveness.Light{} }
	}
	return &Renderer{p: p, light: light, face: face, m: CameraResponse(p.CrossTalk), s: p.Strength(), gain: 1}, nil
}

// Params returns the renderer's parameters.
func (r *Renderer) Params() Params { return r.p }

// SetFace moves the face region for the frames rendered next (a face that
// moves in the frame stays lit: the emitter is near and in front of it);
// the zero Ellipse goes back to DefaultFace.
func (r *Renderer) SetFace(face Ellipse) {
	if face != r.face {
		r.face, r.w = face, nil
	}
}

// FaceFromBox is the face region around a detector's face box (x, y,
// width, height in pixels): the box covers brows to chin and about cheek
// to cheek; the region, the head's outline (0.55 of the box's width to
// each side, 0.85 of its height up and down: the whole face and forehead),
// with a soft edge to 0.63 of its width.
func FaceFromBox(box [4]float64) Ellipse {
	return Ellipse{CX: box[0] + box[2]/2, CY: box[1] + 0.45*box[3], RX: 0.55 * box[2], RY: 0.85 * box[3], Soft: 0.3}
}

// Relative is the face's relative change per camera channel (linear light,
// before auto-exposure) in a frame stamped t: the emitted light looked up
// at t − latency and averaged over one exposure before that.
func (r *Renderer) Relative(t time.Duration) [3]float64 {
	var out [3]float64
	if r.s == 0 {
		return out
	}
	lat := time.Duration(r.p.LatencyMS * float64(time.Millisecond))
	exp := time.Duration(r.p.ExposureMS * float64(time.Millisecond))
	n := exposureSamples
	if exp == 0 {
		n = 1
	}
	for i := 0; i < n; i++ {
		at := t - lat
		if exp > 0 {
			at -= time.Duration((float64(i) + 0.5) / float64(n) * float64(exp))
		}
		v := r.p.Response(r.light(at))
		for c := range out {
			out[c] += v[c] / float64(n)
		}
	}
	return out
}

// Gain is the auto-exposure gain applied to the last frame rendered (1
// before the first).
func (r *Renderer) Gain() float64 { return r.gain }

// weights fills the per-pixel share of the face change for a w×h frame.
func (r *Renderer) weights(w, h int) {
	if r.w != nil && r.ww == w && r.wh == h {
		return
	}
	f := r.face
	if f == (Ellipse{}) {
		f = DefaultFace(w, h)
	}
	soft := f.Soft
	if soft == 0 {
		soft = 0.3
	}
	bg := r.p.BackgroundFactor()
	aspect := f.RY / f.RX
	norm := r.p.meanShade(aspect)
	r.w = make([]float32, w*h)
	r.ww, r.wh = w, h
	var sum, inside float64
	var nIn int
	for y := 0; y < h; y++ {
		dy := (float64(y) + 0.5 - f.CY) / f.RY
		for x := 0; x < w; x++ {
			dx := (float64(x) + 0.5 - f.CX) / f.RX
			rho := math.Sqrt(dx*dx + dy*dy)
			k := 1.0
			switch lo, hi := 1-soft/2, 1+soft/2; {
			case rho >= hi:
				k = 0
			case rho > lo:
				u := (hi - rho) / (hi - lo)
				k = u * u * (3 - 2*u) // smoothstep
			}
			if k > 0 {
				k *= r.p.rawShade(dx, dy, aspect) / norm
			}
			v := bg + (1-bg)*k
			r.w[y*w+x] = float32(v)
			sum += v
			if rho < 1 {
				inside += v
				nIn++
			}
		}
	}
	frame := sum / float64(w*h)
	face := frame
	if nIn > 0 {
		face = inside / float64(nIn)
	}
	r.meter = r.p.FaceMetering*face + (1-r.p.FaceMetering)*frame
}

// Render writes into dst the frame src stamped t lit by the emitted light.
// dst may be src. Frames must come in time order; a time not after the
// previous frame's does not advance the auto-exposure.
func (r *Renderer) Render(dst, src *imgproc.RGB, t time.Duration) error {
	if src == nil || src.W <= 0 || src.H <= 0 || len(src.Pix) != src.W*src.H*3 {
		return fmt.Errorf("lightsim: render frame at %v: bad source image", t)
	}
	if dst == nil {
		return fmt.Errorf("lightsim: render frame at %v: no destination image", t)
	}
	if dst != src {
		dst.Reshape(src.W, src.H)
	}
	r.weights(src.W, src.H)
	rel := r.Relative(t)
	// Auto-exposure: the gain that would cancel the metered change of
	// this frame; the gain applied moves towards the previous frame's
	// target with time constant AutoExposureMS.
	relY := 0.2126*rel[0] + 0.7152*rel[1] + 0.0722*rel[2]
	target := 1 / (1 + r.meter*relY)
	switch {
	case !r.started:
		// Adapted to the light of the first frame (locked there when
		// auto-exposure is off).
		r.gain, r.started = target, true
		if r.p.AutoExposureMS == 0 {
			r.gain = 1
		}
		r.lastT = t
	case t > r.lastT:
		if r.p.AutoExposureMS > 0 {
			a := 1 - math.Exp(-float64(t-r.lastT)/(r.p.AutoExposureMS*float64(time.Millisecond)))
			r.gain += (r.target - r.gain) * a
		}
		r.lastT = t
	}
	r.target = target
	if r.s == 0 && r.gain == 1 {
		if dst != src {
			copy(dst.Pix, src.Pix)
		}
		return nil
	}
	g := r.gain
	for i, wv := range r.w {
		k := i * 3
		wf := float64(wv)
		for c := 0; c < 3; c++ {
			f := g * (1 + wf*rel[c])
			dst.Pix[k+c] = encode(imgproc.SRGBToLinear[src.Pix[k+c]] * f)
		}
	}
	return nil
}

// encode returns the 8-bit sRGB value nearest to linear light v (clipped:
// a saturated pixel stays at 255).
func encode(v float64) uint8 {
	if v <= 0 {
		return 0
	}
	if v >= 1 {
		return 255
	}
	var e float64
	if v <= 0.0031308 {
		e = 12.92 * v
	} else {
		e = 1.055*math.Pow(v, 1/2.4) - 0.055
	}
	return uint8(math.Round(e * 255))
}
