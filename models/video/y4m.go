package video

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"livegate.dev/models/imgproc"
)

// maxHeaderLine bounds a y4m stream or frame header line.
const maxHeaderLine = 4096

// Y4MReader reads a YUV4MPEG2 stream.
type Y4MReader struct {
	br         *bufio.Reader
	closer     io.Closer
	info       Info
	sub        [2]int // chroma subsampling shift x, y; -1,-1 for mono
	fullRange  bool
	planes     []byte
	img        imgproc.RGB
	index      int
	frameBytes int
}

var _ Reader = (*Y4MReader)(nil)

// NewY4MReader parses the stream header from r.
func NewY4MReader(r io.Reader, opts Options) (*Y4MReader, error) {
	opts = opts.withDefaults()
	br := bufio.NewReaderSize(r, 64<<10)
	line, err := readLine(br)
	if err != nil {
		return nil, fmt.Errorf("y4m header: %w", err)
	}
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != "YUV4MPEG2" {
		return nil, fmt.Errorf("y4m header: no YUV4MPEG2 signature: %w", ErrFormat)
	}
	y := &Y4MReader{br: br, info: Info{Format: "y4m", Frames: -1, FPSNum: 25, FPSDen: 1}, sub: [2]int{1, 1}}
	for _, f := range fields[1:] {
		key, val := f[0], f[1:]
		switch key {
		case 'W', 'H':
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 || n > 1<<16 {
				return nil, fmt.Errorf("y4m header: bad %c %q: %w", key, val, ErrFormat)
			}
			if key == 'W' {
				y.info.Width = n
			} else {
				y.info.Height = n
			}
		case 'F':
			num, den, ok := strings.Cut(val, ":")
			a, err1 := strconv.Atoi(num)
			b, err2 := strconv.Atoi(den)
			if !ok || err1 != nil || err2 != nil || a <= 0 || b <= 0 {
				return nil, fmt.Errorf("y4m header: bad frame rate %q: %w", val, ErrFormat)
			}
			y.info.FPSNum, y.info.FPSDen = a, b
		case 'C':
			switch val {
			case "420", "420jpeg", "420paldv", "420mpeg2":
				y.sub = [2]int{1, 1}
			case "422":
				y.sub = [2]int{1, 0}
			case "444":
				y.sub = [2]int{0, 0}
			case "mono":
				y.sub = [2]int{-1, -1}
			default:
				return nil, fmt.Errorf("y4m header: colour space C%s (only 8-bit 420, 422, 444, mono): %w", val, ErrFormat)
			}
		case 'I':
			if val != "p" && val != "?" {
				return nil, fmt.Errorf("y4m header: interlaced I%s: %w", val, ErrFormat)
			}
		case 'X':
			if strings.EqualFold(val, "COLORRANGE=FULL") {
				y.fullRange = true
			}
		}
	}
	w, h := y.info.Width, y.info.Height
	if w == 0 || h == 0 {
		return nil, fmt.Errorf("y4m header: missing W or H: %w", ErrFormat)
	}
	if w*h > opts.MaxPixels {
		return nil, fmt.Errorf("y4m header: %d×%d above %d pixels: %w", w, h, opts.MaxPixels, ErrTooLarge)
	}
	y.frameBytes = w * h
	if y.sub[0] >= 0 {
		cw, ch := chromaSize(w, h, y.sub)
		y.frameBytes += 2 * cw * ch
	}
	return y, nil
}

func chromaSize(w, h int, sub [2]int) (int, int) {
	return (w + (1<<sub[0] - 1)) >> sub[0], (h + (1<<sub[1] - 1)) >> sub[1]
}

func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		b, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(buf) > 0 {
				return "", ErrTruncated
			}
			return "", err
		}
		if b == '\n' {
			return string(buf), nil
		}
		buf = append(buf, b)
		if len(buf) > maxHeaderLine {
			return "", fmt.Errorf("header line longer than %d bytes: %w", maxHeaderLine, ErrFormat)
		}
	}
}

// Info describes the stream.
func (y *Y4MReader) Info() Info { return y.info }

// Next reads and converts the next frame.
func (y *Y4MReader) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	line, err := readLine(y.br)
	if errors.Is(err, io.EOF) {
		return Frame{}, io.EOF
	}
	if err != nil {
		return Frame{}, fmt.Errorf("y4m frame %d header: %w", y.index, err)
	}
	if !strings.HasPrefix(line, "FRAME") {
		return Frame{}, fmt.Errorf("y4m frame %d: header %.20q is not FRAME: %w", y.index, line, ErrFormat)
	}
	if cap(y.planes) < y.frameBytes {
		y.planes = make([]byte, y.frameBytes)
	}
	y.planes = y.planes[:y.frameBytes]
	if _, err := io.ReadFull(y.br, y.planes); err != nil {
		return Frame{}, fmt.Errorf("y4m frame %d: %v: %w", y.index, err, ErrTruncated)
	}
	y.convert()
	fr := Frame{Index: y.index, Timestamp: frameTime(y.index, y.info.FPSNum, y.info.FPSDen), Image: &y.img}
	y.index++
	return fr, nil
}

