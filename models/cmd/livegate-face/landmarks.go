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
// (green; meshes may be nil) onto a copy of img. With crop the drawing shows only the faces,
// resampled to about 480 px wide so the mesh stays legible.
func drawPNG(path string, img *imgproc.RGB, faces []face.Face, meshes []face.Landmarks, crop bool) error {
	// Source region drawn and its scale.
	x0, y0, x1, y1 := 0.0, 0.0, float64(img.W), float64(img.H)
	if crop && len(faces) > 0 {
		x0, y0, x1, y1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, f := range faces {
			m := float64(f.Box[2]) * 0.3
			x0 = math.Min(x0, float64(f.Box[0])-m)
			y0 = math.Min(y0, float64(f.Box[1])-m)
			x1 = math.Max(x1, float64(f.Box[0]+f.Box[2])+m)
			y1 = math.Max(y1, float64(f.Box[1]+f.Box[3])+m)
		}
		x0, y0 = math.Max(0, x0), math.Max(0, y0)
		x1, y1 = math.Min(float64(img.W), x1), math.Min(float64(img.H), y1)
	}
	k := 1.0
	if crop {
		k = 480 / (x1 - x0)
	}
	cw, ch := int(math.Round((x1-x0)*k)), int(math.Round((y1-y0)*k))
	var s imgproc.Sampler
	buf := make([]float32, cw*ch*3)
	s.Warp(buf, cw, ch, img, imgproc.Affine{A: 1 / k, C: x0, E: 1 / k, F: y0}, imgproc.Norm{Scale: 1})
	canvas := image.NewRGBA(image.Rect(0, 0, cw, ch))
	for i, j := 0, 0; i < len(buf); i, j = i+3, j+4 {
		for c := 0; c < 3; c++ {
			canvas.Pix[j+c] = uint8(math.Max(0, math.Min(255, math.Round(float64(buf[i+c])))))
		}
		canvas.Pix[j+3] = 255
	}
	at := func(x, y float32) (int, int) {
		return int(math.Round((float64(x) - x0) * k)), int(math.Round((float64(y) - y0) * k))
	}
	r := max(1, int(k*0.6))
	dot := func(x, y float32, r int, c color.RGBA) {
		cx, cy := at(x, y)
		for dy := -r; dy <= r; dy++ {
			for dx := -r; dx <= r; dx++ {
				if dx*dx+dy*dy <= r*r {
					canvas.SetRGBA(cx+dx, cy+dy, c)
				}
			}
		}
	}
	yellow := color.RGBA{255, 220, 0, 255}
	for i, f := range faces {
		bx0, by0 := at(f.Box[0], f.Box[1])
		bx1, by1 := at(f.Box[0]+f.Box[2], f.Box[1]+f.Box[3])
		for x := bx0; x <= bx1; x++ {
			canvas.SetRGBA(x, by0, yellow)
			canvas.SetRGBA(x, by1, yellow)
		}
		for y := by0; y <= by1; y++ {
			canvas.SetRGBA(bx0, y, yellow)
			canvas.SetRGBA(bx1, y, yellow)
		}
		if i < len(meshes) {
			for _, p := range meshes[i].Points {
				dot(p[0], p[1], r, color.RGBA{0, 255, 80, 255})
			}
		}
		for _, kp := range f.Keypoints {
			dot(kp[0], kp[1], r+3, color.RGBA{255, 30, 30, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write drawing: %w", err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, canvas); err != nil {
		f.Close()
		return fmt.Errorf("encode drawing %s: %w", path, err)
	}
	return f.Close()
}
