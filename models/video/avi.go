package video

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"

	"livegate.dev/models/imgproc"
)

// maxHeaderList bounds the AVI header list (hdrl) read into memory.
const maxHeaderList = 1 << 20

// AVIReader reads the MJPEG video stream of an AVI file.
type AVIReader struct {
	br      *bufio.Reader
	closer  io.Closer
	opts    Options
	info    Info
	stream  [2]byte // "00" for stream 0
	data    []byte
	img     imgproc.RGB
	index   int
	scale   uint32
	rate    uint32
	hdrDone bool
}

var _ Reader = (*AVIReader)(nil)

// NewAVIReader parses the RIFF header and the stream headers from r.
func NewAVIReader(r io.Reader, opts Options) (*AVIReader, error) {
	a := &AVIReader{br: bufio.NewReaderSize(r, 64<<10), opts: opts.withDefaults(), info: Info{Format: "avi", Frames: -1}}
	var hdr [12]byte
	if _, err := io.ReadFull(a.br, hdr[:]); err != nil {
		return nil, fmt.Errorf("avi: RIFF header: %v: %w", err, ErrTruncated)
	}
	if string(hdr[:4]) != "RIFF" || string(hdr[8:12]) != "AVI " {
		return nil, fmt.Errorf("avi: no RIFF AVI signature: %w", ErrFormat)
	}
	// Read chunks until the header list is parsed.
	for !a.hdrDone {
		id, size, err := a.chunkHeader()
		if err != nil {
			return nil, fmt.Errorf("avi: before the stream headers: %w", err)
		}
		if id != "LIST" {
			if err := a.skip(size); err != nil {
				return nil, err
			}
			continue
		}
		var typ [4]byte
		if size < 4 {
			return nil, fmt.Errorf("avi: LIST of %d bytes: %w", size, ErrFormat)
		}
		if _, err := io.ReadFull(a.br, typ[:]); err != nil {
			return nil, fmt.Errorf("avi: LIST type: %v: %w", err, ErrTruncated)
		}
		if string(typ[:]) == "movi" {
			return nil, fmt.Errorf("avi: movi before hdrl: %w", ErrFormat)
		}
		if string(typ[:]) != "hdrl" {
			if err := a.skip(size - 4); err != nil {
				return nil, err
			}
			continue
		}
		if size-4 > maxHeaderList {
			return nil, fmt.Errorf("avi: hdrl of %d bytes: %w", size, ErrTooLarge)
		}
		body := make([]byte, pad(size-4))
		if _, err := io.ReadFull(a.br, body); err != nil {
			return nil, fmt.Errorf("avi: hdrl: %v: %w", err, ErrTruncated)
		}
		if err := a.parseHeaders(body[:size-4]); err != nil {
			return nil, err
		}
		a.hdrDone = true
	}
	return a, nil
}

func pad(n uint32) uint32 { return n + n&1 }

// chunkHeader reads a chunk id and size.
func (a *AVIReader) chunkHeader() (string, uint32, error) {
	var h [8]byte
	n, err := io.ReadFull(a.br, h[:])
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return "", 0, io.EOF
		}
		return "", 0, fmt.Errorf("avi: chunk header: %v: %w", err, ErrTruncated)
	}
	return string(h[:4]), binary.LittleEndian.Uint32(h[4:]), nil
}

func (a *AVIReader) skip(size uint32) error {
	if _, err := a.br.Discard(int(pad(size))); err != nil {
		return fmt.Errorf("avi: skipping a chunk of %d bytes: %v: %w", size, err, ErrTruncated)
	}
	return nil
}

