package icao

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"math"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

// Output geometry (see the package documentation).
const (
	Width        = 480
	Height       = 600
	EyeLineY     = 270.0 // 45 % from the top
	ChinToCrown  = 0.75  // of Height
	MinChinCrown = 0.70
	MaxChinCrown = 0.80
	MinEyeLine   = 0.50 // eye line height from the bottom, fraction of Height
	MaxEyeLine   = 0.70
	MinEyeDist   = 90.0 // px between eye centres
	JPEGQuality  = 92
)

// Pose and expression limits of a usable frame.
const (
	MaxYaw        = 5.0
	MaxPitch      = 5.0
	MaxRoll       = 8.0
	MinEyeOpen    = 0.22 // eye aspect ratio (open ≈ 0.27–0.31, closed ≈ 0.18)
	MaxMouthOpen  = 0.06 // inner-lip gap over mouth width
	MinSharpness  = 25.0 // variance of the Laplacian on the face (8-bit luma)
	MinBrightness = 60.0 // mean face luma
	MaxBrightness = 210.0
)

// ErrNoFace reports a frame without a usable face mesh.
var ErrNoFace = errors.New("icao: no face")

// Requirement is one line of the quality report.
type Requirement struct {
	Name  string  `json:"name"`
	Met   bool    `json:"met"`
	Value float64 `json:"value"`
	Want  string  `json:"want"`
	Why   string  `json:"why,omitempty"`
}

// Report is the quality report of a portrait.
type Report struct {
	Requirements []Requirement `json:"requirements"`
	// Compliant is true when every requirement is met.
	Compliant bool `json:"compliant"`
}

// Unmet lists the names of the requirements not met.
func (r Report) Unmet() []string {
	var out []string
	for _, q := range r.Requirements {
		if !q.Met {
			out = append(out, q.Name)
		}
	}
	return out
}

// Photo is the made portrait.
type Photo struct {
	JPEG   []byte
	Image  *imgproc.RGB
	Report Report
	// Scale is output pixels per source pixel; Roll the correction applied
	// (degrees).
	Scale float64
	Roll  float64
}

type pt struct{ x, y float64 }

func point(l *face.Landmarks, i int) pt { return pt{float64(l.Points[i][0]), float64(l.Points[i][1])} }

func mid(a, b pt) pt { return pt{(a.x + b.x) / 2, (a.y + b.y) / 2} }

// Geometry is what the portrait geometry is computed from.
type Geometry struct {
	RightEye, LeftEye pt
	EyeMid, Chin      pt
	// EyeDist is the distance between eye centres, RollDeg the eye line's
	// angle (clockwise on screen), ChinCrown the estimated chin-to-crown
	// length, all in the image's pixels.
	EyeDist, RollDeg, ChinCrown float64
}

// Measure derives the eye centres (mean of each eye's corners), the eye
// line's angle, the chin and the estimated chin-to-crown length from a mesh.
func Measure(l *face.Landmarks) Geometry {
	re := mid(point(l, face.MeshRightEyeOuter), point(l, face.MeshRightEyeInner))
	le := mid(point(l, face.MeshLeftEyeOuter), point(l, face.MeshLeftEyeInner))
	g := Geometry{RightEye: re, LeftEye: le, EyeMid: mid(re, le), Chin: point(l, face.MeshChin)}
	dx, dy := le.x-re.x, le.y-re.y
	g.EyeDist = math.Hypot(dx, dy)
	g.RollDeg = math.Atan2(dy, dx) * 180 / math.Pi
	// Chin below the eye line, measured along the face's vertical axis (the
	// eye line's normal).
	nx, ny := -dy/g.EyeDist, dx/g.EyeDist
	chinDown := (g.Chin.x-g.EyeMid.x)*nx + (g.Chin.y-g.EyeMid.y)*ny
	g.ChinCrown = 2 * chinDown
	return g
}

