package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"livegate.dev/models/face"
	"livegate.dev/models/liveness"
	"livegate.dev/models/video"
)

// livenessResult is what `livegate-face liveness --json` prints.
type livenessResult struct {
	Verdict    string                `json:"verdict"`
	Confidence float64               `json:"confidence"`
	Reasons    []string              `json:"reasons"`
	Layers     []liveness.LayerScore `json:"layers"`
	BestFrame  int                   `json:"best_frame"`
	Frames     int                   `json:"frames"`
	FaceFrames int                   `json:"face_frames"`
	Bench      *livenessBench        `json:"bench,omitempty"`
}

// livenessBench compares the analyzer's cost per frame with part 1's raw
// pipeline (detect → landmarks) on the same decoded frames.
type livenessBench struct {
	Frames     int     `json:"frames"`
	DecodeMs   float64 `json:"decode_ms_per_frame"`
	RawMs      float64 `json:"raw_pipeline_ms_per_frame"`
	AnalyzerMs float64 `json:"analyzer_ms_per_frame"`
	VerdictMs  float64 `json:"verdict_ms"`
	Ratio      float64 `json:"ratio_analyzer_to_raw"`
	RatioAll   float64 `json:"ratio_with_decode"`
	// CPU time (user + system, all threads) per frame: on a shared machine
	// the wall-clock figures above include waiting for a core.
	RawCPUMs      float64 `json:"raw_cpu_ms_per_frame"`
	AnalyzerCPUMs float64 `json:"analyzer_cpu_ms_per_frame"`
	CPURatio      float64 `json:"cpu_ratio_analyzer_to_raw"`
}

