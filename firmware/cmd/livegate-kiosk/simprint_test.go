//go:build !noengine

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/video"
)

// TestSimPrint renders a printed-photo recording from a small clip and
// reads it back: 320×240 at 25 fps for the asked duration, a sheet that
// moves from frame to frame, the same file for the same seed; and each
// mistake is refused with its message.
func TestSimPrint(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.y4m")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	w, err := video.NewY4MWriter(f, 64, 48, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ { // 3 s: a gradient whose level marks the frame
		m := imgproc.NewRGB(64, 48)
		for p := 0; p < len(m.Pix); p += 3 {
			x := (p / 3) % 64
			m.Pix[p], m.Pix[p+1], m.Pix[p+2] = uint8(4*x), uint8(8*i), 128
		}
		if err := w.WriteFrame(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(w.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}

	render := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"sim-print"}, args...), nil, &out, &errb)
		return code, out.String() + errb.String()
	}
	out1, out2 := filepath.Join(dir, "a.y4m"), filepath.Join(dir, "b.y4m")
	for _, o := range []string{out1, out2} {
		if code, msg := render("--from", in, "--at", "1s", "--duration", "2s", "--seed", "3", "--out", o); code != 0 {
			t.Fatalf("sim-print: exit %d: %s", code, msg)
		}
	}
	a, _ := os.ReadFile(out1)
	b, _ := os.ReadFile(out2)
	if !bytes.Equal(a, b) {
		t.Error("the same seed rendered different recordings")
	}
	r, err := video.Open(context.Background(), out1, video.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if i := r.Info(); i.Width != 320 || i.Height != 240 || i.FPS() != 25 {
		t.Fatalf("recording %+v, want 320×240 at 25 fps", i)
	}
	var frames, moved int
	var prev []byte
	for {
		fr, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && !bytes.Equal(prev, fr.Image.Pix) {
			moved++
		}
		prev = bytes.Clone(fr.Image.Pix)
		frames++
	}
	if frames != 50 || moved != frames-1 {
		t.Fatalf("%d frames (want 50), %d differ from the one before", frames, moved)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--out", filepath.Join(dir, "c.y4m")}, 2, "--from and --out are required"},
		{[]string{"--from", in, "--out", filepath.Join(dir, "c.avi")}, 2, "want a .y4m file"},
		{[]string{"--from", in, "--duration", "2m", "--out", filepath.Join(dir, "c.y4m")}, 2, "not within (0, 1m]"},
		{[]string{"--from", in, "--at", "5s", "--out", filepath.Join(dir, "c.y4m")}, 1, "ends before 5s"},
		{[]string{"--from", filepath.Join(dir, "none.y4m"), "--out", filepath.Join(dir, "c.y4m")}, 1, "none.y4m"},
	} {
		code, msg := render(tt.args...)
		if code != tt.code || !strings.Contains(msg, tt.want) {
			t.Errorf("sim-print %v: exit %d %q, want %d and %q", tt.args, code, msg, tt.code, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "c.y4m")); !os.IsNotExist(err) {
		t.Errorf("a refused render left its output: %v", err)
	}
}
