package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/ort"
)

func main() {
	if err := newRoot(os.Stdout, os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "livegate-face:", err)
		os.Exit(1)
	}
}

// globals are the flags every subcommand shares.
type globals struct {
	json    bool
	threads int
	out     io.Writer
}

func (g *globals) ortOptions() ort.Options { return ort.Options{IntraOpThreads: g.threads} }

func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{out: stdout}
	root := &cobra.Command{
		Use:           "livegate-face",
		Short:         "Face detection, landmarks, comparison and benchmarks on ONNX Runtime",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().BoolVar(&g.json, "json", false, "print JSON")
	root.PersistentFlags().IntVar(&g.threads, "threads", 1, "ONNX Runtime intra-op threads")
	root.AddCommand(detectCmd(g), landmarksCmd(g), compareCmd(g), convertCmd(g), benchCmd(g), livenessCmd(g), corpusCmd(g), evalCmd(g), packCmd(g), replayCmd(g), facematchEvalCmd(g), documentEvalCmd(g), searchEvalCmd(g))
	return root
}

func parseRange(s string) (face.Range, error) {
	switch s {
	case "short", "short-range":
		return face.ShortRange, nil
	case "full", "full-range":
		return face.FullRange, nil
	}
	return 0, fmt.Errorf("unknown --range %q (short or full)", s)
}

func loadImage(path string) (*imgproc.RGB, error) {
	return imgproc.DecodeFile(path)
}

// round1 keeps JSON output readable: one decimal for pixels.
func round1(v float32) float32 { return float32(int64(v*10+sign(v)*0.5)) / 10 }

func sign(v float32) float32 {
	if v < 0 {
		return -1
	}
	return 1
}

type faceJSON struct {
	Box       [4]float32   `json:"box"`
	Score     float32      `json:"score"`
	Keypoints [][2]float32 `json:"keypoints"`
	// KeypointNames names Keypoints in order (keypointNames).
	KeypointNames []string       `json:"keypoint_names"`
	Mesh          *meshJSON      `json:"landmarks,omitempty"`
	Measures      *face.Measures `json:"measures,omitempty"`
}

type meshJSON struct {
	Presence float32      `json:"presence"`
	Points   [][3]float32 `json:"points"`
}

func toFaceJSON(f face.Face) faceJSON {
	j := faceJSON{Score: float32(int(f.Score*1000+0.5)) / 1000}
	for i := range f.Box {
		j.Box[i] = round1(f.Box[i])
	}
	for _, k := range f.Keypoints {
		j.Keypoints = append(j.Keypoints, [2]float32{round1(k[0]), round1(k[1])})
	}
	j.KeypointNames = keypointNames[:]
	return j
}

// keypointNames are the detector's keypoints in face.Key… order; "right"
// and "left" are the subject's.
var keypointNames = [face.NumKeypoints]string{
	face.KeyRightEye: "right_eye", face.KeyLeftEye: "left_eye", face.KeyNoseTip: "nose_tip",
	face.KeyMouth: "mouth", face.KeyRightEar: "right_ear", face.KeyLeftEar: "left_ear",
}

func detectCmd(g *globals) *cobra.Command {
	var rng, draw string
	var minScore float32
	c := &cobra.Command{
		Use:   "detect IMAGE",
		Short: "Find faces: box [x,y,w,h], score and six keypoints in image pixels",
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
			d, err := face.NewDetector(face.DetectorOptions{Range: r, MinScore: minScore, ORT: g.ortOptions()})
			if err != nil {
				return err
			}
			defer d.Close()
			faces, err := d.Detect(img)
			if err != nil {
				return err
			}
			out := struct {
				Faces []faceJSON `json:"faces"`
			}{Faces: []faceJSON{}}
			for _, f := range faces {
				out.Faces = append(out.Faces, toFaceJSON(f))
			}
			if draw != "" {
				if err := drawPNG(draw, img, faces, nil, false); err != nil {
					return err
				}
			}
			if g.json {
				return g.printJSON(out)
			}
			fmt.Fprintf(g.out, "%s: %dx%d, %d face(s)\n", args[0], img.W, img.H, len(faces))
			for i, f := range out.Faces {
				fmt.Fprintf(g.out, "  #%d score %.3f box [x %.1f y %.1f w %.1f h %.1f]\n", i, f.Score, f.Box[0], f.Box[1], f.Box[2], f.Box[3])
				for k, p := range f.Keypoints {
					fmt.Fprintf(g.out, "     %-9s %7.1f %7.1f\n", f.KeypointNames[k], p[0], p[1])
				}
			}
			if draw != "" {
				fmt.Fprintf(g.out, "drawing written to %s\n", draw)
			}
			return nil
		},
	}
	c.Flags().StringVar(&rng, "range", "short", "BlazeFace model: short (faces within ~2 m) or full")
	c.Flags().StringVar(&draw, "draw", "", "write a PNG with the boxes (yellow) and keypoints (red) drawn")
	c.Flags().Float32Var(&minScore, "min-score", 0, "minimum score (default: the model's, 0.5 short / 0.6 full)")
	return c
}
