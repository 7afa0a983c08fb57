package assets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Environment variables that move the fetched files.
const (
	EnvCache  = "LIVEGATE_CACHE"
	EnvModels = "LIVEGATE_MODELS"
	EnvORTLib = "LIVEGATE_ORT_LIB"
)

// FixCommand is the command that fetches and verifies every file this package
// looks up.
const FixCommand = "make setup"

// ErrMissing is wrapped by every error about a file that is not where it
// should be.
var ErrMissing = errors.New("missing file")

// CacheDir is $LIVEGATE_CACHE, or ~/.cache/livegate when it is unset.
func CacheDir() string {
	if d := os.Getenv(EnvCache); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(os.TempDir(), "livegate-cache")
	}
	return filepath.Join(home, ".cache", "livegate")
}

// ModelsDir is $LIVEGATE_MODELS, or CacheDir()/models when it is unset.
func ModelsDir() string {
	if d := os.Getenv(EnvModels); d != "" {
		return d
	}
	return filepath.Join(CacheDir(), "models")
}

// ORTLibFor is the path of the cached ONNX Runtime library for a GOARCH
// (amd64, arm64), without looking at LIVEGATE_ORT_LIB or the file system.
func ORTLibFor(goarch string) string {
	return filepath.Join(CacheDir(), "ort", "linux-"+goarch, "libonnxruntime.so.1")
}

// ORTLib is the ONNX Runtime shared library to load: $LIVEGATE_ORT_LIB, or the
// cached library for this GOARCH. A missing file is an error naming the path
// and the fix.
func ORTLib() (string, error) {
	if runtime.GOOS != "linux" {
		return "", fmt.Errorf("assets: ONNX Runtime library: only linux is supported, not %s", runtime.GOOS)
	}
	if p := os.Getenv(EnvORTLib); p != "" {
		if err := isFile(p); err != nil {
			return "", fmt.Errorf("assets: ONNX Runtime library %s (from %s): %w; unset %s or run `%s`",
				p, EnvORTLib, err, EnvORTLib, FixCommand)
		}
		return p, nil
	}
	p := ORTLibFor(runtime.GOARCH)
	if err := isFile(p); err != nil {
		return "", fmt.Errorf("assets: ONNX Runtime library %s: %w; run `%s` (or set %s)",
			p, err, FixCommand, EnvORTLib)
	}
	return p, nil
}

// Model is the path of a model file in ModelsDir by its file name, e.g.
// "face_detection_short_range.onnx". A missing file is an error naming it and
// the fix.
func Model(name string) (string, error) {
	if name == "" || filepath.Base(name) != name {
		return "", fmt.Errorf("assets: model %q: want a plain file name", name)
	}
	p := filepath.Join(ModelsDir(), name)
	if err := isFile(p); err != nil {
		return "", fmt.Errorf("assets: model %s: %w; run `%s`", p, err, FixCommand)
	}
	return p, nil
}

// Media is the path of a test media file under CacheDir()/media, e.g.
// "grace_hopper_512x512.jpg" or "johns/John_Simm/…jpg". A missing file is an
// error naming it and the fix.
func Media(rel string) (string, error) {
	clean := filepath.Clean(rel)
	if rel == "" || filepath.IsAbs(clean) || clean == ".." || len(clean) > 2 && clean[:3] == "../" {
		return "", fmt.Errorf("assets: media %q: want a path relative to the media directory", rel)
	}
	p := filepath.Join(CacheDir(), "media", clean)
	if err := isFile(p); err != nil {
		return "", fmt.Errorf("assets: media %s: %w; run `%s`", p, err, FixCommand)
	}
	return p, nil
}

func isFile(p string) error {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return ErrMissing
	case err != nil:
		return fmt.Errorf("%w: %w", ErrMissing, err)
	case !st.Mode().IsRegular():
		return fmt.Errorf("%w: not a regular file", ErrMissing)
	}
	return nil
}