func (y *Y4MReader) convert() {
	w, h := y.info.Width, y.info.Height
	y.img.Reshape(w, h)
	Y := y.planes[:w*h]
	if y.sub[0] < 0 {
		for i, v := range Y {
			g := v
			if !y.fullRange {
				g = clamp8((int32(v) - 16) * 298 >> 8)
			}
			y.img.Pix[i*3], y.img.Pix[i*3+1], y.img.Pix[i*3+2] = g, g, g
		}
		return
	}
	cw, ch := chromaSize(w, h, y.sub)
	U := y.planes[w*h : w*h+cw*ch]
	V := y.planes[w*h+cw*ch : w*h+2*cw*ch]
	for j := 0; j < h; j++ {
		crow := (j >> y.sub[1]) * cw
		for i := 0; i < w; i++ {
			c := crow + i>>y.sub[0]
			r, g, b := yuvToRGB(Y[j*w+i], U[c], V[c], y.fullRange)
			p := (j*w + i) * 3
			y.img.Pix[p], y.img.Pix[p+1], y.img.Pix[p+2] = r, g, b
		}
	}
}

// yuvToRGB converts one BT.601 sample (fixed point, 8 fractional bits).
func yuvToRGB(yv, u, v uint8, full bool) (uint8, uint8, uint8) {
	d, e := int32(u)-128, int32(v)-128
	if full {
		c := int32(yv) << 8
		return clamp8((c + 359*e) >> 8), clamp8((c - 88*d - 183*e) >> 8), clamp8((c + 454*d) >> 8)
	}
	c := 298 * (int32(yv) - 16)
	return clamp8((c + 409*e + 128) >> 8), clamp8((c - 100*d - 208*e + 128) >> 8), clamp8((c + 516*d + 128) >> 8)
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// Close closes the underlying file when the reader was made by Open.
func (y *Y4MReader) Close() error {
	if y.closer != nil {
		return y.closer.Close()
	}
	return nil
}

// Y4MWriter writes RGB frames as a C420jpeg y4m stream, BT.601 limited
// range, progressive, square pixels.
type Y4MWriter struct {
	w          *bufio.Writer
	width      int
	height     int
	planes     []byte
	headerDone bool
	fpsNum     int
	fpsDen     int
}

// NewY4MWriter starts a y4m stream of width×height at fpsNum/fpsDen frames
// per second. Frames of another size are an error.
func NewY4MWriter(w io.Writer, width, height, fpsNum, fpsDen int) (*Y4MWriter, error) {
	if width <= 0 || height <= 0 || fpsNum <= 0 || fpsDen <= 0 {
		return nil, fmt.Errorf("video: y4m writer %d×%d at %d/%d fps: %w", width, height, fpsNum, fpsDen, ErrFormat)
	}
	return &Y4MWriter{w: bufio.NewWriterSize(w, 64<<10), width: width, height: height, fpsNum: fpsNum, fpsDen: fpsDen}, nil
}

// WriteFrame appends one frame.
func (y *Y4MWriter) WriteFrame(m *imgproc.RGB) error {
	if m.W != y.width || m.H != y.height {
		return fmt.Errorf("video: y4m writer: frame %d×%d, stream %d×%d: %w", m.W, m.H, y.width, y.height, imgproc.ErrFrameSize)
	}
	if !y.headerDone {
		if _, err := fmt.Fprintf(y.w, "YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C420jpeg\n", y.width, y.height, y.fpsNum, y.fpsDen); err != nil {
			return fmt.Errorf("video: y4m writer: %w", err)
		}
		y.headerDone = true
	}
	w, h := y.width, y.height
	cw, ch := (w+1)/2, (h+1)/2
	n := w*h + 2*cw*ch
	if cap(y.planes) < n {
		y.planes = make([]byte, n)
	}
	p := y.planes[:n]
	Y, U, V := p[:w*h], p[w*h:w*h+cw*ch], p[w*h+cw*ch:]
	for j := 0; j < h; j++ {
		for i := 0; i < w; i++ {
			q := (j*w + i) * 3
			r, g, b := int32(m.Pix[q]), int32(m.Pix[q+1]), int32(m.Pix[q+2])
			Y[j*w+i] = uint8((66*r+129*g+25*b+128)>>8 + 16)
		}
	}
	for cj := 0; cj < ch; cj++ {
		for ci := 0; ci < cw; ci++ {
			var rs, gs, bs, k int32
			for dj := 0; dj < 2; dj++ {
				for di := 0; di < 2; di++ {
					x, yy := 2*ci+di, 2*cj+dj
					if x >= w || yy >= h {
						continue
					}
					q := (yy*w + x) * 3
					rs += int32(m.Pix[q])
					gs += int32(m.Pix[q+1])
					bs += int32(m.Pix[q+2])
					k++
				}
			}
			r, g, b := rs/k, gs/k, bs/k
			U[cj*cw+ci] = uint8((-38*r-74*g+112*b+128)>>8 + 128)
			V[cj*cw+ci] = uint8((112*r-94*g-18*b+128)>>8 + 128)
		}
	}
	if _, err := y.w.WriteString("FRAME\n"); err != nil {
		return fmt.Errorf("video: y4m writer: %w", err)
	}
	if _, err := y.w.Write(p); err != nil {
		return fmt.Errorf("video: y4m writer: %w", err)
	}
	return nil
}

// Flush writes buffered data; call it (or Close) at the end.
func (y *Y4MWriter) Flush() error {
	if err := y.w.Flush(); err != nil {
		return fmt.Errorf("video: y4m writer: %w", err)
	}
	return nil
}

// Close flushes the stream (it does not close the underlying writer).
func (y *Y4MWriter) Close() error { return y.Flush() }
