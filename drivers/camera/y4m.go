package camera

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"livegate.dev/drivers"
)

// y4mHeader is the parsed stream header of a YUV4MPEG2 file.
type y4mHeader struct {
	w, h   int
	fpsNum int
	fpsDen int
	format drivers.PixelFormat
	// limited is true unless the header says XCOLORRANGE=FULL: video range
	// is the convention of y4m files and of ffmpeg's output.
	limited bool
}

// parseY4MHeader reads the "YUV4MPEG2 …" line.
func parseY4MHeader(r *bufio.Reader) (y4mHeader, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return y4mHeader{}, fmt.Errorf("y4m: read header: %w", err)
	}
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != "YUV4MPEG2" {
		return y4mHeader{}, errors.New("y4m: not a YUV4MPEG2 stream")
	}
	h := y4mHeader{fpsNum: 25, fpsDen: 1, format: drivers.FormatI420, limited: true}
	for _, f := range fields[1:] {
		if len(f) < 2 {
			continue
		}
		v := f[1:]
		switch f[0] {
		case 'W':
			h.w, err = strconv.Atoi(v)
		case 'H':
			h.h, err = strconv.Atoi(v)
		case 'F':
			n, d, ok := strings.Cut(v, ":")
			if !ok {
				return h, fmt.Errorf("y4m: frame rate %q", v)
			}
			if h.fpsNum, err = strconv.Atoi(n); err == nil {
				h.fpsDen, err = strconv.Atoi(d)
			}
			if err == nil && (h.fpsNum <= 0 || h.fpsDen <= 0) {
				err = fmt.Errorf("non-positive rate %q", v)
			}
		case 'I':
			if v != "p" && v != "?" {
				return h, fmt.Errorf("y4m: interlaced streams (I%s) are not supported", v)
			}
		case 'X':
			switch strings.ToUpper(v) {
			case "COLORRANGE=FULL":
				h.limited = false
			case "COLORRANGE=LIMITED":
				h.limited = true
			}
		case 'C':
			switch v {
			case "420", "420jpeg", "420paldv", "420mpeg2":
				h.format = drivers.FormatI420
			case "mono":
				h.format = drivers.FormatGray
			default:
				return h, fmt.Errorf("y4m: colour space C%s not supported (8-bit 420, 420jpeg, 420paldv, 420mpeg2 and mono are)", v)
			}
		}
		if err != nil {
			return h, fmt.Errorf("y4m: header field %q: %w", f, err)
		}
	}
	if h.w <= 0 || h.h <= 0 {
		return h, fmt.Errorf("y4m: missing or invalid size W%d H%d", h.w, h.h)
	}
	return h, nil
}

// readY4MFrame reads one "FRAME…\n" marker and its data into buf.
func readY4MFrame(r *bufio.Reader, buf []byte) error {
	line, err := r.ReadString('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && line == "" {
			return io.EOF
		}
		return fmt.Errorf("y4m: read frame marker: %w", err)
	}
	if !strings.HasPrefix(line, "FRAME") {
		return fmt.Errorf("y4m: expected FRAME, got %q", truncate(line, 16))
	}
	if _, err := io.ReadFull(r, buf); err != nil {
		return fmt.Errorf("y4m: read frame data: %w", err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// Y4MWriter writes I420 or Gray frames as a YUV4MPEG2 stream.
type Y4MWriter struct {
	w      io.Writer
	format drivers.FrameFormat
}

// NewY4MWriter writes the stream header for f (FormatI420 or FormatGray)
// to w, with XCOLORRANGE from f.LimitedRange.
func NewY4MWriter(w io.Writer, f drivers.FrameFormat) (*Y4MWriter, error) {
	c := "420jpeg"
	switch f.Format {
	case drivers.FormatI420:
	case drivers.FormatGray:
		c = "mono"
	default:
		return nil, fmt.Errorf("y4m: cannot write %s", f.Format)
	}
	num, den := fpsRatio(f.FPS)
	rng := "FULL"
	if f.LimitedRange {
		rng = "LIMITED"
	}
	if _, err := fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C%s XCOLORRANGE=%s\n", f.Width, f.Height, num, den, c, rng); err != nil {
		return nil, fmt.Errorf("y4m: write header: %w", err)
	}
	return &Y4MWriter{w: w, format: f}, nil
}

// WriteFrame appends one frame, which must match the stream format.
func (y *Y4MWriter) WriteFrame(fr drivers.Frame) error {
	f := y.format
	if fr.Format != f.Format || fr.Width != f.Width || fr.Height != f.Height {
		return fmt.Errorf("y4m: frame %d is %s %dx%d, stream is %s", fr.Seq, fr.Format, fr.Width, fr.Height, f)
	}
	n := f.Format.FrameSize(f.Width, f.Height)
	if len(fr.Data) < n {
		return fmt.Errorf("y4m: frame %d has %d bytes, want %d", fr.Seq, len(fr.Data), n)
	}
	if _, err := io.WriteString(y.w, "FRAME\n"); err != nil {
		return fmt.Errorf("y4m: write frame %d: %w", fr.Seq, err)
	}
	if _, err := y.w.Write(fr.Data[:n]); err != nil {
		return fmt.Errorf("y4m: write frame %d: %w", fr.Seq, err)
	}
	return nil
}

// fpsRatio turns a rate into the integer ratio y4m wants (30000:1001 for
// 29.97).
func fpsRatio(fps float64) (int, int) {
	if fps <= 0 {
		return 25, 1
	}
	if fps == float64(int(fps)) {
		return int(fps), 1
	}
	return int(fps*1001 + 0.5), 1001
}