// parseHeaders walks the hdrl list: avih, then one strl per stream.
func (a *AVIReader) parseHeaders(b []byte) error {
	var usPerFrame uint32
	streamIdx, found := 0, false
	var walk func(b []byte, inStrl bool) error
	walk = func(b []byte, inStrl bool) error {
		for len(b) >= 8 {
			id := string(b[:4])
			size := binary.LittleEndian.Uint32(b[4:8])
			if uint64(size) > uint64(len(b)-8) {
				return fmt.Errorf("avi: header chunk %q of %d bytes overruns its list: %w", id, size, ErrFormat)
			}
			body := b[8 : 8+size]
			next := 8 + int(pad(size))
			switch id {
			case "avih":
				if len(body) < 40 {
					return fmt.Errorf("avi: avih of %d bytes: %w", size, ErrFormat)
				}
				usPerFrame = binary.LittleEndian.Uint32(body[0:])
				a.info.Frames = int(binary.LittleEndian.Uint32(body[16:]))
			case "LIST":
				if len(body) >= 4 && string(body[:4]) == "strl" {
					if err := walk(body[4:], true); err != nil {
						return err
					}
					streamIdx++
				}
			case "strh":
				if !inStrl || len(body) < 36 || found || string(body[:4]) != "vids" {
					break
				}
				a.scale = binary.LittleEndian.Uint32(body[20:])
				a.rate = binary.LittleEndian.Uint32(body[24:])
				if n := binary.LittleEndian.Uint32(body[32:]); n > 0 {
					a.info.Frames = int(n)
				}
				if streamIdx > 99 {
					return fmt.Errorf("avi: video stream index %d: %w", streamIdx, ErrFormat)
				}
				a.stream = [2]byte{byte('0' + streamIdx/10), byte('0' + streamIdx%10)}
				found = true
				// The format follows in strf.
				rest := b[next:]
				if len(rest) < 8+20 || string(rest[:4]) != "strf" {
					return fmt.Errorf("avi: video stream without strf: %w", ErrFormat)
				}
				bi := rest[8:]
				w := int32(binary.LittleEndian.Uint32(bi[4:]))
				h := int32(binary.LittleEndian.Uint32(bi[8:]))
				if h < 0 {
					h = -h
				}
				if w <= 0 || h <= 0 {
					return fmt.Errorf("avi: frame size %d×%d: %w", w, h, ErrFormat)
				}
				if int64(w)*int64(h) > int64(a.opts.MaxPixels) {
					return fmt.Errorf("avi: frame size %d×%d above %d pixels: %w", w, h, a.opts.MaxPixels, ErrTooLarge)
				}
				a.info.Width, a.info.Height = int(w), int(h)
				switch c := string(bi[16:20]); c {
				case "MJPG", "mjpg", "JPEG", "jpeg", "AVRn", "dmb1":
				default:
					return fmt.Errorf("avi: video codec %q (only MJPEG is read natively): %w", c, ErrFormat)
				}
			}
			b = b[min(next, len(b)):]
		}
		return nil
	}
	if err := walk(b, false); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("avi: no video stream: %w", ErrFormat)
	}
	switch {
	case a.scale > 0 && a.rate > 0:
		a.info.FPSNum, a.info.FPSDen = int(a.rate), int(a.scale)
	case usPerFrame > 0:
		a.rate, a.scale = 1_000_000, usPerFrame
		a.info.FPSNum, a.info.FPSDen = 1_000_000, int(usPerFrame)
	default:
		return fmt.Errorf("avi: no frame rate in the headers: %w", ErrFormat)
	}
	return nil
}

// Info describes the clip.
func (a *AVIReader) Info() Info { return a.info }

