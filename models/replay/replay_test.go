package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"reflect"
	"testing"
	"time"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
)

// testHeader is a passive header with a light plan, as a kiosk writes it.
func testHeader() Header {
	a := liveness.New(liveness.Config{Mode: liveness.Passive, LightControlled: true}, nil, nil)
	return Header{Producer: ProducerCLI, SessionID: "ses_test", Started: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), Config: ConfigOf(a)}
}

// testFrames covers every frame shape: encoded bytes, pixels (with an odd
// length), no image, with and without a light.
func testFrames() []liveness.Frame {
	pix := imgproc.NewRGB(40, 33)
	for i := range pix.Pix {
		pix.Pix[i] = byte(i*7 + i/120)
	}
	odd := &imgproc.RGB{W: 3, H: 3, Pix: []byte{1, 2, 3, 4, 5}} // a buffer that does not match its size
	return []liveness.Frame{
		{JPEG: []byte{0xFF, 0xD8, 1, 2, 3, 0xFF, 0xD9}, Timestamp: 40 * time.Millisecond},
		{Image: pix, Timestamp: 80 * time.Millisecond, Light: &liveness.Light{R: 1, G: 0, B: 1, Intensity: 0.6}},
		{Timestamp: 80 * time.Millisecond}, // no image, a timestamp that does not increase
		{Image: odd, Timestamp: -5, Light: &liveness.Light{R: 0.1, G: 0.2, B: 0.3, Intensity: 1}},
		{JPEG: bytes.Repeat([]byte{0xAB}, 70_000), Timestamp: 1<<62 + 3},
	}
}

func testVerdict() liveness.Verdict {
	return liveness.Verdict{Verdict: liveness.VerdictRetry, Confidence: 0.5999999999999999, Reasons: []string{"no_non_rigid_motion"},
		Layers: []liveness.LayerScore{{Name: liveness.LayerMotion, Score: 0.7, Passed: true, Detail: "a still user"},
			{Name: liveness.LayerNonRigid, Score: 0.1, Detail: "no blink", Reasons: []string{"no_non_rigid_motion"}}},
		BestFrame: 1, Frames: 5, FaceFrames: 2}
}

