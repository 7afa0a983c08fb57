package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"livegate.dev/models/imgproc"
)

// Errors returned (wrapped) by the readers.
var (
	// ErrFormat reports input that is not a valid clip of the expected
	// format (bad header, bad chunk, unsupported variant).
	ErrFormat = errors.New("video: invalid or unsupported format")
	// ErrTruncated reports a clip that ends inside a frame.
	ErrTruncated = errors.New("video: truncated clip")
	// ErrTooLarge reports a frame size above Options.MaxPixels or a chunk
	// above Options.MaxFrameBytes.
	ErrTooLarge = errors.New("video: frame exceeds the size limit")
	// ErrNoFFmpeg reports that a file needs ffmpeg and ffmpeg is not installed.
	ErrNoFFmpeg = errors.New("video: ffmpeg is not installed (needed for formats other than y4m, MJPEG AVI and frame folders)")
)

// Defaults for Options.
const (
	DefaultMaxPixels     = 4096 * 4096
	DefaultMaxFrameBytes = 32 << 20
	DefaultFPS           = 25.0
)

// Options bounds and configures the readers. The zero value is valid.
type Options struct {
	// MaxPixels is the largest width×height accepted, checked from the
	// header before any allocation. Optional. Default: DefaultMaxPixels.
	MaxPixels int
	// MaxFrameBytes is the largest encoded frame (AVI chunk, image file)
	// read. Optional. Default: DefaultMaxFrameBytes.
	MaxFrameBytes int64
	// FPS is the frame rate of a frame folder. Optional. Default: 25.
	FPS float64
	// FFmpeg is the ffmpeg executable. Optional. Default: "ffmpeg" looked up
	// in PATH.
	FFmpeg string
	// FFmpegFilter is an ffmpeg video filter chain (-vf) applied when a file
	// is decoded through ffmpeg, e.g. "scale=320:240". Optional.
	FFmpegFilter string
}

func (o Options) withDefaults() Options {
	if o.MaxPixels <= 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if o.FPS <= 0 {
		o.FPS = DefaultFPS
	}
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	return o
}

// Info describes a clip.
type Info struct {
	// Format is "y4m", "avi", "folder" or "ffmpeg".
	Format string `json:"format"`
	// Width and Height are the frame size in pixels (of the first frame for
	// a folder).
	Width  int `json:"width"`
	Height int `json:"height"`
	// FPSNum/FPSDen is the frame rate as declared by the clip.
	FPSNum int `json:"fps_num"`
	FPSDen int `json:"fps_den"`
	// Frames is the frame count when the container declares it, else -1.
	Frames int `json:"frames"`
}

// FPS returns the frame rate as a float (0 when unknown).
func (i Info) FPS() float64 {
	if i.FPSDen <= 0 {
		return 0
	}
	return float64(i.FPSNum) / float64(i.FPSDen)
}

// Frame is one decoded frame. Image is owned by the Reader and overwritten by
// the next call to Next: copy what you keep.
type Frame struct {
	// Index counts frame periods from the start (a dropped AVI frame leaves a
	// gap).
	Index int
	// Timestamp is the frame's presentation time from the clip's start.
	Timestamp time.Duration
	Image     *imgproc.RGB
}

// Reader yields a clip's frames in order.
type Reader interface {
	// Info describes the clip.
	Info() Info
	// Next returns the next frame, or io.EOF after the last one.
	Next(ctx context.Context) (Frame, error)
	// Close releases the file (and ends ffmpeg).
	Close() error
}

// frameTime returns index periods of num/den frames per second.
func frameTime(index, num, den int) time.Duration {
	if num <= 0 || den <= 0 {
		return 0
	}
	return time.Duration(int64(index) * int64(den) * int64(time.Second) / int64(num))
}

// Open opens the clip at path: a directory is a frame folder; a file is
// recognised by its first bytes (y4m, RIFF AVI) and anything else is decoded
// through ffmpeg.
func Open(ctx context.Context, path string, opts Options) (Reader, error) {
	opts = opts.withDefaults()
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("video: open %s: %w", path, err)
	}
	if st.IsDir() {
		return OpenFolder(path, opts)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("video: open %s: %w", path, err)
	}
	var magic [12]byte
	n, _ := io.ReadFull(f, magic[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("video: open %s: %w", path, err)
	}
	switch {
	case n >= 10 && string(magic[:10]) == "YUV4MPEG2 ":
		r, err := NewY4MReader(f, opts)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("video: %s: %w", path, err)
		}
		r.closer = f
		return r, nil
	case n == 12 && string(magic[:4]) == "RIFF" && string(magic[8:12]) == "AVI ":
		r, err := NewAVIReader(f, opts)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("video: %s: %w", path, err)
		}
		r.closer = f
		return r, nil
	}
	f.Close()
	return OpenFFmpeg(ctx, path, opts)
}

// ReadAll reads every frame of r, calling fn with each (fn must copy the
// image if it keeps it). It stops at the first error of fn or the reader.
func ReadAll(ctx context.Context, r Reader, fn func(Frame) error) error {
	for {
		fr, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(fr); err != nil {
			return err
		}
	}
}

// Clone returns a copy of m.
func Clone(m *imgproc.RGB) *imgproc.RGB {
	c := &imgproc.RGB{W: m.W, H: m.H, Pix: make([]uint8, len(m.Pix[:m.W*m.H*3]))}
	copy(c.Pix, m.Pix)
	return c
}
