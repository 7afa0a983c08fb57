package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"livegate.dev/board"
	"livegate.dev/drivers"
	"livegate.dev/firmware/config"
	"livegate.dev/firmware/kiosk"
	"livegate.dev/firmware/outbox"
)

// benchResult is what `livegate-kiosk bench` measures.
type benchResult struct {
	Camera     string  `json:"camera"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	Sessions   int     `json:"sessions"`
	Passes     int     `json:"passes"`
	Frames     int     `json:"frames"`
	FPS        float64 `json:"fps"`            // frames through the whole loop per wall second
	LatencyP50 float64 `json:"latency_p50_ms"` // last challenge frame captured → relay energised
	LatencyMax float64 `json:"latency_max_ms"`
	// CPU-time figures: the same measures in this process's CPU time,
	// which a loaded host (other work on the cores) does not inflate.
	CPUFPS        float64 `json:"cpu_fps"`
	CPULatencyP50 float64 `json:"cpu_latency_p50_ms"`
	RSSMB         float64 `json:"rss_mb"`      // resident memory after the sessions
	PeakRSSMB     float64 `json:"peak_rss_mb"` // VmHWM
}

// wallCamera records the wall time each frame was handed to the kiosk.
type wallCamera struct {
	drivers.FrameSource
	mu      sync.Mutex
	last    time.Time
	lastCPU time.Duration
}

func (c *wallCamera) Next(ctx context.Context) (drivers.Frame, error) {
	f, err := c.FrameSource.Next(ctx)
	c.mu.Lock()
	c.last, c.lastCPU = time.Now(), cpuTime()
	c.mu.Unlock()
	return f, err
}

// wallRelay records the wall time of each pulse.
type wallRelay struct {
	drivers.Relay
	mu     sync.Mutex
	pulses []time.Time
	cpu    []time.Duration
}

func (r *wallRelay) Pulse(ctx context.Context, d time.Duration) (drivers.PulseReport, error) {
	r.mu.Lock()
	r.pulses = append(r.pulses, time.Now())
	r.cpu = append(r.cpu, cpuTime())
	r.mu.Unlock()
	return r.Relay.Pulse(ctx, d)
}

// cmdBench runs walk-up sessions from a recording on the sim board on one
// core (GOMAXPROCS=1, one inference thread) in virtual time, and reports
// the frames per second the whole kiosk loop sustains (capture, colour
// conversion, the liveness engine, LED updates, audit JPEGs), the latency
// from the last challenge frame to the relay pulse (verdict, audit boxes,
// fsynced commit included) and the resident memory.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cam := fs.String("camera", "", "recording (640x480 for the README figure)")
	n := fs.Int("sessions", 3, "sessions to run")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cam == "" {
		return usageError{errors.New("bench: --camera is required")}
	}
	runtime.GOMAXPROCS(1)
	c := config.Default()
	c.DeviceID = "bench"
	c.Board.Board = "sim"
	file := board.CameraFile
	own := 0.0 // the recording's own frame rate
	c.Board.CameraSource, c.Board.CameraDevice, c.Board.CameraFPS = &file, cam, &own
	p, err := c.Profile()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng, loc, err := newEngine(c, 1, 1)
	if err != nil {
		return err
	}
	defer eng.Close()
	defer loc.Close()
	dir, err := os.MkdirTemp("", "livegate-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ob, err := outbox.Open(filepath.Join(dir, "outbox.db"), outbox.Options{})
	if err != nil {
		return err
	}
	defer ob.Close()

	res := benchResult{Camera: *cam}
	var lat, cpuLat []float64
	var busy, busyCPU time.Duration
	for i := 0; i < *n; i++ {
		clk := kiosk.NewVirtualClock(time.Now())
		b, err := board.Open(ctx, p, board.Opts{Clock: clk, Logger: log})
		if err != nil {
			return err
		}
		refl, err := reflectCamera(b.Camera, b.Lights, loc)
		if err != nil {
			return err
		}
		wc := &wallCamera{FrameSource: refl}
		wr := &wallRelay{Relay: b.Relay}
		f := b.Camera.Format()
		res.Width, res.Height = f.Width, f.Height
		k, err := kiosk.New(kiosk.Hardware{Camera: wc, Relay: wr, Lights: b.Lights}, eng, &kiosk.OutboxStore{Outbox: ob, Clock: clk}, loc,
			kiosk.Options{DeviceID: "bench", Clock: clk, Logger: log, CoolDown: time.Millisecond, MaxDuration: c.Session.MaxDuration})
		if err != nil {
			b.Close()
			return err
		}
		start, startCPU := time.Now(), cpuTime()
		rep, err := k.RunSession(ctx, "", false)
		elapsed, elapsedCPU := time.Since(start), cpuTime()-startCPU
		b.Close()
		if err != nil {
			return fmt.Errorf("bench session %d: %w", i, err)
		}
		res.Sessions++
		res.Frames += rep.Result.Frames
		busy += elapsed
		busyCPU += elapsedCPU
		if rep.Result.Verdict == "pass" && len(wr.pulses) > 0 {
			res.Passes++
			// The last frame fed is the last one captured before the
			// verdict; wc.last was set by the capture of that frame.
			wc.mu.Lock()
			lat = append(lat, float64(wr.pulses[0].Sub(wc.last).Microseconds())/1000)
			cpuLat = append(cpuLat, float64((wr.cpu[0]-wc.lastCPU).Microseconds())/1000)
			wc.mu.Unlock()
		}
	}
	res.FPS = float64(res.Frames) / busy.Seconds()
	res.CPUFPS = float64(res.Frames) / busyCPU.Seconds()
	if len(lat) > 0 {
		sort.Float64s(lat)
		sort.Float64s(cpuLat)
		res.LatencyP50, res.LatencyMax = lat[len(lat)/2], lat[len(lat)-1]
		res.CPULatencyP50 = cpuLat[len(cpuLat)/2]
	}
	res.RSSMB, res.PeakRSSMB = memStatus("VmRSS"), memStatus("VmHWM")
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "kiosk loop, one core, %dx%d, %d sessions (%d passed), %d frames\n", res.Width, res.Height, res.Sessions, res.Passes, res.Frames)
	fmt.Fprintf(stdout, "  frames/s sustained              %.1f wall-clock, %.1f per CPU-second\n", res.FPS, res.CPUFPS)
	if len(lat) > 0 {
		fmt.Fprintf(stdout, "  last challenge frame → relay    p50 %.1f ms (max %.1f ms) wall-clock, %.1f ms CPU\n", res.LatencyP50, res.LatencyMax, res.CPULatencyP50)
	} else {
		fmt.Fprintln(stdout, "  last challenge frame → relay    n/a (no session passed)")
	}
	fmt.Fprintf(stdout, "  resident memory                 %.0f MB (peak %.0f MB)\n", res.RSSMB, res.PeakRSSMB)
	return nil
}

// memStatus reads a /proc/self/status field in MB (0 when unavailable).
func memStatus(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
