package camera

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"livegate.dev/drivers"
)

// FileOpts configures a File source.
type FileOpts struct {
	// FPS is the playback rate. Optional. Default: the y4m header's rate;
	// 25 for MJPEG files and image folders.
	FPS float64
	// Clock paces delivery and stamps frames. Optional. Default:
	// drivers.RealClock.
	Clock drivers.Clock
	// Loop restarts at the first frame after the last instead of returning
	// io.EOF. Optional. Default: false.
	Loop bool
	// DropLate drops frames the consumer is a full frame period late for,
	// as a live camera would; Seq shows the gap. Optional. Default: false
	// (every frame is delivered, late ones at once).
	DropLate bool
}

// frameReader reads the frames of one file format.
type frameReader interface {
	// next reads the next frame into buf (grown as needed) and returns it,
	// or io.EOF.
	next(buf []byte) ([]byte, error)
	rewind() error
	close() error
}

// File plays a recording as a drivers.FrameSource.
type File struct {
	path   string
	r      frameReader
	format drivers.FrameFormat
	opts   FileOpts
	period time.Duration

	mu    sync.Mutex
	buf   []byte
	start time.Time
	seq   uint64
}

var _ drivers.FrameSource = (*File)(nil)

// OpenFile opens a y4m file (.y4m), an MJPEG stream file (.mjpeg, .mjpg:
// concatenated JPEG images) or a folder of .jpg/.jpeg or .png images
// (played in name order; JPEGs are delivered as MJPEG frames, PNGs as
// RGB24). Compressed videos (.mp4, .webm, .mkv, .avi, .mov) are decoded by
// an ffmpeg child process into y4m (I420 frames) when ffmpeg is on PATH; on
// a kiosk without ffmpeg, convert them to y4m beforehand.
func OpenFile(path string, opts FileOpts) (*File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("camera file: %w", err)
	}
	var (
		r  frameReader
		ff drivers.FrameFormat
	)
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case st.IsDir():
		r, ff, err = openDir(path)
	case ext == ".y4m":
		r, ff, err = openY4M(path)
	case ext == ".mjpeg" || ext == ".mjpg":
		r, ff, err = openMJPEG(path)
	case ffmpegExts[ext]:
		r, ff, err = openFFmpeg(path)
	default:
		err = fmt.Errorf("unknown recording type %q (want .y4m, .mjpeg, .mjpg, a folder of images, or with ffmpeg installed .mp4, .webm, .mkv, .avi, .mov)", ext)
	}
	if err != nil {
		return nil, fmt.Errorf("camera file %s: %w", path, err)
	}
	if opts.FPS > 0 {
		ff.FPS = opts.FPS
	}
	if ff.FPS <= 0 {
		ff.FPS = 25
	}
	if opts.Clock == nil {
		opts.Clock = drivers.RealClock{}
	}
	return &File{
		path: path, r: r, format: ff, opts: opts,
		period: time.Duration(float64(time.Second) / ff.FPS),
	}, nil
}

// Format reports the recording's format and playback rate.
func (f *File) Format() drivers.FrameFormat { return f.format }

// Next returns the next frame once it is due: frame n is due n frame
// periods after the first call to Next.
func (f *File) Next(ctx context.Context) (drivers.Frame, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.r == nil {
		return drivers.Frame{}, fmt.Errorf("camera file %s: closed", f.path)
	}
	if f.seq == 0 {
		f.start = f.opts.Clock.Now()
	}
	for {
		if err := ctx.Err(); err != nil {
			return drivers.Frame{}, err
		}
		data, err := f.r.next(f.buf)
		if errors.Is(err, io.EOF) && f.opts.Loop && f.seq > 0 {
			if err := f.r.rewind(); err != nil {
				return drivers.Frame{}, fmt.Errorf("camera file %s: rewind: %w", f.path, err)
			}
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return drivers.Frame{}, io.EOF
			}
			return drivers.Frame{}, fmt.Errorf("camera file %s: frame %d: %w", f.path, f.seq, err)
		}
		f.buf = data
		seq := f.seq
		f.seq++
		due := f.start.Add(time.Duration(seq) * f.period)
		late := f.opts.Clock.Now().Sub(due)
		if f.opts.DropLate && late >= f.period {
			continue
		}
		if late < 0 {
			if err := drivers.Sleep(ctx, f.opts.Clock, -late); err != nil {
				return drivers.Frame{}, err
			}
		}
		return drivers.Frame{
			Data: data, Format: f.format.Format, Width: f.format.Width, Height: f.format.Height,
			Time: f.opts.Clock.Now(), Seq: seq, LimitedRange: f.format.LimitedRange,
		}, nil
	}
}

