package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

func compareCmd(g *globals) *cobra.Command {
	var threshold float32
	c := &cobra.Command{
		Use:   "compare A B",
		Short: "Cosine similarity of the best face in two images (MobileFaceNet, mesh-aligned crops)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var imgs [2]*imgproc.RGB
			var err error
			for i, p := range args {
				if imgs[i], err = loadImage(p); err != nil {
					return err
				}
			}
			d, err := face.NewDetector(face.DetectorOptions{ORT: g.ortOptions()})
			if err != nil {
				return err
			}
			defer d.Close()
			l, err := face.NewLandmarker(face.LandmarkerOptions{ORT: g.ortOptions()})
			if err != nil {
				return err
			}
			defer l.Close()
			e, err := face.NewEmbedder(face.EmbedderOptions{ORT: g.ortOptions()})
			if err != nil {
				return err
			}
			defer e.Close()
			var align [2]imgproc.Affine
			for i, p := range args {
				faces, err := d.Detect(imgs[i])
				if err != nil {
					return err
				}
				if len(faces) == 0 {
					return fmt.Errorf("%s: no face found", p)
				}
				var m face.Landmarks
				if err := l.Detect(imgs[i], faces[0], &m); err != nil {
					return err
				}
				align[i] = face.AlignLandmarks(&m)
			}
			a, b := make([]float32, face.EmbeddingSize), make([]float32, face.EmbeddingSize)
			if err := e.EmbedPair(imgs[0], align[0], imgs[1], align[1], a, b); err != nil {
				return err
			}
			sim := face.Cosine(a, b)
			res := struct {
				Similarity float32 `json:"similarity"`
				Match      bool    `json:"match"`
				Threshold  float32 `json:"threshold"`
			}{sim, sim >= threshold, threshold}
			if g.json {
				return g.printJSON(res)
			}
			verdict := "different people"
			if res.Match {
				verdict = "same person"
			}
			fmt.Fprintf(g.out, "similarity %.3f (threshold %.2f): %s\n", sim, threshold, verdict)
			return nil
		},
	}
	c.Flags().Float32Var(&threshold, "threshold", face.DefaultMatchThreshold, "cosine similarity at or above which the faces match")
	return c
}