// Next decodes the next video frame. Empty frame chunks (dropped frames)
// advance the frame index without producing a frame.
func (a *AVIReader) Next(ctx context.Context) (Frame, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Frame{}, err
		}
		id, size, err := a.chunkHeader()
		if errors.Is(err, io.EOF) {
			return Frame{}, io.EOF
		}
		if err != nil {
			return Frame{}, err
		}
		switch {
		case id == "LIST" || id == "RIFF":
			if size < 4 {
				return Frame{}, fmt.Errorf("avi: %s of %d bytes: %w", id, size, ErrFormat)
			}
			var typ [4]byte
			if _, err := io.ReadFull(a.br, typ[:]); err != nil {
				return Frame{}, fmt.Errorf("avi: %s type: %v: %w", id, err, ErrTruncated)
			}
			switch string(typ[:]) {
			case "movi", "rec ", "AVIX":
				continue // descend: the children follow
			}
			if err := a.skip(size - 4); err != nil {
				return Frame{}, err
			}
		case id[0] == a.stream[0] && id[1] == a.stream[1] && (id[2:] == "dc" || id[2:] == "db"):
			idx := a.index
			a.index++
			if size == 0 {
				continue
			}
			if int64(size) > a.opts.MaxFrameBytes {
				return Frame{}, fmt.Errorf("avi: frame %d of %d bytes: %w", idx, size, ErrTooLarge)
			}
			if cap(a.data) < int(pad(size)) {
				a.data = make([]byte, pad(size))
			}
			a.data = a.data[:pad(size)]
			if _, err := io.ReadFull(a.br, a.data); err != nil {
				return Frame{}, fmt.Errorf("avi: frame %d: %v: %w", idx, err, ErrTruncated)
			}
			if _, err := imgproc.DecodeBytes(a.data[:size], &a.img, imgproc.DecodeOptions{MaxPixels: a.opts.MaxPixels}); err != nil {
				return Frame{}, fmt.Errorf("avi: frame %d: %w", idx, err)
			}
			return Frame{Index: idx, Timestamp: frameTime(idx, int(a.rate), int(a.scale)), Image: &a.img}, nil
		default:
			if err := a.skip(size); err != nil {
				return Frame{}, err
			}
		}
	}
}

// Close closes the underlying file when the reader was made by Open.
func (a *AVIReader) Close() error {
	if a.closer != nil {
		return a.closer.Close()
	}
	return nil
}

// aviHeaderSize is the fixed header AVIWriter writes before the first frame:
// RIFF, hdrl (avih, strl with strh and strf) and the movi list header.
const aviHeaderSize = 12 + 12 + 64 + 12 + 64 + 48 + 12

// AVIWriter writes an MJPEG AVI file with one video stream and an idx1 index.
type AVIWriter struct {
	w             io.WriteSeeker
	width, height int
	fpsNum        int
	fpsDen        int
	quality       int
	pos           int64
	index         []byte
	frames        uint32
	maxFrame      uint32
	rgba          *image.RGBA
	buf           bytes.Buffer
	closed        bool
}

// NewAVIWriter starts an AVI file of width×height frames at fpsNum/fpsDen
// frames per second; quality is the JPEG quality (1–100, 0 means 85).
func NewAVIWriter(w io.WriteSeeker, width, height, fpsNum, fpsDen, quality int) (*AVIWriter, error) {
	if width <= 0 || height <= 0 || fpsNum <= 0 || fpsDen <= 0 || quality < 0 || quality > 100 {
		return nil, fmt.Errorf("video: avi writer %d×%d at %d/%d fps, quality %d: %w", width, height, fpsNum, fpsDen, quality, ErrFormat)
	}
	if quality == 0 {
		quality = 85
	}
	a := &AVIWriter{w: w, width: width, height: height, fpsNum: fpsNum, fpsDen: fpsDen, quality: quality, pos: aviHeaderSize}
	if _, err := w.Write(make([]byte, aviHeaderSize)); err != nil {
		return nil, fmt.Errorf("video: avi writer: %w", err)
	}
	return a, nil
}

// SetSize changes the stream's frame size; it is allowed only before the
// first frame (the headers, written at Close, carry one size).
func (a *AVIWriter) SetSize(width, height int) error {
	if a.frames > 0 || a.closed || width <= 0 || height <= 0 {
		return fmt.Errorf("video: avi writer: size %d×%d after %d frames: %w", width, height, a.frames, ErrFormat)
	}
	a.width, a.height, a.rgba = width, height, nil
	return nil
}

// WriteFrame encodes m as JPEG and appends it.
func (a *AVIWriter) WriteFrame(m *imgproc.RGB) error {
	if m.W != a.width || m.H != a.height {
		return fmt.Errorf("video: avi writer: frame %d×%d, stream %d×%d: %w", m.W, m.H, a.width, a.height, imgproc.ErrFrameSize)
	}
	if a.rgba == nil {
		a.rgba = image.NewRGBA(image.Rect(0, 0, a.width, a.height))
	}
	for i, j := 0, 0; i < m.W*m.H*3; i, j = i+3, j+4 {
		a.rgba.Pix[j], a.rgba.Pix[j+1], a.rgba.Pix[j+2], a.rgba.Pix[j+3] = m.Pix[i], m.Pix[i+1], m.Pix[i+2], 255
	}
	a.buf.Reset()
	if err := jpeg.Encode(&a.buf, a.rgba, &jpeg.Options{Quality: a.quality}); err != nil {
		return fmt.Errorf("video: avi writer: encode frame %d: %w", a.frames, err)
	}
	return a.WriteJPEG(a.buf.Bytes())
}

