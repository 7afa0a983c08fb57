package replay

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"time"

	"livegate.dev/models/imgproc"
	"livegate.dev/models/liveness"
)

// ReaderOptions configures NewReaderOptions.
type ReaderOptions struct {
	// MaxFrameBytes is the largest frame accepted: its record's payload and
	// its decoded pixels. Optional. Default: MaxFrameBytes (64 MiB).
	MaxFrameBytes int
}

// Reader reads a recording frame by frame; memory holds one frame at a
// time. It is not safe for concurrent use.
type Reader struct {
	r      *bufio.Reader
	max    int
	hdr    Header
	frames int
	tr     *Trailer
	err    error // sticky

	buf []byte
	img imgproc.RGB
	zr  io.ReadCloser
}

// NewReader reads the magic, the version and the header of a recording.
func NewReader(r io.Reader) (*Reader, error) { return NewReaderOptions(r, ReaderOptions{}) }

// NewReaderOptions is NewReader with options.
func NewReaderOptions(r io.Reader, o ReaderOptions) (*Reader, error) {
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = MaxFrameBytes
	}
	rd := &Reader{r: bufio.NewReaderSize(r, 64<<10), max: o.MaxFrameBytes}
	var pre [10]byte
	if n, err := io.ReadFull(rd.r, pre[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			if n > 0 && (n >= 8 && bytes.Equal(pre[:8], magic[:]) || n < 8 && bytes.HasPrefix(magic[:], pre[:n])) {
				return nil, fmt.Errorf("%w: the input ends inside its first 10 bytes (%d)", ErrTruncated, n)
			}
			return nil, fmt.Errorf("%w: %d bytes, shorter than a recording's magic and version", ErrNotRecording, n)
		}
		return nil, fmt.Errorf("replay: reading the magic: %w", err)
	}
	if !bytes.Equal(pre[:8], magic[:]) {
		return nil, fmt.Errorf("%w: it starts with %q, want %q", ErrNotRecording, pre[:8], magic[:])
	}
	if v := binary.BigEndian.Uint16(pre[8:]); v != Version {
		return nil, fmt.Errorf("%w: version %d, this reader reads %d", ErrVersion, v, Version)
	}
	kind, p, err := rd.record(maxMetaBytes)
	if err != nil {
		return nil, fmt.Errorf("replay: header: %w", err)
	}
	if kind != kindHeader {
		return nil, fmt.Errorf("%w: first record is %q, want the header", ErrCorrupt, kind)
	}
	if err := json.Unmarshal(p, &rd.hdr); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrCorrupt, err)
	}
	if rd.hdr.Version != Version {
		return nil, fmt.Errorf("%w: the header says version %d, the file %d", ErrCorrupt, rd.hdr.Version, Version)
	}
	return rd, nil
}

// Header returns the recording's header.
func (r *Reader) Header() Header { return r.hdr }

// Trailer returns the trailer once Next has returned io.EOF.
func (r *Reader) Trailer() (Trailer, bool) {
	if r.tr == nil {
		return Trailer{}, false
	}
	return *r.tr, true
}

// record reads one record of at most limit payload bytes; the payload is
// valid until the next call.
func (r *Reader) record(limit int) (byte, []byte, error) {
	var pre [5]byte
	if _, err := io.ReadFull(r.r, pre[:]); err != nil {
		return 0, nil, eofIsTruncated(err, "before a record")
	}
	kind := pre[0]
	n := binary.BigEndian.Uint32(pre[1:])
	if kind != kindHeader && kind != kindFrame && kind != kindTrailer {
		return 0, nil, fmt.Errorf("%w: unknown record kind 0x%02x", ErrCorrupt, kind)
	}
	if int64(n) > int64(limit) {
		return 0, nil, fmt.Errorf("%w: a %q record of %d bytes (at most %d)", ErrFrameTooLarge, kind, n, limit)
	}
	if cap(r.buf) < int(n)+4 {
		r.buf = make([]byte, int(n)+4)
	}
	b := r.buf[:int(n)+4]
	if _, err := io.ReadFull(r.r, b); err != nil {
		return 0, nil, eofIsTruncated(err, fmt.Sprintf("inside a %q record of %d bytes", kind, n))
	}
	p := b[:n]
	crc := crc32.Update(crc32.Update(0, castagnoli, pre[:1]), castagnoli, p)
	if got := binary.BigEndian.Uint32(b[n:]); got != crc {
		return 0, nil, fmt.Errorf("%w: checksum of a %q record of %d bytes", ErrCorrupt, kind, n)
	}
	return kind, p, nil
}

func eofIsTruncated(err error, where string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the input ends %s", ErrTruncated, where)
	}
	return fmt.Errorf("replay: reading %s: %w", where, err)
}

// Next returns the next frame exactly as it was fed, or io.EOF after the
// last one once the trailer was read and checked (Trailer then returns
// it). The frame's image bytes or pixels are valid until the next call.
// Errors are sticky.
func (r *Reader) Next() (liveness.Frame, error) {
	if r.err != nil {
		return liveness.Frame{}, r.err
	}
	f, err := r.next()
	if err != nil {
		r.err = err
	}
	return f, err
}

