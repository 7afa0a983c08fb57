package replay

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"runtime"

	"livegate.dev/models/liveness"
)

// Writer writes one recording as its session runs: NewWriter writes the
// header, WriteFrame each frame fed to the analyzer, Close the verdict.
// Nothing but the current frame is held in memory. A Writer is not safe for
// concurrent use. It does not buffer: wrap a file in a bufio.Writer.
type Writer struct {
	w      io.Writer
	frames int
	err    error // sticky: the first write error
	closed bool

	meta [8 + 1 + 32 + 1 + 12]byte // a frame's fixed fields
	pix  bytes.Buffer              // compressed pixels (reused)
	diff []byte                    // filtered pixels (reused)
	zw   *flate.Writer
}

// NewWriter writes the magic, the version and h (Version set, Arch set to
// runtime.GOARCH when empty) to w.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	h.Version = Version
	if h.Arch == "" {
		h.Arch = runtime.GOARCH
	}
	if h.Config.LightPlan == nil {
		h.Config.LightPlan = []PlanStep{}
	}
	if h.Config.ChallengePlan == nil {
		h.Config.ChallengePlan = []liveness.Challenge{}
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("replay: encoding the header of session %q: %w", h.SessionID, err)
	}
	if len(b) > maxMetaBytes {
		return nil, fmt.Errorf("%w: header of session %q is %d bytes (at most %d)", ErrFrameTooLarge, h.SessionID, len(b), maxMetaBytes)
	}
	rw := &Writer{w: w}
	var pre [10]byte
	copy(pre[:], magic[:])
	binary.BigEndian.PutUint16(pre[8:], Version)
	if _, err := w.Write(pre[:]); err != nil {
		return nil, fmt.Errorf("replay: writing the header of session %q: %w", h.SessionID, err)
	}
	if err := rw.record(kindHeader, b); err != nil {
		return nil, fmt.Errorf("replay: writing the header of session %q: %w", h.SessionID, err)
	}
	return rw, nil
}

// Frames returns the number of frames written.
func (w *Writer) Frames() int { return w.frames }

// record writes one record whose payload is the concatenation of parts.
func (w *Writer) record(kind byte, parts ...[]byte) error {
	if w.err != nil {
		return w.err
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var pre [5]byte
	pre[0] = kind
	binary.BigEndian.PutUint32(pre[1:], uint32(n))
	crc := crc32.Update(0, castagnoli, pre[:1])
	for _, p := range parts {
		crc = crc32.Update(crc, castagnoli, p)
	}
	var post [4]byte
	binary.BigEndian.PutUint32(post[:], crc)
	for _, p := range append(append([][]byte{pre[:]}, parts...), post[:]) {
		if len(p) == 0 {
			continue
		}
		if _, err := w.w.Write(p); err != nil {
			w.err = err
			return err
		}
	}
	return nil
}

// WriteFrame records f exactly as it is (about to be) passed to
// Analyzer.Feed: its timestamp, its light, and its image — Frame.Image's
// pixels when set (it wins in Feed too), else Frame.JPEG's bytes, else no
// image at all (a frame the analyzer will refuse, recorded all the same).
// A frame larger than MaxFrameBytes is refused with ErrFrameTooLarge and
// nothing written.
func (w *Writer) WriteFrame(f liveness.Frame) error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return fmt.Errorf("replay: frame %d: an earlier write failed: %w", w.frames, w.err)
	}
	m := w.meta[:0]
	m = binary.BigEndian.AppendUint64(m, uint64(f.Timestamp))
	if f.Light != nil {
		m = append(m, 1)
		for _, v := range []float64{f.Light.R, f.Light.G, f.Light.B, f.Light.Intensity} {
			m = binary.BigEndian.AppendUint64(m, math.Float64bits(v))
		}
	} else {
		m = append(m, 0)
	}
	var img []byte
	switch {
	case f.Image != nil:
		m = append(m, encPixels)
		p := f.Image
		if p.W < 0 || p.H < 0 || p.W >= maxSide || p.H >= maxSide || len(p.Pix) > MaxFrameBytes {
			return fmt.Errorf("%w: frame %d is %d×%d with %d bytes (at most %d px a side, %d bytes)",
				ErrFrameTooLarge, w.frames, p.W, p.H, len(p.Pix), maxSide-1, MaxFrameBytes)
		}
		m = binary.BigEndian.AppendUint32(m, uint32(p.W))
		m = binary.BigEndian.AppendUint32(m, uint32(p.H))
		m = binary.BigEndian.AppendUint32(m, uint32(len(p.Pix)))
		if err := w.compress(p.Pix); err != nil {
			return fmt.Errorf("replay: frame %d: compressing pixels: %w", w.frames, err)
		}
		img = w.pix.Bytes()
	case len(f.JPEG) > 0:
		m = append(m, encBytes)
		img = f.JPEG
	default:
		m = append(m, encNone)
	}
	if len(m)+len(img) > MaxFrameBytes {
		return fmt.Errorf("%w: frame %d has %d bytes (at most %d)", ErrFrameTooLarge, w.frames, len(m)+len(img), MaxFrameBytes)
	}
	if err := w.record(kindFrame, m, img); err != nil {
		return fmt.Errorf("replay: writing frame %d: %w", w.frames, err)
	}
	w.frames++
	return nil
}

// compress filters pix (each byte minus the byte three before it) and
// deflates it into w.pix.
func (w *Writer) compress(pix []byte) error {
	if cap(w.diff) < len(pix) {
		w.diff = make([]byte, len(pix))
	}
	d := w.diff[:len(pix)]
	for i := range pix {
		if i < 3 {
			d[i] = pix[i]
		} else {
			d[i] = pix[i] - pix[i-3]
		}
	}
	w.pix.Reset()
	if w.zw == nil {
		zw, err := flate.NewWriter(&w.pix, flate.BestSpeed)
		if err != nil {
			return err
		}
		w.zw = zw
	} else {
		w.zw.Reset(&w.pix)
	}
	if _, err := w.zw.Write(d); err != nil {
		return err
	}
	return w.zw.Close()
}

// Close writes the trailer with the verdict the producer got. It does not
// close the underlying writer; a second Close returns ErrClosed.
func (w *Writer) Close(v liveness.Verdict) error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	b, err := json.Marshal(Trailer{Frames: w.frames, Verdict: Summarize(v)})
	if err != nil {
		return fmt.Errorf("replay: encoding the trailer: %w", err)
	}
	if len(b) > maxMetaBytes {
		return fmt.Errorf("%w: trailer is %d bytes (at most %d)", ErrFrameTooLarge, len(b), maxMetaBytes)
	}
	if err := w.record(kindTrailer, b); err != nil {
		return fmt.Errorf("replay: writing the trailer after %d frames: %w", w.frames, err)
	}
	return nil
}