// WriteJPEG appends an already encoded JPEG frame (an empty one marks a
// dropped frame).
func (a *AVIWriter) WriteJPEG(data []byte) error {
	if a.closed {
		return fmt.Errorf("video: avi writer: write after Close: %w", ErrFormat)
	}
	size := uint32(len(data))
	var h [8]byte
	copy(h[:], "00dc")
	binary.LittleEndian.PutUint32(h[4:], size)
	var e [16]byte
	copy(e[:], "00dc")
	binary.LittleEndian.PutUint32(e[4:], 0x10)
	binary.LittleEndian.PutUint32(e[8:], uint32(a.pos-(aviHeaderSize-4)))
	binary.LittleEndian.PutUint32(e[12:], size)
	a.index = append(a.index, e[:]...)
	if _, err := a.w.Write(h[:]); err != nil {
		return fmt.Errorf("video: avi writer: %w", err)
	}
	if _, err := a.w.Write(data); err != nil {
		return fmt.Errorf("video: avi writer: %w", err)
	}
	a.pos += 8 + int64(size)
	if size&1 == 1 {
		if _, err := a.w.Write([]byte{0}); err != nil {
			return fmt.Errorf("video: avi writer: %w", err)
		}
		a.pos++
	}
	a.frames++
	a.maxFrame = max(a.maxFrame, size)
	return nil
}

// Close writes the index and the final headers. It does not close the
// underlying file.
func (a *AVIWriter) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	var h [8]byte
	copy(h[:], "idx1")
	binary.LittleEndian.PutUint32(h[4:], uint32(len(a.index)))
	if _, err := a.w.Write(h[:]); err != nil {
		return fmt.Errorf("video: avi writer: %w", err)
	}
	if _, err := a.w.Write(a.index); err != nil {
		return fmt.Errorf("video: avi writer: %w", err)
	}
	end := a.pos + 8 + int64(len(a.index))
	var b bytes.Buffer
	le := func(v ...any) {
		for _, x := range v {
			switch x := x.(type) {
			case string:
				b.WriteString(x)
			default:
				_ = binary.Write(&b, binary.LittleEndian, x)
			}
		}
	}
	w, hh := uint32(a.width), uint32(a.height)
	usPerFrame := uint32(int64(a.fpsDen) * 1_000_000 / int64(a.fpsNum))
	le("RIFF", uint32(end-8), "AVI ")
	le("LIST", uint32(4+64+12+64+48), "hdrl")
	le("avih", uint32(56), usPerFrame, uint32(0), uint32(0), uint32(0x10), a.frames, uint32(0), uint32(1), a.maxFrame, w, hh, [4]uint32{})
	le("LIST", uint32(4+64+48), "strl")
	le("strh", uint32(56), "vids", "MJPG", uint32(0), uint16(0), uint16(0), uint32(0), uint32(a.fpsDen), uint32(a.fpsNum), uint32(0), a.frames, a.maxFrame, uint32(0xFFFFFFFF), uint32(0), [4]uint16{0, 0, uint16(w), uint16(hh)})
	le("strf", uint32(40), uint32(40), int32(w), int32(hh), uint16(1), uint16(24), "MJPG", w*hh*3, int32(0), int32(0), uint32(0), uint32(0))
	le("LIST", uint32(a.pos-(aviHeaderSize-4)), "movi")
	if b.Len() != aviHeaderSize {
		return fmt.Errorf("video: avi writer: header of %d bytes, want %d", b.Len(), aviHeaderSize)
	}
	if _, err := a.w.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("video: avi writer: %w", err)
	}
	if _, err := a.w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("video: avi writer: %w", err)
	}
	if _, err := a.w.Seek(end, io.SeekStart); err != nil {
		return fmt.Errorf("video: avi writer: %w", err)
	}
	return nil
}