func (r *Reader) next() (liveness.Frame, error) {
	idx := r.frames
	kind, p, err := r.record(max(r.max, maxMetaBytes))
	if err != nil {
		return liveness.Frame{}, fmt.Errorf("replay: frame %d: %w", idx, err)
	}
	switch kind {
	case kindTrailer:
		if len(p) > maxMetaBytes {
			return liveness.Frame{}, fmt.Errorf("%w: trailer of %d bytes (at most %d)", ErrFrameTooLarge, len(p), maxMetaBytes)
		}
		var t Trailer
		if err := json.Unmarshal(p, &t); err != nil {
			return liveness.Frame{}, fmt.Errorf("%w: trailer: %w", ErrCorrupt, err)
		}
		if t.Frames != r.frames {
			return liveness.Frame{}, fmt.Errorf("%w: the trailer counts %d frames, the file holds %d", ErrCorrupt, t.Frames, r.frames)
		}
		if _, err := r.r.Peek(1); !errors.Is(err, io.EOF) {
			return liveness.Frame{}, fmt.Errorf("%w: bytes after the trailer", ErrCorrupt)
		}
		r.tr = &t
		return liveness.Frame{}, io.EOF
	case kindHeader:
		return liveness.Frame{}, fmt.Errorf("%w: a second header at frame %d", ErrCorrupt, idx)
	}
	if len(p) > r.max {
		return liveness.Frame{}, fmt.Errorf("%w: frame %d has %d bytes (at most %d)", ErrFrameTooLarge, idx, len(p), r.max)
	}
	f, err := r.parseFrame(p)
	if err != nil {
		return liveness.Frame{}, fmt.Errorf("replay: frame %d: %w", idx, err)
	}
	r.frames++
	return f, nil
}

func (r *Reader) parseFrame(p []byte) (liveness.Frame, error) {
	var f liveness.Frame
	if len(p) < 10 {
		return f, fmt.Errorf("%w: %d bytes, too short for a frame", ErrCorrupt, len(p))
	}
	f.Timestamp = time.Duration(binary.BigEndian.Uint64(p))
	flags := p[8]
	p = p[9:]
	if flags&^1 != 0 {
		return f, fmt.Errorf("%w: unknown flags 0x%02x", ErrCorrupt, flags)
	}
	if flags&1 != 0 {
		if len(p) < 33 {
			return f, fmt.Errorf("%w: light cut short", ErrCorrupt)
		}
		var v [4]float64
		for i := range v {
			v[i] = math.Float64frombits(binary.BigEndian.Uint64(p[8*i:]))
		}
		f.Light = &liveness.Light{R: v[0], G: v[1], B: v[2], Intensity: v[3]}
		p = p[32:]
	}
	enc := p[0]
	p = p[1:]
	switch enc {
	case encNone:
		if len(p) != 0 {
			return f, fmt.Errorf("%w: %d image bytes in a frame without an image", ErrCorrupt, len(p))
		}
	case encBytes:
		if len(p) == 0 {
			return f, fmt.Errorf("%w: encoded frame without bytes", ErrCorrupt)
		}
		f.JPEG = p
	case encPixels:
		img, err := r.pixels(p)
		if err != nil {
			return f, err
		}
		f.Image = img
	default:
		return f, fmt.Errorf("%w: unknown image encoding %d", ErrCorrupt, enc)
	}
	return f, nil
}

// pixels decodes a pixel frame into r.img.
func (r *Reader) pixels(p []byte) (*imgproc.RGB, error) {
	if len(p) < 12 {
		return nil, fmt.Errorf("%w: pixel frame header cut short", ErrCorrupt)
	}
	w, h, n := binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:]), binary.BigEndian.Uint32(p[8:])
	if w >= maxSide || h >= maxSide || int64(n) > int64(r.max) {
		return nil, fmt.Errorf("%w: %d×%d pixels with %d bytes (at most %d px a side, %d bytes)", ErrFrameTooLarge, w, h, n, maxSide-1, r.max)
	}
	if r.zr == nil {
		r.zr = flate.NewReader(bytes.NewReader(p[12:]))
	} else if err := r.zr.(flate.Resetter).Reset(bytes.NewReader(p[12:]), nil); err != nil {
		return nil, fmt.Errorf("%w: pixels: %w", ErrCorrupt, err)
	}
	if cap(r.img.Pix) < int(n) {
		r.img.Pix = make([]byte, n)
	}
	r.img.W, r.img.H, r.img.Pix = int(w), int(h), r.img.Pix[:n]
	if _, err := io.ReadFull(r.zr, r.img.Pix); err != nil {
		return nil, fmt.Errorf("%w: pixels: %w", ErrCorrupt, err)
	}
	var one [1]byte
	if k, err := r.zr.Read(one[:]); k != 0 || (err != nil && !errors.Is(err, io.EOF)) {
		return nil, fmt.Errorf("%w: pixels: more than the %d bytes announced", ErrCorrupt, n)
	}
	d := r.img.Pix
	for i := 3; i < len(d); i++ {
		d[i] += d[i-3]
	}
	return &r.img, nil
}
