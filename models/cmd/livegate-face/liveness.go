package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/lightsim"
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
	// Light says what light was fed (--light-log, --simulate-light).
	Light *lightInfo `json:"light,omitempty"`
	// Warnings are caveats about the result (also printed on stderr).
	Warnings []string `json:"warnings,omitempty"`
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

// livenessOptions are the liveness command's flags.
type livenessOptions struct {
	mode       liveness.Mode
	fps        float64
	start, dur float64
	bench      bool
	handheld   bool
	// lightLog replays the light a stored session emitted.
	lightLog string
	// simulate lights the clip with lightsim following the analyzer's own
	// sequence; reflection and strength choose the model, writeLit keeps
	// the lit frames.
	simulate   bool
	reflection string
	strength   float64
	writeLit   string
	writeLog   string
}

func livenessCmd(g *globals) *cobra.Command {
	var o livenessOptions
	var mode, camera string
	c := &cobra.Command{
		Use:   "liveness CLIP",
		Short: "Run one recorded sample through the liveness analyzer: verdict, confidence, reasons, layers",
		Long: `Reads a clip (y4m and MJPEG AVI natively, a folder of frames, other formats
through ffmpeg when installed), feeds its frames with their timestamps to the
liveness analyzer until it is done or the clip ends, and prints the verdict.
A recorded clip cannot answer challenges drawn after it was recorded, so use
--mode passive for recordings; --mode active shows what the challenges saw.
--camera handheld says the camera moved with the hand (a phone): the motion
layer then takes no evidence from the background.

Light response (the capture side emits a random colour sequence and the face
must follow it):
  --light-log FILE   replays a stored session's light log (docs/liveness.md,
                     "Light logs"): each frame is fed with the light the log
                     says was emitted at its timestamp, and the analyzer is
                     given the session's plan (the log's "plan") instead of
                     drawing one. A log without a plan still feeds the
                     light, but the plan check cannot hold: a warning says
                     so.
  --simulate-light   lights a recorded genuine clip with the reflection model
                     (lightsim) following the analyzer's own sequence, as a
                     face in front of the emitting screen would be: shows
                     what the light layer does on a reflecting face.
                     --reflection phone|laptop|kiosk|FILE.json picks the
                     model, --light-strength S sets the face's relative
                     change at full white (by the ambient light), and
                     --write-lit FILE.avi keeps the lit frames and
                     --write-light-log FILE.json the light log (plan and
                     per-frame light) that replays them with --light-log.
With --bench the same frames also run through the raw pipeline (detect →
landmarks) and the cost ratio is printed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.mode = liveness.Mode(mode)
			if o.mode != liveness.Active && o.mode != liveness.Passive {
				return fmt.Errorf("--mode %q: want active or passive", mode)
			}
			switch camera {
			case "fixed":
			case "handheld":
				o.handheld = true
			default:
				return fmt.Errorf("--camera %q: want fixed or handheld", camera)
			}
			if o.lightLog != "" && o.simulate {
				return errors.New("--light-log and --simulate-light: choose one")
			}
			if !o.simulate && (o.reflection != "" || o.strength != 0 || o.writeLit != "" || o.writeLog != "") {
				return errors.New("--reflection, --light-strength, --write-lit and --write-light-log need --simulate-light")
			}
			res, err := runLiveness(cmd.Context(), g, args[0], o)
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			if g.json {
				return g.printJSON(res)
			}
			printLiveness(g, res)
			return nil
		},
	}
	c.Flags().StringVar(&mode, "mode", "passive", "passive or active")
	c.Flags().StringVar(&camera, "camera", "fixed", "fixed (kiosk, laptop) or handheld (a phone in the hand)")
	c.Flags().Float64Var(&o.fps, "fps", 0, "frame rate of a frame folder (default 25)")
	c.Flags().Float64Var(&o.start, "start", 0, "seconds of the clip to skip")
	c.Flags().Float64Var(&o.dur, "duration", 0, "seconds of the clip to analyse at most (0: until the analyzer is done)")
	c.Flags().BoolVar(&o.bench, "bench", false, "also time the raw pipeline on the same frames and print the cost ratio")
	c.Flags().StringVar(&o.lightLog, "light-log", "", "JSON light log of a stored session: feed each frame the light emitted at its timestamp")
	c.Flags().BoolVar(&o.simulate, "simulate-light", false, "light the clip with the reflection model following the analyzer's own light sequence")
	c.Flags().StringVar(&o.reflection, "reflection", "", "with --simulate-light: phone (default), laptop, kiosk or a lightsim JSON file")
	c.Flags().Float64Var(&o.strength, "light-strength", 0, "with --simulate-light: the face's relative brightness change at full white (default: the model's)")
	c.Flags().StringVar(&o.writeLit, "write-lit", "", "with --simulate-light: write the lit frames to this MJPEG AVI")
	c.Flags().StringVar(&o.writeLog, "write-light-log", "", "with --simulate-light: write the light log (plan, per-frame light) to this JSON file")
	return c
}

// lightInfo is what the liveness command says about the light it fed.
type lightInfo struct {
	// Source is "log" (--light-log) or "simulated" (--simulate-light).
	Source string `json:"source"`
	// Plan is "replayed" (the analyzer was given the log's plan) or
	// "drawn" (the analyzer drew its own).
	Plan   string  `json:"plan"`
	StepMS float64 `json:"step_ms"`
	// Frames counts the frames fed with a light.
	Frames int `json:"frames"`
	// Surface and Strength describe the simulated reflection.
	Surface    string  `json:"surface,omitempty"`
	Strength   float64 `json:"strength,omitempty"`
	AmbientLux float64 `json:"ambient_lux,omitempty"`
}

// withLightPlan returns cfg set to replay plan as the analyzer's light
// sequence instead of a random draw (liveness.Config.LightPlan; it implies
// LightControlled). Only for a stored session's own log: a plan known in
// advance must never come from a live client.
func withLightPlan(cfg liveness.Config, plan []liveness.LightStep) liveness.Config {
	cfg.LightPlan = append([]liveness.LightStep(nil), plan...)
	cfg.LightControlled = true
	return cfg
}

func runLiveness(ctx context.Context, g *globals, path string, o livenessOptions) (*livenessResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg := liveness.Config{Mode: o.mode, HandheldCamera: o.handheld}
	var res livenessResult
	var llog *lightsim.Log
	var sim *lightsim.Params
	switch {
	case o.lightLog != "":
		data, err := os.ReadFile(o.lightLog)
		if err != nil {
			return nil, fmt.Errorf("--light-log: %w", err)
		}
		llog, err = lightsim.ParseLog(data)
		if err != nil {
			return nil, fmt.Errorf("--light-log %s: %w", o.lightLog, err)
		}
		cfg.LightControlled, cfg.LightStep = true, llog.Step()
		res.Light = &lightInfo{Source: "log", Plan: "drawn", StepMS: llog.StepMS}
		if plan := llog.LightPlan(); plan != nil {
			cfg, res.Light.Plan = withLightPlan(cfg, plan), "replayed"
		} else {
			res.Warnings = append(res.Warnings, "the light log has no plan: the analyzer draws its own sequence, so the light layer's plan check (follows_plan) fails; its correlation measures still compare the face with the logged light")
		}
	case o.simulate:
		p, err := reflectionParams(o.reflection)
		if err != nil {
			return nil, err
		}
		if p == nil {
			d := lightsim.DefaultParams()
			p = &d
		}
		if o.strength != 0 {
			q, err := p.WithStrength(o.strength)
			if err != nil {
				return nil, fmt.Errorf("--light-strength: %w", err)
			}
			p = &q
		}
		sim = p
		cfg.LightControlled = true
		res.Light = &lightInfo{Source: "simulated", Plan: "drawn", Surface: string(p.Surface),
			Strength: math.Round(p.Strength()*10000) / 10000, AmbientLux: math.Round(p.AmbientLux)}
	}
	if err := cfg.Validate(); err != nil {
		if o.lightLog != "" {
			return nil, fmt.Errorf("--light-log %s: %w", o.lightLog, err)
		}
		return nil, err
	}
	models, err := liveness.LoadModels(liveness.ModelOptions{ORT: g.ortOptions()})
	if err != nil {
		return nil, err
	}
	defer models.Close()
	r, err := video.Open(ctx, path, video.Options{FPS: o.fps})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	a := liveness.New(cfg, models, nil)
	if res.Light != nil {
		res.Light.StepMS = float64(a.Config().LightStep.Milliseconds())
	}
	// Simulated light: the analyzer's first step is shown from before the
	// first frame, each next one from the frame after which it was asked
	// for.
	var sched lightsim.Schedule
	var rend *lightsim.Renderer
	var lit imgproc.RGB
	var emitted *liveness.Light
	var aw *video.AVIWriter
	var wlog *lightsim.Log
	if sim != nil {
		if o.writeLog != "" {
			wlog = lightsim.NewLog(a.Config().LightStep, a.LightSequence())
		}
		rend, err = lightsim.NewRenderer(*sim, sched.At, lightsim.Ellipse{})
		if err != nil {
			return nil, err
		}
		if seq := a.LightSequence(); len(seq) > 0 {
			first := seq[0].Light
			emitted = &first
		}
		if o.writeLit != "" {
			f, err := os.Create(o.writeLit)
			if err != nil {
				return nil, fmt.Errorf("--write-lit: %w", err)
			}
			defer f.Close()
			info := r.Info()
			num, den := info.FPSNum, info.FPSDen
			if num <= 0 || den <= 0 {
				num, den = 25, 1
			}
			aw, err = video.NewAVIWriter(f, info.Width, info.Height, num, den, 92)
			if err != nil {
				return nil, fmt.Errorf("--write-lit %s: %w", o.writeLit, err)
			}
		}
	}
	from := time.Duration(o.start * float64(time.Second))
	until := time.Duration(math.MaxInt64)
	if o.dur > 0 {
		until = from + time.Duration(o.dur*float64(time.Second))
	}
	var kept []*video.Frame
	var decode, feed, feedCPU time.Duration
	var prevT time.Duration
	firstLit := true
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
		if o.bench {
			c := f
			c.Image = video.Clone(f.Image)
			kept = append(kept, &c)
		}
		fr := liveness.Frame{Image: f.Image, Timestamp: f.Timestamp}
		switch {
		case llog != nil:
			if l, ok := llog.LightAt(f.Timestamp); ok {
				fr.Light = &l
				res.Light.Frames++
			}
		case rend != nil && emitted != nil:
			l := *emitted
			fr.Light = &l
			at := prevT
			if firstLit {
				at, firstLit = f.Timestamp-time.Second, false
			}
			sched.Set(at, l)
			if err := rend.Render(&lit, f.Image, f.Timestamp); err != nil {
				return err
			}
			fr.Image = &lit
			res.Light.Frames++
			if wlog != nil {
				wlog.AddFrame(f.Timestamp, l)
			}
			if aw != nil {
				if err := aw.WriteFrame(&lit); err != nil {
					return err
				}
			}
		}
		prevT = f.Timestamp
		ts, cs := time.Now(), cpuTime()
		gd, err := a.Feed(ctx, fr)
		feed += time.Since(ts)
		feedCPU += cpuTime() - cs
		if err != nil && !errors.Is(err, liveness.ErrBadFrame) && !errors.Is(err, liveness.ErrTimestamp) {
			return err
		}
		if gd.Light != nil && rend != nil {
			next := *gd.Light
			emitted = &next
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("liveness %s: %w", path, err)
	}
	if aw != nil {
		if err := aw.Close(); err != nil {
			return nil, fmt.Errorf("--write-lit %s: %w", o.writeLit, err)
		}
	}
	if wlog != nil {
		data, err := json.MarshalIndent(wlog, "", " ")
		if err != nil {
			return nil, fmt.Errorf("--write-light-log: %w", err)
		}
		if err := os.WriteFile(o.writeLog, append(data, '\n'), 0o644); err != nil {
			return nil, fmt.Errorf("--write-light-log: %w", err)
		}
	}
	if llog != nil && res.Light.Frames == 0 {
		res.Warnings = append(res.Warnings, "no frame's timestamp falls within the light log: check its offset_ms")
	}
	tv, cv := time.Now(), cpuTime()
	v := a.Verdict()
	verdictTime := time.Since(tv)
	feedCPU += cpuTime() - cv
	res.Verdict, res.Confidence, res.Reasons, res.Layers = v.Verdict, v.Confidence, v.Reasons, finiteMeasures(v.Layers)
	res.BestFrame, res.Frames, res.FaceFrames = v.BestFrame, v.Frames, v.FaceFrames
	if o.bench && len(kept) > 0 {
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
	return &res, nil
}

var errStop = errors.New("stop")

// finiteMeasures returns the layers with non-finite measures left out (a
// layer with too few frames reports −Inf, which JSON cannot carry).
func finiteMeasures(layers []liveness.LayerScore) []liveness.LayerScore {
	out := make([]liveness.LayerScore, len(layers))
	for i, l := range layers {
		out[i] = l
		m := make(map[string]float64, len(l.Measures))
		for k, v := range l.Measures {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				m[k] = v
			}
		}
		out[i].Measures = m
	}
	return out
}

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
	fmt.Fprintf(g.out, "%d frames, %d with one face, best frame %d\n", r.Frames, r.FaceFrames, r.BestFrame)
	if l := r.Light; l != nil {
		fmt.Fprintf(g.out, "light: %s, %d frames fed with light, step %.0f ms, plan %s", l.Source, l.Frames, l.StepMS, l.Plan)
		if l.Source == "simulated" {
			fmt.Fprintf(g.out, "; %s reflecting, strength %.3f at full white (ambient %.0f lux)", l.Surface, l.Strength, l.AmbientLux)
		}
		fmt.Fprintln(g.out)
	}
	fmt.Fprintln(g.out)
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