// Make builds the portrait from a frame and its face mesh.
func Make(img *imgproc.RGB, l *face.Landmarks) (*Photo, error) {
	if img == nil || img.W == 0 || img.H == 0 {
		return nil, fmt.Errorf("icao: %w", face.ErrNoImage)
	}
	if l == nil {
		return nil, ErrNoFace
	}
	g := Measure(l)
	if g.EyeDist < 4 || g.ChinCrown < 8 {
		return nil, fmt.Errorf("icao: degenerate mesh (eyes %.1f px apart, chin-to-crown %.1f px): %w", g.EyeDist, g.ChinCrown, ErrNoFace)
	}
	scale := ChinToCrown * Height / g.ChinCrown
	th := g.RollDeg * math.Pi / 180
	c, s := math.Cos(th), math.Sin(th)
	// Output (u, v) → source: rotate by the roll, scale, eye midpoint to
	// (Width/2, EyeLineY).
	a := imgproc.Affine{
		A: c / scale, B: -s / scale,
		D: s / scale, E: c / scale,
	}
	a.C = g.EyeMid.x - (a.A*Width/2 + a.B*EyeLineY)
	a.F = g.EyeMid.y - (a.D*Width/2 + a.E*EyeLineY)
	out := imgproc.NewRGB(Width, Height)
	inside := warp(out, img, a, scale)
	var buf bytes.Buffer
	if err := encodeJPEG(&buf, out); err != nil {
		return nil, err
	}
	p := &Photo{JPEG: buf.Bytes(), Image: out, Scale: scale, Roll: g.RollDeg}
	m := face.Measure(l)
	sharp, bright := faceStats(img, l)
	p.Report = report(m, g, scale, inside, sharp, bright)
	return p, nil
}

// warp samples src through a (output → source) into dst, bilinear with n×n
// supersampling when shrinking; outside the source it repeats the edge. It
// returns the fraction of output pixels that fell inside the source.
func warp(dst, src *imgproc.RGB, a imgproc.Affine, scale float64) float64 {
	n := 1
	if scale < 1 {
		n = min(4, int(math.Ceil(1/scale)))
	}
	in := 0
	for v := 0; v < dst.H; v++ {
		for u := 0; u < dst.W; u++ {
			var acc [3]float64
			cx, cy := a.Apply(float64(u)+0.5, float64(v)+0.5)
			if cx >= 0 && cy >= 0 && cx < float64(src.W) && cy < float64(src.H) {
				in++
			}
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					x, y := a.Apply(float64(u)+(float64(j)+0.5)/float64(n), float64(v)+(float64(i)+0.5)/float64(n))
					p := bilinear(src, x-0.5, y-0.5)
					acc[0] += p[0]
					acc[1] += p[1]
					acc[2] += p[2]
				}
			}
			q := (v*dst.W + u) * 3
			k := float64(n * n)
			for ch := 0; ch < 3; ch++ {
				dst.Pix[q+ch] = uint8(math.Min(math.Max(acc[ch]/k+0.5, 0), 255))
			}
		}
	}
	return float64(in) / float64(dst.W*dst.H)
}