// Close closes the file.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.r == nil {
		return nil
	}
	err := f.r.close()
	f.r = nil
	return err
}

// y4m

type y4mReader struct {
	f    *os.File
	br   *bufio.Reader
	size int
	data int64 // offset of the first FRAME
}

func openY4M(path string) (frameReader, drivers.FrameFormat, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, drivers.FrameFormat{}, err
	}
	br := bufio.NewReaderSize(f, 1<<16)
	h, err := parseY4MHeader(br)
	if err != nil {
		f.Close()
		return nil, drivers.FrameFormat{}, err
	}
	// The header line is the only thing buffered ahead of the first frame.
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		f.Close()
		return nil, drivers.FrameFormat{}, err
	}
	r := &y4mReader{f: f, br: br, size: h.format.FrameSize(h.w, h.h), data: off - int64(br.Buffered())}
	return r, drivers.FrameFormat{Format: h.format, Width: h.w, Height: h.h, FPS: float64(h.fpsNum) / float64(h.fpsDen), LimitedRange: h.limited}, nil
}

func (r *y4mReader) next(buf []byte) ([]byte, error) {
	if cap(buf) < r.size {
		buf = make([]byte, r.size)
	}
	buf = buf[:r.size]
	return buf, readY4MFrame(r.br, buf)
}

func (r *y4mReader) rewind() error {
	if _, err := r.f.Seek(r.data, io.SeekStart); err != nil {
		return err
	}
	r.br.Reset(r.f)
	return nil
}

func (r *y4mReader) close() error { return r.f.Close() }

// MJPEG stream file

type mjpegReader struct {
	f  *os.File
	br *bufio.Reader
}

func openMJPEG(path string) (frameReader, drivers.FrameFormat, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, drivers.FrameFormat{}, err
	}
	r := &mjpegReader{f: f, br: bufio.NewReaderSize(f, 1<<16)}
	first, err := r.next(nil)
	if err != nil {
		f.Close()
		if errors.Is(err, io.EOF) {
			err = errors.New("no JPEG image in the file")
		}
		return nil, drivers.FrameFormat{}, err
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(first))
	if err == nil {
		err = r.rewind()
	}
	if err != nil {
		f.Close()
		return nil, drivers.FrameFormat{}, fmt.Errorf("first frame: %w", err)
	}
	return r, drivers.FrameFormat{Format: drivers.FormatMJPEG, Width: cfg.Width, Height: cfg.Height}, nil
}

func (r *mjpegReader) next(buf []byte) ([]byte, error) { return ReadJPEG(r.br, buf[:0]) }

func (r *mjpegReader) rewind() error {
	if _, err := r.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r.br.Reset(r.f)
	return nil
}

func (r *mjpegReader) close() error { return r.f.Close() }

// ReadJPEG appends the next complete JPEG image (SOI to EOI) from r to buf
// and returns it. Bytes before an SOI marker are skipped; it walks the
// marker segments and the entropy-coded data, so an EOI inside an embedded
// thumbnail does not end the image early. It returns io.EOF when r ends
// before an SOI.
func ReadJPEG(r *bufio.Reader, buf []byte) ([]byte, error) {
	// Find SOI.
	prev := byte(0)
	for {
		b, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return buf, io.EOF
			}
			return buf, err
		}
		if prev == 0xFF && b == 0xD8 {
			break
		}
		prev = b
	}
	buf = append(buf, 0xFF, 0xD8)
	readMarker := func() (byte, error) {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != 0xFF {
			return 0, fmt.Errorf("jpeg: expected a marker, got %#x", b)
		}
		for b == 0xFF { // fill bytes
			if b, err = r.ReadByte(); err != nil {
				return 0, err
			}
		}
		return b, nil
	}
	m, err := readMarker()
	for {
		if err != nil {
			return buf, fmt.Errorf("jpeg: truncated image: %w", noEOF(err))
		}
		buf = append(buf, 0xFF, m)
		switch {
		case m == 0xD9: // EOI
			return buf, nil
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // standalone
			m, err = readMarker()
			continue
		}
		var l [2]byte
		if _, err = io.ReadFull(r, l[:]); err != nil {
			continue
		}
		n := int(l[0])<<8 | int(l[1])
		if n < 2 {
			return buf, fmt.Errorf("jpeg: segment %#x length %d", m, n)
		}
		buf = append(buf, l[0], l[1])
		start := len(buf)
		buf = append(buf, make([]byte, n-2)...)
		if _, err = io.ReadFull(r, buf[start:]); err != nil {
			continue
		}
		if m != 0xDA { // not SOS
			m, err = readMarker()
			continue
		}
		// Entropy-coded data runs to the next marker that is not a
		// stuffed zero or a restart marker.
		m, buf, err = scanEntropy(r, buf)
	}
}

