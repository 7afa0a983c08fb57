package video

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"livegate.dev/models/imgproc"
)

// FolderReader reads a folder of JPEG/PNG frames in name order.
type FolderReader struct {
	files []string
	opts  Options
	info  Info
	img   imgproc.RGB
	data  []byte
	index int
}

var _ Reader = (*FolderReader)(nil)

// IsFrameFile reports whether name has a frame extension (.jpg, .jpeg, .png).
func IsFrameFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

// OpenFolder lists the frames of dir; timestamps are index/opts.FPS. The
// first frame is decoded to learn the size.
func OpenFolder(dir string, opts Options) (*FolderReader, error) {
	opts = opts.withDefaults()
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("video: frame folder %s: %w", dir, err)
	}
	f := &FolderReader{opts: opts}
	for _, e := range ents {
		if !e.IsDir() && IsFrameFile(e.Name()) {
			f.files = append(f.files, filepath.Join(dir, e.Name()))
		}
	}
	if len(f.files) == 0 {
		return nil, fmt.Errorf("video: frame folder %s has no .jpg or .png files: %w", dir, ErrFormat)
	}
	sort.Strings(f.files)
	num, den := fpsRational(opts.FPS)
	f.info = Info{Format: "folder", Frames: len(f.files), FPSNum: num, FPSDen: den}
	if err := f.decode(0); err != nil {
		return nil, err
	}
	f.info.Width, f.info.Height = f.img.W, f.img.H
	return f, nil
}

// fpsRational turns a frame rate into num/den (×1001 for NTSC-like rates).
func fpsRational(fps float64) (int, int) {
	if r := math.Round(fps); math.Abs(fps-r) < 1e-6 {
		return int(r), 1
	}
	return int(math.Round(fps * 1001)), 1001
}

func (f *FolderReader) decode(i int) error {
	fh, err := os.Open(f.files[i])
	if err != nil {
		return fmt.Errorf("video: frame %s: %w", f.files[i], err)
	}
	defer fh.Close()
	f.data = f.data[:0]
	buf := f.data
	n, err := readLimited(fh, &buf, f.opts.MaxFrameBytes)
	f.data = buf
	if err != nil {
		return fmt.Errorf("video: frame %s: %w", f.files[i], err)
	}
	if _, err := imgproc.DecodeBytes(f.data[:n], &f.img, imgproc.DecodeOptions{MaxPixels: f.opts.MaxPixels}); err != nil {
		return fmt.Errorf("video: frame %s: %w", f.files[i], err)
	}
	return nil
}

// readLimited reads r into *buf (reused), failing above limit bytes.
func readLimited(r io.Reader, buf *[]byte, limit int64) (int, error) {
	b := (*buf)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			*buf = b
			return 0, fmt.Errorf("more than %d bytes: %w", limit, ErrTooLarge)
		}
		if err == io.EOF {
			*buf = b
			return len(b), nil
		}
		if err != nil {
			*buf = b
			return 0, err
		}
	}
}

// Info describes the folder.
func (f *FolderReader) Info() Info { return f.info }

// Files returns the frame files in order.
func (f *FolderReader) Files() []string { return f.files }

// Next decodes the next frame file.
func (f *FolderReader) Next(ctx context.Context) (Frame, error) {
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if f.index >= len(f.files) {
		return Frame{}, io.EOF
	}
	i := f.index
	f.index++
	if i > 0 { // frame 0 was decoded by OpenFolder
		if err := f.decode(i); err != nil {
			return Frame{}, err
		}
	}
	return Frame{Index: i, Timestamp: frameTime(i, f.info.FPSNum, f.info.FPSDen), Image: &f.img}, nil
}

// Close does nothing: files are opened one at a time.
func (f *FolderReader) Close() error { return nil }
