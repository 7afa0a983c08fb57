package face

import (
	"fmt"
	"math"
	"os"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/ort"
)

// NumLandmarks is the size of the MediaPipe face mesh.
const NumLandmarks = 468

// LandmarkModel is the converted face mesh model's file name.
const LandmarkModel = "face_landmark.onnx"

// ROI is a rotated square region of the source image, in pixels.
type ROI struct {
	CX, CY float64 // centre
	Size   float64 // side length
	Angle  float64 // radians, clockwise on screen
}

// ROIFromFace is MediaPipe's face_landmark_front rect: the detection box
// centre, turned so the eye line (keypoints 0→1) is horizontal, the longer box
// side scaled by 1.5.
func ROIFromFace(f Face) ROI {
	re, le := f.Keypoints[KeyRightEye], f.Keypoints[KeyLeftEye]
	angle := -math.Atan2(-float64(le[1]-re[1]), float64(le[0]-re[0]))
	side := math.Max(float64(f.Box[2]), float64(f.Box[3])) * 1.5
	return ROI{CX: float64(f.Box[0] + f.Box[2]/2), CY: float64(f.Box[1] + f.Box[3]/2), Size: side, Angle: normAngle(angle)}
}

// ROIFromLandmarks is MediaPipe's tracking rect for the next frame: the
// bounding box of the mesh in the eye-aligned frame (eye corners 33→263),
// scaled by 1.5.
func ROIFromLandmarks(l *Landmarks) ROI {
	a, b := l.Points[33], l.Points[263]
	angle := math.Atan2(float64(b[1]-a[1]), float64(b[0]-a[0]))
	c, s := math.Cos(-angle), math.Sin(-angle)
	minU, minV := math.Inf(1), math.Inf(1)
	maxU, maxV := math.Inf(-1), math.Inf(-1)
	for _, p := range l.Points {
		u := c*float64(p[0]) - s*float64(p[1])
		v := s*float64(p[0]) + c*float64(p[1])
		minU, maxU = math.Min(minU, u), math.Max(maxU, u)
		minV, maxV = math.Min(minV, v), math.Max(maxV, v)
	}
	cu, cv := (minU+maxU)/2, (minV+maxV)/2
	c2, s2 := math.Cos(angle), math.Sin(angle)
	return ROI{CX: c2*cu - s2*cv, CY: s2*cu + c2*cv, Size: math.Max(maxU-minU, maxV-minV) * 1.5, Angle: angle}
}

func normAngle(a float64) float64 {
	return a - 2*math.Pi*math.Floor((a+math.Pi)/(2*math.Pi))
}

// Landmarks is the face mesh of one face.
type Landmarks struct {
	// Points are x, y in source pixels and z (depth, same scale as x; smaller
	// is nearer the camera, 0 near the head centre).
	Points [NumLandmarks][3]float32
	// Presence is the model's face-presence probability (sigmoid of its face
	// flag output).
	Presence float32
	// ROI is the crop the mesh was computed on.
	ROI ROI
}

// LandmarkerOptions configures a Landmarker.
type LandmarkerOptions struct {
	// Model is the ONNX file. Optional. Default: face_landmark.onnx in the
	// model cache.
	Model string
	// ORT configures the runtime. Optional.
	ORT ort.Options
}

// Landmarker runs the 468-point face mesh on an eye-aligned crop. Not safe
// for concurrent use.
type Landmarker struct {
	m             session
	size          int
	meshOut, flag int
	sampler       imgproc.Sampler
}

// NewLandmarker loads the face mesh model.
func NewLandmarker(opts LandmarkerOptions) (*Landmarker, error) {
	p, err := modelPath(opts.Model, LandmarkModel)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(p); err != nil {
		return nil, fmt.Errorf("face: landmark model: %w (run `make setup`)", err)
	}
	m, ins, outs, err := loadModel(p, opts.ORT)
	if err != nil {
		return nil, err
	}
	l := &Landmarker{m: m, meshOut: -1, flag: -1}
	if len(ins) != 1 || len(ins[0].Shape) != 4 || ins[0].Shape[1] != ins[0].Shape[2] || ins[0].Shape[3] != 3 {
		m.Close()
		return nil, fmt.Errorf("face: landmark model %s: want one NHWC square RGB input, have %v", p, ins)
	}
	l.size = int(ins[0].Shape[1])
	for i, o := range outs {
		switch numel(o.Shape) {
		case NumLandmarks * 3:
			l.meshOut = i
		case 1:
			l.flag = i
		}
	}
	if l.meshOut < 0 || l.flag < 0 {
		m.Close()
		return nil, fmt.Errorf("face: landmark model %s: want outputs of 1404 and 1 values, have %v", p, outs)
	}
	return l, nil
}

// Close releases the session.
func (l *Landmarker) Close() error { return l.m.Close() }

// InputSize is the model's square input side (192).
func (l *Landmarker) InputSize() int { return l.size }

// Detect computes the mesh of the face found by the detector into out.
func (l *Landmarker) Detect(img *imgproc.RGB, f Face, out *Landmarks) error {
	return l.DetectROI(img, ROIFromFace(f), out)
}

// DetectROI computes the mesh on the given region into out.
func (l *Landmarker) DetectROI(img *imgproc.RGB, r ROI, out *Landmarks) error {
	if img == nil || img.W <= 0 || img.H <= 0 {
		return ErrNoImage
	}
	a := l.Prepare(img, r)
	if err := l.m.Run(); err != nil {
		return fmt.Errorf("face: run landmarker: %w", err)
	}
	l.Decode(a, r, out)
	return nil
}

// Prepare writes the crop into the model input (RGB in [0,1]) and returns
// the tensor→image mapping.
func (l *Landmarker) Prepare(img *imgproc.RGB, r ROI) imgproc.Affine {
	a := imgproc.RotatedRect(r.CX, r.CY, r.Size, r.Size, r.Angle, l.size, l.size)
	l.sampler.Warp(l.m.Input(0), l.size, l.size, img, a, imgproc.NormUnit)
	return a
}

// RunModel runs the session on the prepared input.
func (l *Landmarker) RunModel() error { return l.m.Run() }

// Decode maps the model output back to source pixels.
func (l *Landmarker) Decode(a imgproc.Affine, r ROI, out *Landmarks) {
	mesh := l.m.Output(l.meshOut)
	zs := float32(a.Scale())
	for i := range out.Points {
		x, y := a.Apply(float64(mesh[i*3]), float64(mesh[i*3+1]))
		out.Points[i] = [3]float32{float32(x), float32(y), mesh[i*3+2] * zs}
	}
	out.Presence = sigmoid(l.m.Output(l.flag)[0])
	out.ROI = r
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
