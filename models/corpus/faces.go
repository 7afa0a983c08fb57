package corpus

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
)

// faceService shares one Annotator between the render workers (the models
// are not safe for concurrent use) and caches decoded photos and the faces
// found in them.
type faceService struct {
	mu     sync.Mutex
	a      *Annotator
	photos map[string]*imgproc.RGB
	shapes map[string][]FaceShape
}

func newFaceService(a *Annotator) *faceService {
	return &faceService{a: a, photos: map[string]*imgproc.RGB{}, shapes: map[string][]FaceShape{}}
}

// Close releases the models.
func (f *faceService) Close() error { return f.a.Close() }

func (f *faceService) annotate(ctx context.Context, c *Clip, from, to int) ([]Measure, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.a.Annotate(ctx, c, from, to)
}

// shapesOf finds up to limit faces with their outlines in img.
func (f *faceService) shapesOf(img *imgproc.RGB, limit int) ([]FaceShape, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.a.Shapes(img, limit)
}

// boxesOf finds the detector's face boxes in img.
func (f *faceService) boxesOf(img *imgproc.RGB) ([][4]float64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.a.Boxes(img)
}

// photo decodes a media photo at its own resolution once. The returned
// image is shared: do not modify it.
func (f *faceService) photo(rel string) (*imgproc.RGB, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.photos[rel]; ok {
		return m, nil
	}
	p, err := assets.Media(rel)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	m, err := imgproc.DecodeFile(p)
	if err != nil {
		return nil, fmt.Errorf("corpus: %s: %w", rel, err)
	}
	f.photos[rel] = m
	return m, nil
}

// photoShapes returns a media photo and the faces in it (up to 8, cached).
func (f *faceService) photoShapes(rel string) (*imgproc.RGB, []FaceShape, error) {
	m, err := f.photo(rel)
	if err != nil {
		return nil, nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.shapes[rel]; ok {
		return m, s, nil
	}
	s, err := f.a.Shapes(m, 8)
	if err != nil {
		return nil, nil, fmt.Errorf("corpus: %s: %w", rel, err)
	}
	f.shapes[rel] = s
	return m, s, nil
}

// faceMedia are the photos of the media cache beyond the generator's
// stills: aligned face crops of five people and group photos.
type faceMedia struct {
	// Crops are dlib's "johns" 150×150 face crops.
	Crops []string
	// Groups are group photos with several faces each (face-api's samples).
	Groups []string
	// Portraits are other single-face photos (pigo's sample).
	Portraits []string
	// Busy are photos with textured, sharp regions away from their people
	// (the group photos, skimage's astronaut and cameraman).
	Busy []string
}

// findFaceMedia lists the face photos present in the media cache.
func findFaceMedia() faceMedia {
	glob := func(pattern string) []string {
		m, _ := filepath.Glob(filepath.Join(assets.CacheDir(), "media", pattern))
		sort.Strings(m)
		root := filepath.Join(assets.CacheDir(), "media") + string(filepath.Separator)
		for i := range m {
			m[i] = strings.TrimPrefix(m[i], root)
		}
		return m
	}
	m := faceMedia{Crops: glob("johns/*/*.jpg"), Groups: glob("face-api/sample*.jpg"), Portraits: glob("pigo/sample.jpg")}
	m.Busy = append(append(m.Busy, m.Groups...), glob("skimage/[ac][sa]*.png")...)
	return m
}

// pickFaceSource picks the photo a cut-out is made from: a clip frame, one
// of the stills, a face crop or a group photo (its face chosen at render).
func (g *generator) pickFaceSource(rng *rand.Rand) string {
	pools := [][]string{g.stills, g.media.Crops, g.media.Groups, g.media.Portraits}
	k := rng.IntN(5)
	if k < len(pools) && len(pools[k]) > 0 {
		return pools[k][rng.IntN(len(pools[k]))]
	}
	c := g.clips[rng.IntN(len(g.clips))]
	return fmt.Sprintf("%s#%d", c.Name, rng.IntN(len(c.Frames)))
}

// sourceFace returns the image of src (a clip frame or a photo at its own
// resolution) and one face in it: the best one, or for a photo with several
// faces one drawn by rng. ok is false when no face is found.
func (g *generator) sourceFace(src string, rng *rand.Rand) (img *imgproc.RGB, s FaceShape, index int, ok bool, err error) {
	if c, idx, isClip := g.clipFrameRef(src); isClip {
		img, err = c.Frame(idx, nil)
		if err != nil {
			return nil, s, 0, false, err
		}
		shapes, err := g.faces.shapesOf(img, 1)
		if err != nil || len(shapes) == 0 {
			return img, s, 0, false, err
		}
		return img, shapes[0], 0, true, nil
	}
	img, shapes, err := g.faces.photoShapes(src)
	if err != nil || len(shapes) == 0 {
		return img, s, 0, false, err
	}
	index = rng.IntN(len(shapes))
	return img, shapes[index], index, true, nil
}

// clipFrameRef parses a "clip#frame" source.
func (g *generator) clipFrameRef(src string) (*Clip, int, bool) {
	for _, c := range g.clips {
		var idx int
		if n, _ := fmt.Sscanf(src, c.Name+"#%d", &idx); n == 1 && idx >= 0 && idx < len(c.Frames) {
			return c, idx, true
		}
	}
	return nil, 0, false
}
