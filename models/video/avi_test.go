package video

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"livegate.dev/models/imgproc"
)

// TestAVIWriterSetSize: a stream's size may change before its first frame
// (the header, written at Close, carries it), never after.
func TestAVIWriterSetSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.avi")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewAVIWriter(f, 320, 240, 25, 1, 90)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetSize(160, 120); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(imgproc.NewRGB(320, 240)); err == nil {
		t.Fatal("a 320×240 frame was written to a 160×120 stream")
	}
	if err := w.WriteFrame(imgproc.NewRGB(160, 120)); err != nil {
		t.Fatal(err)
	}
	if err := w.SetSize(80, 60); err == nil {
		t.Fatal("size changed after the first frame")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if info := r.Info(); info.Width != 160 || info.Height != 120 {
		t.Fatalf("header says %d×%d, want 160×120", info.Width, info.Height)
	}
}
