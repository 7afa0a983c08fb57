package camera

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"livegate.dev/drivers"
	"livegate.dev/drivers/drivertest"
)

func TestFFmpegVideo(t *testing.T) {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not installed (scripts/setup.d/10-debian.sh installs it)")
	}
	path := filepath.Join(t.TempDir(), "clip.mp4")
	out, err := exec.Command(bin, "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10",
		"-frames:v", "5", "-pix_fmt", "yuv420p", "-y", path).CombinedOutput()
	if err != nil {
		t.Fatalf("make test clip: %v\n%s", err, out)
	}
	clk := drivertest.NewClock(t0)
	src, err := OpenFile(path, FileOpts{Clock: clk, Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if f := src.Format(); f != (drivers.FrameFormat{Format: drivers.FormatI420, Width: 64, Height: 48, FPS: 10, LimitedRange: true}) {
		t.Fatalf("format %v", f)
	}
	var first []byte
	for i := 0; i < 7; i++ { // 5 frames, then 2 more after the loop restarts ffmpeg
		f, err := next(t, clk, src, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if f.Seq != uint64(i) || len(f.Data) != 64*48*3/2 || !f.Time.Equal(t0.Add(time.Duration(i)*100*time.Millisecond)) {
			t.Fatalf("frame %d: seq %d len %d at %v", i, f.Seq, len(f.Data), f.Time.Sub(t0))
		}
		switch i {
		case 0:
			first = f.Clone().Data
		case 5:
			if string(first) != string(f.Data) {
				t.Fatal("looped frame differs from the first")
			}
		}
	}

	// A broken file reports ffmpeg's complaint.
	bad := filepath.Join(t.TempDir(), "bad.mp4")
	_ = os.WriteFile(bad, []byte("not a video"), 0o600)
	if _, err := OpenFile(bad, FileOpts{}); err == nil {
		t.Fatal("broken video opened")
	}

	once, err := OpenFile(path, FileOpts{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer once.Close()
	for i := 0; i < 5; i++ {
		if _, err := next(t, clk, once, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := once.Next(context.Background()); !errors.Is(err, io.EOF) {
		t.Fatalf("after last frame: %v", err)
	}
}