func bilinear(src *imgproc.RGB, x, y float64) [3]float64 {
	x = math.Min(math.Max(x, 0), float64(src.W-1))
	y = math.Min(math.Max(y, 0), float64(src.H-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, src.W-1), min(y0+1, src.H-1)
	fx, fy := x-float64(x0), y-float64(y0)
	var out [3]float64
	for c := 0; c < 3; c++ {
		p00 := float64(src.Pix[(y0*src.W+x0)*3+c])
		p01 := float64(src.Pix[(y0*src.W+x1)*3+c])
		p10 := float64(src.Pix[(y1*src.W+x0)*3+c])
		p11 := float64(src.Pix[(y1*src.W+x1)*3+c])
		out[c] = (p00*(1-fx)+p01*fx)*(1-fy) + (p10*(1-fx)+p11*fx)*fy
	}
	return out
}

func encodeJPEG(w *bytes.Buffer, m *imgproc.RGB) error {
	rgba := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
	for i, j := 0, 0; i < m.W*m.H*3; i, j = i+3, j+4 {
		rgba.Pix[j], rgba.Pix[j+1], rgba.Pix[j+2], rgba.Pix[j+3] = m.Pix[i], m.Pix[i+1], m.Pix[i+2], 255
	}
	if err := jpeg.Encode(w, rgba, &jpeg.Options{Quality: JPEGQuality}); err != nil {
		return fmt.Errorf("icao: encode JPEG: %w", err)
	}
	return nil
}

// faceStats returns the variance of the Laplacian of the luma and the mean
// luma inside the mesh's bounding box (eyes to chin).
func faceStats(img *imgproc.RGB, l *face.Landmarks) (sharp, bright float64) {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range l.Points {
		x0, y0 = math.Min(x0, float64(p[0])), math.Min(y0, float64(p[1]))
		x1, y1 = math.Max(x1, float64(p[0])), math.Max(y1, float64(p[1]))
	}
	ix0, iy0 := max(int(x0), 1), max(int(y0), 1)
	ix1, iy1 := min(int(x1), img.W-2), min(int(y1), img.H-2)
	luma := func(x, y int) float64 {
		q := (y*img.W + x) * 3
		return 0.299*float64(img.Pix[q]) + 0.587*float64(img.Pix[q+1]) + 0.114*float64(img.Pix[q+2])
	}
	var n, sum, sum2, lsum float64
	for y := iy0; y <= iy1; y++ {
		for x := ix0; x <= ix1; x++ {
			c := luma(x, y)
			lap := luma(x-1, y) + luma(x+1, y) + luma(x, y-1) + luma(x, y+1) - 4*c
			sum += lap
			sum2 += lap * lap
			lsum += c
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	mean := sum / n
	return sum2/n - mean*mean, lsum / n
}

func req(name string, met bool, value float64, want, why string) Requirement {
	r := Requirement{Name: name, Met: met, Value: math.Round(value*100) / 100, Want: want}
	if !met {
		r.Why = why
	}
	return r
}

func report(m face.Measures, g Geometry, scale, inside, sharp, bright float64) Report {
	ear := (m.LeftEye + m.RightEye) / 2
	outEye := g.EyeDist * scale
	eyeFromBottom := (Height - EyeLineY) / Height
	rs := []Requirement{
		req("yaw", math.Abs(m.Yaw) <= MaxYaw, m.Yaw, fmt.Sprintf("|yaw| ≤ %g°", MaxYaw), "head turned sideways"),
		req("pitch", math.Abs(m.Pitch) <= MaxPitch, m.Pitch, fmt.Sprintf("|pitch| ≤ %g°", MaxPitch), "head tilted up or down"),
		req("roll", math.Abs(g.RollDeg) <= MaxRoll, g.RollDeg, fmt.Sprintf("|roll| ≤ %g° before correction", MaxRoll), "head leaning sideways (corrected in the photo, but too far for a natural pose)"),
		req("eyes_open", ear >= MinEyeOpen, ear, fmt.Sprintf("eye aspect ratio ≥ %g", MinEyeOpen), "eyes closed or half closed"),
		req("mouth_closed", m.MouthOpen <= MaxMouthOpen, m.MouthOpen, fmt.Sprintf("lip gap ≤ %g of mouth width", MaxMouthOpen), "mouth open"),
		req("sharp", sharp >= MinSharpness, sharp, fmt.Sprintf("Laplacian variance ≥ %g", MinSharpness), "face blurred (motion or focus)"),
		req("exposure", bright >= MinBrightness && bright <= MaxBrightness, bright, fmt.Sprintf("mean face luma %g–%g", MinBrightness, MaxBrightness), "face too dark or too bright"),
		req("chin_to_crown", true, ChinToCrown*100, fmt.Sprintf("%g–%g %% of the height", MinChinCrown*100, MaxChinCrown*100), ""),
		req("eye_line", eyeFromBottom >= MinEyeLine && eyeFromBottom <= MaxEyeLine, eyeFromBottom*100, fmt.Sprintf("%g–%g %% of the height from the bottom", MinEyeLine*100, MaxEyeLine*100), ""),
		req("eye_distance", outEye >= MinEyeDist, outEye, fmt.Sprintf("≥ %g px between eye centres", MinEyeDist), "face too narrow for the head size"),
		req("source_resolution", g.EyeDist >= MinEyeDist, g.EyeDist, fmt.Sprintf("≥ %g px between eye centres in the source", MinEyeDist),
			fmt.Sprintf("source enlarged ×%.2f: the camera frame has fewer pixels than the photo needs", scale)),
		req("in_frame", inside >= 0.999, inside*100, "100 % of the photo inside the source frame",
			"the head is too near the frame's edge: edge pixels were repeated"),
	}
	ok := true
	for _, r := range rs {
		ok = ok && r.Met
	}
	return Report{Requirements: rs, Compliant: ok}
}