// record writes a whole recording.
func record(t *testing.T, h Header, frames []liveness.Frame, v liveness.Verdict) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WriteFrame(f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if err := w.Close(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	h, frames, v := testHeader(), testFrames(), testVerdict()
	data := record(t, h, frames, v)
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got := r.Header()
	if got.Version != Version || got.Arch == "" {
		t.Fatalf("header version %d arch %q", got.Version, got.Arch)
	}
	h.Version, h.Arch = got.Version, got.Arch
	if !reflect.DeepEqual(got, h) {
		t.Fatalf("header\n got %+v\nwant %+v", got, h)
	}
	if !reflect.DeepEqual(got.Config.Liveness().LightPlan, liveness.New(h.Config.Liveness(), nil, nil).LightSequence()) {
		t.Fatal("the light plan does not survive the round trip")
	}
	for i, want := range frames {
		f, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Timestamp != want.Timestamp || !reflect.DeepEqual(f.Light, want.Light) || !bytes.Equal(f.JPEG, want.JPEG) {
			t.Fatalf("frame %d: got %v %+v %d bytes, want %v %+v %d bytes", i, f.Timestamp, f.Light, len(f.JPEG), want.Timestamp, want.Light, len(want.JPEG))
		}
		if (f.Image == nil) != (want.Image == nil) {
			t.Fatalf("frame %d: image %v, want %v", i, f.Image != nil, want.Image != nil)
		}
		if want.Image != nil && (f.Image.W != want.Image.W || f.Image.H != want.Image.H || !bytes.Equal(f.Image.Pix, want.Image.Pix)) {
			t.Fatalf("frame %d: pixels differ", i)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	tr, ok := r.Trailer()
	if !ok || tr.Frames != len(frames) || !reflect.DeepEqual(tr.Verdict, Summarize(v)) {
		t.Fatalf("trailer %+v %v", tr, ok)
	}
	if !tr.Verdict.Matches(Summarize(v)) {
		t.Fatal("a summary does not match itself")
	}
}

// TestTruncated cuts a recording at every length short of its end.
func TestTruncated(t *testing.T) {
	data := record(t, testHeader(), testFrames()[:2], testVerdict())
	for n := 0; n < len(data); n++ {
		err := readAll(data[:n], ReaderOptions{})
		want := ErrTruncated
		if n == 0 {
			want = ErrNotRecording
		}
		if !errors.Is(err, want) {
			t.Fatalf("cut at %d of %d bytes: %v, want %v", n, len(data), err, want)
		}
	}
	// A producer that stopped before a verdict leaves no trailer.
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(testFrames()[0]); err != nil {
		t.Fatal(err)
	}
	if err := readAll(buf.Bytes(), ReaderOptions{}); !errors.Is(err, ErrTruncated) {
		t.Fatalf("no trailer: %v", err)
	}
}

// readAll reads a whole recording and returns the first error (nil at a
// clean end).
func readAll(data []byte, o ReaderOptions) error {
	r, err := NewReaderOptions(bytes.NewReader(data), o)
	if err != nil {
		return err
	}
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// rawRecord builds a record by hand.
func rawRecord(kind byte, payload []byte) []byte {
	b := []byte{kind, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(len(payload)))
	b = append(b, payload...)
	crc := crc32.Update(crc32.Update(0, castagnoli, []byte{kind}), castagnoli, payload)
	return binary.BigEndian.AppendUint32(b, crc)
}

func TestBadInput(t *testing.T) {
	good := record(t, testHeader(), testFrames(), testVerdict())
	var hb bytes.Buffer
	if _, err := NewWriter(&hb, testHeader()); err != nil {
		t.Fatal(err)
	}
	empty, head := hb.Bytes(), hb.Len() // magic, version and header
	trailerOf := func(frames int) []byte {
		return rawRecord(kindTrailer, []byte(`{"frames":`+string(rune('0'+frames))+`,"verdict":{"verdict":"fail"}}`))
	}
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		data []byte
		opts ReaderOptions
		want error
	}{
		{"not a recording", []byte("GIF89a, not a recording at all"), ReaderOptions{}, ErrNotRecording},
		{"short garbage", []byte("xy"), ReaderOptions{}, ErrNotRecording},
		{"version 2", mod(func(b []byte) []byte { b[9] = 2; return b }), ReaderOptions{}, ErrVersion},
		{"version 0", mod(func(b []byte) []byte { b[9] = 0; return b }), ReaderOptions{}, ErrVersion},
		{"flipped byte in a frame", mod(func(b []byte) []byte { b[len(b)/2] ^= 1; return b }), ReaderOptions{}, ErrCorrupt},
		{"flipped byte in the header", mod(func(b []byte) []byte { b[20] ^= 1; return b }), ReaderOptions{}, ErrCorrupt},
		{"frame over the reader's limit", good, ReaderOptions{MaxFrameBytes: 60_000}, ErrFrameTooLarge},
		{"record length over the limit", append(append([]byte(nil), empty[:head]...), 'F', 0x7F, 0xFF, 0xFF, 0xFF), ReaderOptions{}, ErrFrameTooLarge},
		{"unknown record kind", append(append([]byte(nil), empty[:head]...), rawRecord('X', nil)...), ReaderOptions{}, ErrCorrupt},
		{"second header", append(append([]byte(nil), empty[:head]...), rawRecord(kindHeader, []byte(`{}`))...), ReaderOptions{}, ErrCorrupt},
		{"trailer counts a frame more", append(append([]byte(nil), empty[:head]...), trailerOf(1)...), ReaderOptions{}, ErrCorrupt},
		{"bytes after the trailer", append(append([]byte(nil), good...), 0), ReaderOptions{}, ErrCorrupt},
		{"frame too short", append(append([]byte(nil), empty[:head]...), rawRecord(kindFrame, []byte{1, 2, 3})...), ReaderOptions{}, ErrCorrupt},
		{"unknown encoding", append(append([]byte(nil), empty[:head]...), rawRecord(kindFrame, append(make([]byte, 9), 7))...), ReaderOptions{}, ErrCorrupt},
		{"pixels larger than announced", append(append([]byte(nil), empty[:head]...),
			rawRecord(kindFrame, append(make([]byte, 9), encPixels, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x01, 0x02, 0x00, 0xFD, 0xFF, 0xAA, 0xBB))...), ReaderOptions{}, ErrCorrupt},
		{"pixels too large", append(append([]byte(nil), empty[:head]...),
			rawRecord(kindFrame, append(make([]byte, 9), encPixels, 0, 0, 0x80, 0, 0, 0, 0, 1, 0, 0, 0, 3))...), ReaderOptions{}, ErrFrameTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := readAll(c.data, c.opts); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if err := readAll(good, ReaderOptions{}); err != nil {
		t.Fatalf("the good recording: %v", err)
	}
}

func TestWriterRefuses(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	n := buf.Len()
	if err := w.WriteFrame(liveness.Frame{Image: &imgproc.RGB{W: maxSide, H: 1, Pix: []byte{1, 2, 3}}}); !errors.Is(err, ErrFrameTooLarge) || buf.Len() != n {
		t.Fatalf("an oversized frame: %v, %d bytes written", err, buf.Len()-n)
	}
	if err := w.Close(testVerdict()); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(testFrames()[0]); !errors.Is(err, ErrClosed) {
		t.Fatalf("a frame after Close: %v", err)
	}
	if err := w.Close(testVerdict()); !errors.Is(err, ErrClosed) {
		t.Fatalf("a second Close: %v", err)
	}
	// A failing destination fails every later write.
	fw := &failWriter{left: 3}
	if _, err := NewWriter(fw, testHeader()); err == nil {
		t.Fatal("NewWriter on a failing destination")
	}
}

type failWriter struct{ left int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.left == 0 {
		return 0, errors.New("disk full")
	}
	f.left--
	return len(p), nil
}

func TestSummaryMatches(t *testing.T) {
	base := Summarize(testVerdict())
	cases := []struct {
		name string
		edit func(s *Summary)
		want bool
	}{
		{"same", func(*Summary) {}, true},
		{"confidence within 1e-9", func(s *Summary) { s.Confidence += 0.9e-9 }, true},
		{"confidence off by 2e-9", func(s *Summary) { s.Confidence -= 2e-9 }, false},
		{"another verdict", func(s *Summary) { s.Verdict = liveness.VerdictPass }, false},
		{"another reason", func(s *Summary) { s.Reasons = []string{"planar_motion"} }, false},
		{"an extra reason", func(s *Summary) { s.Reasons = append(s.Reasons, "planar_motion") }, false},
		{"a layer score differs (not compared)", func(s *Summary) { s.Layers = s.Layers[:1] }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := Summarize(testVerdict())
			c.edit(&o)
			if got := base.Matches(o); got != c.want {
				t.Fatalf("Matches = %v, want %v", got, c.want)
			}
		})
	}
}

// TestReplayRefusesBadConfig: a header whose configuration cannot rebuild
// the analyzer is refused before any frame.
func TestReplayRefusesBadConfig(t *testing.T) {
	cases := []struct {
		name string
		edit func(h *Header)
	}{
		{"active without a challenge plan", func(h *Header) { h.Config.Mode = liveness.Active; h.Config.ChallengePlan = nil }},
		{"light controlled without a plan", func(h *Header) { h.Config.LightPlan = nil }},
		{"light plan off its steps", func(h *Header) { h.Config.LightPlan[1].Start++ }},
		{"unknown mode", func(h *Header) { h.Config.Mode = "sleepy" }},
		{"thresholds reversed", func(h *Header) { h.Config.RetryThreshold = 0.9 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := testHeader()
			c.edit(&h)
			data := record(t, h, nil, testVerdict())
			if _, _, err := Replay(t.Context(), nil, bytes.NewReader(data)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
}
