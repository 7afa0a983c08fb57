package corpus

import (
	"context"
	"fmt"
	"math"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

// Measure is what the face models see in one frame of a clip.
type Measure struct {
	OK       bool    `json:"ok"`
	EAR      float64 `json:"ear"`
	Yaw      float64 `json:"yaw"`
	Pitch    float64 `json:"pitch"`
	Smile    float64 `json:"smile"`
	MouthW   float64 `json:"mouth_width"`
	IOD      float64 `json:"iod"`
	CX, CY   float64
	Presence float32 `json:"presence"`
}

// Annotator measures clip frames with the detector and the face mesh.
type Annotator struct {
	det *face.Detector
	lm  *face.Landmarker
	img imgproc.RGB
	out face.Landmarks
}

// NewAnnotator loads the detector and the landmarker from the model cache.
func NewAnnotator() (*Annotator, error) {
	d, err := face.NewDetector(face.DetectorOptions{})
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	l, err := face.NewLandmarker(face.LandmarkerOptions{})
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("corpus: %w", err)
	}
	return &Annotator{det: d, lm: l}, nil
}

// Close releases the models.
func (a *Annotator) Close() error {
	return errorsJoin(a.det.Close(), a.lm.Close())
}

// Annotate measures frames [from, to) of c.
func (a *Annotator) Annotate(ctx context.Context, c *Clip, from, to int) ([]Measure, error) {
	to = min(to, len(c.Frames))
	out := make([]Measure, 0, max(to-from, 0))
	for i := from; i < to; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := c.Frame(i, &a.img)
		if err != nil {
			return nil, err
		}
		m, err := a.measure(img)
		if err != nil {
			return nil, fmt.Errorf("corpus: %s frame %d: %w", c.Name, i, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func (a *Annotator) measure(img *imgproc.RGB) (Measure, error) {
	faces, err := a.det.Detect(img)
	if err != nil || len(faces) == 0 {
		return Measure{}, err
	}
	if err := a.lm.Detect(img, faces[0], &a.out); err != nil {
		return Measure{}, err
	}
	ms := face.Measure(&a.out)
	p := a.out.Points
	iod := math.Hypot(float64(p[face.MeshLeftEyeOuter][0]-p[face.MeshRightEyeOuter][0]), float64(p[face.MeshLeftEyeOuter][1]-p[face.MeshRightEyeOuter][1]))
	return Measure{OK: a.out.Presence > 0.5, EAR: (ms.LeftEye + ms.RightEye) / 2, Yaw: ms.Yaw, Pitch: ms.Pitch,
		Smile: ms.Smile, MouthW: ms.MouthWidth, IOD: iod,
		CX: float64(p[face.MeshNoseTip][0]), CY: float64(p[face.MeshNoseTip][1]), Presence: a.out.Presence}, nil
}
