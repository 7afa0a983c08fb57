package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"

	"github.com/spf13/cobra"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

func landmarksCmd(g *globals) *cobra.Command {
	var rng, draw string
	var crop bool
	c := &cobra.Command{
		Use:   "landmarks IMAGE",
		Short: "468-point face mesh, head pose and eye/mouth measures for each face",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := parseRange(rng)
			if err != nil {
				return err
			}
			img, err := loadImage(args[0])
			if err != nil {
				return err
			}
			d, err := face.NewDetector(face.DetectorOptions{Range: r, ORT: g.ortOptions()})
			if err != nil {
				return err
			}
			defer d.Close()
			l, err := face.NewLandmarker(face.LandmarkerOptions{ORT: g.ortOptions()})
			if err != nil {
				return err
			}
			defer l.Close()
			faces, err := d.Detect(img)
			if err != nil {
				return err
			}
			faces = append([]face.Face(nil), faces...)
			meshes := make([]face.Landmarks, len(faces))
			out := struct {
				Faces []faceJSON `json:"faces"`
			}{Faces: []faceJSON{}}
			for i, f := range faces {
				if err := l.Detect(img, f, &meshes[i]); err != nil {
					return err
				}
				j := toFaceJSON(f)
				m := face.Measure(&meshes[i])
				j.Measures = &m
				j.Mesh = &meshJSON{Presence: meshes[i].Presence}
				for _, p := range meshes[i].Points {
					j.Mesh.Points = append(j.Mesh.Points, [3]float32{round1(p[0]), round1(p[1]), round1(p[2])})
				}
				out.Faces = append(out.Faces, j)
			}
			if draw != "" {
				if err := drawPNG(draw, img, faces, meshes, crop); err != nil {
					return err
				}
			}
			if g.json {
				return g.printJSON(out)
			}
			fmt.Fprintf(g.out, "%s: %dx%d, %d face(s)\n", args[0], img.W, img.H, len(faces))
			for i, f := range out.Faces {
				m := f.Measures
				fmt.Fprintf(g.out, "  #%d score %.3f presence %.3f box %v\n", i, f.Score, f.Mesh.Presence, f.Box)
				fmt.Fprintf(g.out, "     yaw %.1f° pitch %.1f° roll %.1f°  eyes R %.3f L %.3f  mouth open %.3f width %.3f smile %.3f\n",
					m.Yaw, m.Pitch, m.Roll, m.RightEye, m.LeftEye, m.MouthOpen, m.MouthWidth, m.Smile)
			}
			if draw != "" {
				fmt.Fprintf(g.out, "drawing written to %s\n", draw)
			}
			return nil
		},
	}
	c.Flags().StringVar(&rng, "range", "short", "BlazeFace model: short or full")
	c.Flags().StringVar(&draw, "draw", "", "write a PNG with boxes, keypoints and the mesh drawn")
	c.Flags().BoolVar(&crop, "crop", false, "with --draw: crop the drawing to the faces")
	return c
}

// drawPNG draws boxes (yellow), detector keypoints (red) and mesh points
// (green) onto a copy of img.
func drawPNG(path string, img *imgproc.RGB, faces []face.Face, meshes []face.Landmarks, crop bool) error {
	canvas := img.ToImage()
	dot := func(x, y float32, r int, c color.RGBA) {
		cx, cy := int(math.Round(float64(x))), int(math.Round(float64(y)))
		for dy := -r; dy <= r; dy++ {
			for dx := -r; dx <= r; dx++ {
				if dx*dx+dy*dy <= r*r {
					canvas.SetRGBA(cx+dx, cy+dy, c)
				}
			}
		}
	}
	yellow := color.RGBA{255, 220, 0, 255}
	bounds := image.Rectangle{}
	for i, f := range faces {
		x0, y0 := int(f.Box[0]), int(f.Box[1])
		x1, y1 := int(f.Box[0]+f.Box[2]), int(f.Box[1]+f.Box[3])
		for x := x0; x <= x1; x++ {
			canvas.SetRGBA(x, y0, yellow)
			canvas.SetRGBA(x, y1, yellow)
		}
		for y := y0; y <= y1; y++ {
			canvas.SetRGBA(x0, y, yellow)
			canvas.SetRGBA(x1, y, yellow)
		}
		for _, p := range meshes[i].Points {
			dot(p[0], p[1], 0, color.RGBA{0, 255, 80, 255})
		}
		for _, k := range f.Keypoints {
			dot(k[0], k[1], 2, color.RGBA{255, 30, 30, 255})
		}
		m := int(f.Box[2] * 0.35)
		bounds = bounds.Union(image.Rect(x0-m, y0-m, x1+m, y1+m))
	}
	var out image.Image = canvas
	if crop && len(faces) > 0 {
		out = canvas.SubImage(bounds.Intersect(canvas.Bounds()))
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write drawing: %w", err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, out); err != nil {
		f.Close()
		return fmt.Errorf("encode drawing %s: %w", path, err)
	}
	return f.Close()
}