// cpuTime is the process's user + system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func livenessCmd(g *globals) *cobra.Command {
	var mode string
	var fps, start, dur float64
	var bench bool
	c := &cobra.Command{
		Use:   "liveness CLIP",
		Short: "Run one recorded sample through the liveness analyzer: verdict, confidence, reasons, layers",
		Long: `Reads a clip (y4m and MJPEG AVI natively, a folder of frames, other formats
through ffmpeg when installed), feeds its frames with their timestamps to the
liveness analyzer until it is done or the clip ends, and prints the verdict.
A recorded clip cannot answer challenges drawn after it was recorded, so use
--mode passive for recordings; --mode active shows what the challenges saw.
With --bench the same frames also run through the raw pipeline (detect →
landmarks) and the cost ratio is printed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m := liveness.Mode(mode)
			if m != liveness.Active && m != liveness.Passive {
				return fmt.Errorf("--mode %q: want active or passive", mode)
			}
			res, err := runLiveness(cmd.Context(), g, args[0], m, fps, start, dur, bench)
			if err != nil {
				return err
			}
			if g.json {
				return g.printJSON(res)
			}
			printLiveness(g, res)
			return nil
		},
	}
	c.Flags().StringVar(&mode, "mode", "passive", "passive or active")
	c.Flags().Float64Var(&fps, "fps", 0, "frame rate of a frame folder (default 25)")
	c.Flags().Float64Var(&start, "start", 0, "seconds of the clip to skip")
	c.Flags().Float64Var(&dur, "duration", 0, "seconds of the clip to analyse at most (0: until the analyzer is done)")
	c.Flags().BoolVar(&bench, "bench", false, "also time the raw pipeline on the same frames and print the cost ratio")
	return c
}

func runLiveness(ctx context.Context, g *globals, path string, mode liveness.Mode, fps, start, dur float64, bench bool) (*livenessResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	models, err := liveness.LoadModels(liveness.ModelOptions{ORT: g.ortOptions()})
	if err != nil {
		return nil, err
	}
	defer models.Close()
	r, err := video.Open(ctx, path, video.Options{FPS: fps})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	a := liveness.New(liveness.Config{Mode: mode}, models, nil)
	from := time.Duration(start * float64(time.Second))
	until := time.Duration(math.MaxInt64)
	if dur > 0 {
		until = from + time.Duration(dur*float64(time.Second))
	}
	var kept []*video.Frame
	var decode, feed, feedCPU time.Duration
	t0 := time.Now()
	err = video.ReadAll(ctx, r, func(f video.Frame) error {
		decode += time.Since(t0)
		defer func() { t0 = time.Now() }()
		if f.Timestamp < from {
			return nil
		}
		if f.Timestamp >= until || a.Done() {
			return errStop
		}
		if bench {
			c := f
			c.Image = video.Clone(f.Image)
			kept = append(kept, &c)
		}
		ts, cs := time.Now(), cpuTime()
		_, err := a.Feed(ctx, liveness.Frame{Image: f.Image, Timestamp: f.Timestamp})
		feed += time.Since(ts)
		feedCPU += cpuTime() - cs
		if err != nil && !errors.Is(err, liveness.ErrBadFrame) && !errors.Is(err, liveness.ErrTimestamp) {
			return err
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("liveness %s: %w", path, err)
	}
	tv, cv := time.Now(), cpuTime()
	v := a.Verdict()
	verdictTime := time.Since(tv)
	feedCPU += cpuTime() - cv
	res := &livenessResult{Verdict: v.Verdict, Confidence: v.Confidence, Reasons: v.Reasons, Layers: v.Layers,
		BestFrame: v.BestFrame, Frames: v.Frames, FaceFrames: v.FaceFrames}
	if bench && len(kept) > 0 {
		raw, rawCPU, err := rawPipeline(g, kept)
		if err != nil {
			return nil, err
		}
		n := float64(len(kept))
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		b := &livenessBench{Frames: len(kept), DecodeMs: ms(decode) / n, RawMs: ms(raw) / n,
			AnalyzerMs: (ms(feed) + ms(verdictTime)) / n, VerdictMs: ms(verdictTime)}
		b.Ratio = b.AnalyzerMs / b.RawMs
		b.RatioAll = (b.AnalyzerMs + b.DecodeMs) / (b.RawMs + b.DecodeMs)
		b.RawCPUMs, b.AnalyzerCPUMs = ms(rawCPU)/n, ms(feedCPU)/n
		if b.RawCPUMs > 0 {
			b.CPURatio = b.AnalyzerCPUMs / b.RawCPUMs
		}
		res.Bench = b
	}
	return res, nil
}

var errStop = errors.New("stop")

// rawPipeline times part 1's per-frame pipeline (detect → landmarks on the
// best face) on the same frames.
func rawPipeline(g *globals, frames []*video.Frame) (wall, cpu time.Duration, err error) {
	d, err := face.NewDetector(face.DetectorOptions{ORT: g.ortOptions()})
	if err != nil {
		return 0, 0, err
	}
	defer d.Close()
	l, err := face.NewLandmarker(face.LandmarkerOptions{ORT: g.ortOptions()})
	if err != nil {
		return 0, 0, err
	}
	defer l.Close()
	var lm face.Landmarks
	t, c := time.Now(), cpuTime()
	for _, f := range frames {
		faces, err := d.Detect(f.Image)
		if err != nil {
			return 0, 0, err
		}
		if len(faces) > 0 {
			if err := l.Detect(f.Image, faces[0], &lm); err != nil {
				return 0, 0, err
			}
		}
	}
	return time.Since(t), cpuTime() - c, nil
}

func printLiveness(g *globals, r *livenessResult) {
	fmt.Fprintf(g.out, "verdict %s  confidence %.2f  reasons %v\n", r.Verdict, r.Confidence, r.Reasons)
	fmt.Fprintf(g.out, "%d frames, %d with one face, best frame %d\n\n", r.Frames, r.FaceFrames, r.BestFrame)
	tw := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAYER\tSCORE\tPASSED\tDETAIL")
	for _, l := range r.Layers {
		fmt.Fprintf(tw, "%s\t%.2f\t%v\t%s\n", l.Name, l.Score, l.Passed, l.Detail)
	}
	tw.Flush()
	if b := r.Bench; b != nil {
		fmt.Fprintf(g.out, "\n%d frames: decode %.2f ms, raw pipeline %.2f ms, analyzer %.2f ms per frame (verdict %.1f ms): ratio %.2f (%.2f with decode)\n",
			b.Frames, b.DecodeMs, b.RawMs, b.AnalyzerMs, b.VerdictMs, b.Ratio, b.RatioAll)
		fmt.Fprintf(g.out, "CPU time per frame: raw pipeline %.2f ms, analyzer %.2f ms: ratio %.2f\n", b.RawCPUMs, b.AnalyzerCPUMs, b.CPURatio)
	}
}
