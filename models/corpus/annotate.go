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

// FaceOval lists the face mesh's silhouette points (MediaPipe's face oval),
// in order around the face from the forehead, through the subject's left
// cheek (image right), the chin and back.
var FaceOval = []int{10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109}

// FaceShape is where a face is in an image: the detector's box and the face
// mesh's outline.
type FaceShape struct {
	// Box is the detector's box: x, y, w, h.
	Box [4]float64
	// Outline is the face oval (FaceOval's points).
	Outline [][2]float64
	// CX, CY is the outline's centre.
	CX, CY float64
	// Width is cheek to cheek and Height forehead to chin (outline extents
	// along and across the face's roll).
	Width, Height float64
	// Roll is the face's in-plane rotation in radians (clockwise on screen).
	Roll float64
	// Presence is the mesh's face-presence probability.
	Presence float32
	// Eyes are the eyes' centres (the midpoint of each eye's corners), the
	// subject's right eye (image left) first, and EyeW each eye's width
	// (corner to corner).
	Eyes [2][2]float64
	EyeW [2]float64
	// Mouth is the midpoint of the mouth corners and MouthW their distance.
	Mouth  [2]float64
	MouthW float64
}

// Shapes finds up to limit faces in img (best first) with their outlines;
// faces whose mesh presence is below 0.5 are left out.
func (a *Annotator) Shapes(img *imgproc.RGB, limit int) ([]FaceShape, error) {
	faces, err := a.det.Detect(img)
	if err != nil {
		return nil, fmt.Errorf("corpus: detect: %w", err)
	}
	faces = append([]face.Face(nil), faces...)
	var out []FaceShape
	for i := 0; i < len(faces) && len(out) < limit; i++ {
		if err := a.lm.Detect(img, faces[i], &a.out); err != nil {
			return nil, fmt.Errorf("corpus: landmarks: %w", err)
		}
		if a.out.Presence < 0.5 {
			continue
		}
		s := shapeOf(&a.out)
		b := faces[i].Box
		s.Box = [4]float64{float64(b[0]), float64(b[1]), float64(b[2]), float64(b[3])}
		out = append(out, s)
	}
	return out, nil
}

// Boxes returns the detector's face boxes (x, y, w, h) in img, best first.
func (a *Annotator) Boxes(img *imgproc.RGB) ([][4]float64, error) {
	faces, err := a.det.Detect(img)
	if err != nil {
		return nil, fmt.Errorf("corpus: detect: %w", err)
	}
	out := make([][4]float64, len(faces))
	for i, f := range faces {
		out[i] = [4]float64{float64(f.Box[0]), float64(f.Box[1]), float64(f.Box[2]), float64(f.Box[3])}
	}
	return out, nil
}

func shapeOf(l *face.Landmarks) FaceShape {
	p := l.Points
	s := FaceShape{Presence: l.Presence}
	for _, k := range FaceOval {
		s.Outline = append(s.Outline, [2]float64{float64(p[k][0]), float64(p[k][1])})
		s.CX += float64(p[k][0])
		s.CY += float64(p[k][1])
	}
	s.CX /= float64(len(FaceOval))
	s.CY /= float64(len(FaceOval))
	mid := func(a, b int) ([2]float64, float64) {
		ax, ay, bx, by := float64(p[a][0]), float64(p[a][1]), float64(p[b][0]), float64(p[b][1])
		return [2]float64{(ax + bx) / 2, (ay + by) / 2}, math.Hypot(bx-ax, by-ay)
	}
	s.Eyes[0], s.EyeW[0] = mid(face.MeshRightEyeOuter, face.MeshRightEyeInner)
	s.Eyes[1], s.EyeW[1] = mid(face.MeshLeftEyeInner, face.MeshLeftEyeOuter)
	s.Mouth, s.MouthW = mid(face.MeshMouthRight, face.MeshMouthLeft)
	// Roll from the eye line (subject's right eye is on the image's left).
	ex := float64(p[face.MeshLeftEyeOuter][0] - p[face.MeshRightEyeOuter][0])
	ey := float64(p[face.MeshLeftEyeOuter][1] - p[face.MeshRightEyeOuter][1])
	s.Roll = math.Atan2(ey, ex)
	c, sn := math.Cos(s.Roll), math.Sin(s.Roll)
	var lo, hi [2]float64
	for i, q := range s.Outline {
		dx, dy := q[0]-s.CX, q[1]-s.CY
		u, v := dx*c+dy*sn, -dx*sn+dy*c
		if i == 0 || u < lo[0] {
			lo[0] = u
		}
		if i == 0 || u > hi[0] {
			hi[0] = u
		}
		if i == 0 || v < lo[1] {
			lo[1] = v
		}
		if i == 0 || v > hi[1] {
			hi[1] = v
		}
	}
	s.Width, s.Height = hi[0]-lo[0], hi[1]-lo[1]
	return s
}
