package face

import "math"

// Mesh indices used by the measures (MediaPipe face mesh topology; right and
// left are the subject's).
const (
	MeshRightEyeOuter = 33
	MeshRightEyeInner = 133
	MeshLeftEyeOuter  = 263
	MeshLeftEyeInner  = 362
	MeshNoseTip       = 1
	MeshForehead      = 10
	MeshChin          = 152
	MeshMouthRight    = 61
	MeshMouthLeft     = 291
	MeshUpperLipIn    = 13
	MeshLowerLipIn    = 14
)

// Measures are head pose and expression measures computed from a mesh.
type Measures struct {
	// Yaw is positive when the face turns towards the image's right, Pitch
	// positive when it tilts up, Roll positive when the head leans clockwise
	// on screen (the subject's left eye lower). Degrees.
	Yaw, Pitch, Roll float64
	// RightEye and LeftEye are eye aspect ratios: lid gap over eye width.
	// With this mesh about 0.27–0.31 open and 0.17–0.19 closed (it never
	// closes the lids fully): compare with the subject's own open-eye level.
	RightEye, LeftEye float64
	// MouthOpen is the inner-lip gap over mouth width (0 closed).
	MouthOpen float64
	// MouthWidth is mouth width over the outer eye-corner distance; it grows
	// with a smile.
	MouthWidth float64
	// Smile is how far the mouth corners sit above the lip centre, over the
	// eye-corner distance, measured along the face's vertical axis (positive
	// when the corners are raised).
	Smile float64
}

type vec3 [3]float64

func pt(l *Landmarks, i int) vec3 {
	p := l.Points[i]
	return vec3{float64(p[0]), float64(p[1]), float64(p[2])}
}
func (a vec3) sub(b vec3) vec3      { return vec3{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func (a vec3) add(b vec3) vec3      { return vec3{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func (a vec3) scale(s float64) vec3 { return vec3{a[0] * s, a[1] * s, a[2] * s} }
func (a vec3) dot(b vec3) float64   { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func (a vec3) norm() float64        { return math.Sqrt(a.dot(a)) }
func (a vec3) unit() vec3           { return a.scale(1 / a.norm()) }
func (a vec3) cross(b vec3) vec3 {
	return vec3{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}

// dist2 is the distance in the image plane.
func dist2(a, b vec3) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }

// Measure computes pose and expression measures.
//
// Head pose is geometric: the face's x axis runs from the right to the left
// outer eye corner, its y axis from forehead (10) to chin (152) made
// orthogonal to x, and z = x × y; both use the mesh's 3-D points (z on the
// scale of x). The forward direction −z gives yaw and pitch, the x axis in
// the image plane gives roll. It needs no camera model, is exact under
// mirroring (yaw and roll change sign) and in-plane rotation (roll shifts by
// the angle), and is accurate to a few degrees for moderate turns.
func Measure(l *Landmarks) Measures {
	re, le := pt(l, MeshRightEyeOuter), pt(l, MeshLeftEyeOuter)
	x := le.sub(re).unit()
	yr := pt(l, MeshChin).sub(pt(l, MeshForehead))
	y := yr.sub(x.scale(yr.dot(x))).unit()
	z := x.cross(y)
	f := z.scale(-1) // towards the camera for a frontal face
	var m Measures
	m.Yaw = deg(math.Atan2(f[0], -f[2]))
	m.Pitch = deg(math.Atan2(-f[1], math.Hypot(f[0], f[2])))
	m.Roll = deg(math.Atan2(x[1], x[0]))

	ear := func(outer, inner, u1, l1, u2, l2 int) float64 {
		w := dist2(pt(l, outer), pt(l, inner))
		if w == 0 {
			return 0
		}
		return (dist2(pt(l, u1), pt(l, l1)) + dist2(pt(l, u2), pt(l, l2))) / (2 * w)
	}
	m.RightEye = ear(33, 133, 160, 144, 158, 153)
	m.LeftEye = ear(263, 362, 387, 373, 385, 380)

	eyes := dist2(re, le)
	mr, ml := pt(l, MeshMouthRight), pt(l, MeshMouthLeft)
	mw := dist2(mr, ml)
	if mw > 0 {
		m.MouthOpen = dist2(pt(l, MeshUpperLipIn), pt(l, MeshLowerLipIn)) / mw
	}
	if eyes > 0 {
		m.MouthWidth = mw / eyes
		centre := pt(l, MeshUpperLipIn).add(pt(l, MeshLowerLipIn)).scale(0.5)
		corners := mr.add(ml).scale(0.5)
		m.Smile = centre.sub(corners).dot(y) / eyes
	}
	return m
}

func deg(r float64) float64 { return r * 180 / math.Pi }