func scanEntropy(r *bufio.Reader, buf []byte) (byte, []byte, error) {
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, buf, err
		}
		if b != 0xFF {
			buf = append(buf, b)
			continue
		}
		for b == 0xFF {
			if b, err = r.ReadByte(); err != nil {
				return 0, buf, err
			}
		}
		if b == 0x00 || (b >= 0xD0 && b <= 0xD7) {
			buf = append(buf, 0xFF, b)
			continue
		}
		return b, buf, nil
	}
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// folder of images

type dirReader struct {
	files []string
	i     int
	png   bool
	w, h  int
}

func openDir(path string) (frameReader, drivers.FrameFormat, error) {
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, drivers.FrameFormat{}, err
	}
	var jpgs, pngs []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".jpg", ".jpeg":
			jpgs = append(jpgs, filepath.Join(path, e.Name()))
		case ".png":
			pngs = append(pngs, filepath.Join(path, e.Name()))
		}
	}
	if len(jpgs) > 0 && len(pngs) > 0 {
		return nil, drivers.FrameFormat{}, errors.New("folder mixes JPEG and PNG images")
	}
	r := &dirReader{files: jpgs}
	if len(pngs) > 0 {
		r.files, r.png = pngs, true
	}
	if len(r.files) == 0 {
		return nil, drivers.FrameFormat{}, errors.New("no .jpg, .jpeg or .png images")
	}
	sort.Strings(r.files)
	f, err := os.Open(r.files[0])
	if err != nil {
		return nil, drivers.FrameFormat{}, err
	}
	defer f.Close()
	var cfg image.Config
	if r.png {
		cfg, err = png.DecodeConfig(f)
	} else {
		cfg, err = jpeg.DecodeConfig(f)
	}
	if err != nil {
		return nil, drivers.FrameFormat{}, fmt.Errorf("%s: %w", r.files[0], err)
	}
	r.w, r.h = cfg.Width, cfg.Height
	ff := drivers.FrameFormat{Format: drivers.FormatMJPEG, Width: cfg.Width, Height: cfg.Height}
	if r.png {
		ff.Format = drivers.FormatRGB24
	}
	return r, ff, nil
}

func (r *dirReader) next(buf []byte) ([]byte, error) {
	if r.i >= len(r.files) {
		return buf, io.EOF
	}
	name := r.files[r.i]
	r.i++
	data, err := os.ReadFile(name)
	if err != nil {
		return buf, err
	}
	if !r.png {
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			return buf, fmt.Errorf("%s: %w", name, err)
		}
		if cfg.Width != r.w || cfg.Height != r.h {
			return buf, fmt.Errorf("%s: size %dx%d differs from the first image's %dx%d", name, cfg.Width, cfg.Height, r.w, r.h)
		}
		return append(buf[:0], data...), nil
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return buf, fmt.Errorf("%s: %w", name, err)
	}
	b := img.Bounds()
	if b.Dx() != r.w || b.Dy() != r.h {
		return buf, fmt.Errorf("%s: size %dx%d differs from the first image's %dx%d", name, b.Dx(), b.Dy(), r.w, r.h)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, r.w, r.h))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	n := r.w * r.h * 3
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	for i, j := 0, 0; i < n; i, j = i+3, j+4 {
		buf[i], buf[i+1], buf[i+2] = rgba.Pix[j], rgba.Pix[j+1], rgba.Pix[j+2]
	}
	return buf, nil
}

func (r *dirReader) rewind() error { r.i = 0; return nil }
func (r *dirReader) close() error  { return nil }
