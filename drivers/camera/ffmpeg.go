package camera

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"livegate.dev/drivers"
)

// ffmpegExts are the video containers decoded through ffmpeg.
var ffmpegExts = map[string]bool{".mp4": true, ".webm": true, ".mkv": true, ".avi": true, ".mov": true}

// ffmpegReader decodes a video with an ffmpeg child process writing y4m to
// a pipe. rewind restarts the process; close kills it and waits for it.
type ffmpegReader struct {
	path   string
	cmd    *exec.Cmd
	out    io.ReadCloser
	br     *bufio.Reader
	size   int
	stderr strings.Builder
}

func openFFmpeg(path string) (frameReader, drivers.FrameFormat, error) {
	r := &ffmpegReader{path: path}
	h, err := r.start()
	if err != nil {
		return nil, drivers.FrameFormat{}, err
	}
	r.size = h.format.FrameSize(h.w, h.h)
	return r, drivers.FrameFormat{Format: h.format, Width: h.w, Height: h.h, FPS: float64(h.fpsNum) / float64(h.fpsDen), LimitedRange: h.limited}, nil
}

func (r *ffmpegReader) start() (y4mHeader, error) {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return y4mHeader{}, fmt.Errorf("decoding %s needs ffmpeg on PATH (or convert it to .y4m): %w", r.path, err)
	}
	r.stderr.Reset()
	r.cmd = exec.Command(bin, "-v", "error", "-nostdin", "-i", r.path, "-f", "yuv4mpegpipe", "-pix_fmt", "yuv420p", "-")
	r.cmd.Stderr = &limitedWriter{w: &r.stderr, n: 4096}
	if r.out, err = r.cmd.StdoutPipe(); err != nil {
		return y4mHeader{}, err
	}
	if err := r.cmd.Start(); err != nil {
		return y4mHeader{}, fmt.Errorf("start ffmpeg: %w", err)
	}
	r.br = bufio.NewReaderSize(r.out, 1<<16)
	h, err := parseY4MHeader(r.br)
	if err != nil {
		r.stop()
		return y4mHeader{}, fmt.Errorf("ffmpeg: %w (%s)", err, strings.TrimSpace(r.stderr.String()))
	}
	return h, nil
}

func (r *ffmpegReader) next(buf []byte) ([]byte, error) {
	if cap(buf) < r.size {
		buf = make([]byte, r.size)
	}
	buf = buf[:r.size]
	err := readY4MFrame(r.br, buf)
	if errors.Is(err, io.EOF) {
		if werr := r.cmd.Wait(); werr != nil {
			return buf, fmt.Errorf("ffmpeg: %w (%s)", werr, strings.TrimSpace(r.stderr.String()))
		}
		r.cmd = nil
	}
	return buf, err
}

func (r *ffmpegReader) rewind() error {
	r.stop()
	h, err := r.start()
	if err == nil && h.format.FrameSize(h.w, h.h) != r.size {
		err = fmt.Errorf("ffmpeg: frame size changed on restart")
	}
	return err
}

// stop kills the child (if still running) and reaps it.
func (r *ffmpegReader) stop() {
	if r.cmd == nil {
		return
	}
	if r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
	}
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *ffmpegReader) close() error { r.stop(); return nil }

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
