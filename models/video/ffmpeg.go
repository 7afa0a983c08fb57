package video

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
)

// FFmpegReader decodes any format ffmpeg reads, piped as y4m. Frame
// timestamps follow the constant frame rate ffmpeg declares (it duplicates
// or drops frames of variable-rate input to keep it).
type FFmpegReader struct {
	*Y4MReader
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stderr *limitedBuffer
	once   sync.Once
	err    error
}

var _ Reader = (*FFmpegReader)(nil)

// FFmpegAvailable reports whether the ffmpeg executable of opts is found.
func FFmpegAvailable(opts Options) bool {
	_, err := exec.LookPath(opts.withDefaults().FFmpeg)
	return err == nil
}

// limitedBuffer keeps the first 4 KiB written (ffmpeg's error message); it
// is written by exec's copying goroutine and read by Next.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 4096 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// OpenFFmpeg starts ffmpeg decoding path into a y4m pipe (8-bit 4:2:0 or
// 4:4:4 as the source has it is not guaranteed, so 4:2:0 is asked for). The
// process ends with ctx or Close.
func OpenFFmpeg(ctx context.Context, path string, opts Options) (*FFmpegReader, error) {
	opts = opts.withDefaults()
	bin, err := exec.LookPath(opts.FFmpeg)
	if err != nil {
		return nil, fmt.Errorf("video: %s: %w", path, ErrNoFFmpeg)
	}
	cctx, cancel := context.WithCancel(ctx)
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-i", path, "-an", "-sn"}
	if opts.FFmpegFilter != "" {
		args = append(args, "-vf", opts.FFmpegFilter)
	}
	args = append(args, "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-")
	cmd := exec.CommandContext(cctx, bin, args...)
	stderr := &limitedBuffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("video: ffmpeg pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("video: start ffmpeg: %w", err)
	}
	f := &FFmpegReader{cmd: cmd, cancel: cancel, stderr: stderr}
	y, err := NewY4MReader(out, opts)
	if err != nil {
		werr := f.Close()
		msg := strings.TrimSpace(stderr.String())
		if msg != "" {
			return nil, fmt.Errorf("video: ffmpeg %s: %s: %w", path, msg, errors.Join(err, werr))
		}
		return nil, fmt.Errorf("video: ffmpeg %s: %w", path, err)
	}
	y.info.Format = "ffmpeg"
	f.Y4MReader = y
	return f, nil
}

// Next returns the next frame; an ffmpeg failure mid-stream is reported with
// its message.
func (f *FFmpegReader) Next(ctx context.Context) (Frame, error) {
	fr, err := f.Y4MReader.Next(ctx)
	if err != nil && !errors.Is(err, io.EOF) {
		if msg := strings.TrimSpace(f.stderr.String()); msg != "" {
			return fr, fmt.Errorf("%w (ffmpeg: %s)", err, msg)
		}
	}
	return fr, err
}

// Close ends ffmpeg and waits for it.
func (f *FFmpegReader) Close() error {
	f.once.Do(func() {
		f.cancel()
		err := f.cmd.Wait()
		var ee *exec.ExitError
		// Killed by Close (or ctx) before it finished: not an error of the clip.
		if err != nil && !errors.As(err, &ee) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			f.err = fmt.Errorf("video: ffmpeg: %w", err)
		}
	})
	return f.err
}
