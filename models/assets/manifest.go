package assets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"livegate.dev/models"
)

// ManifestFile is models/manifest.json: where every fetched file comes from,
// its sha256 and license, and for models the tensors they take and give.
type ManifestFile struct {
	Schema  int            `json:"schema"`
	Comment string         `json:"comment,omitempty"`
	Runtime []RuntimeEntry `json:"runtime"`
	Models  []ModelEntry   `json:"models"`
	Media   []MediaGroup   `json:"media"`
}

// Source is a pinned origin: an npm tarball (`npm pack`), a Debian package
// (`apt-get download`) or a Go module (`go mod download`).
type Source struct {
	Kind    string `json:"kind"` // "npm", "deb" or "gomod"
	Package string `json:"package"`
	Version string `json:"version"`
	// TarballSHA256 is the sha256 of the fetched archive (npm tarball or
	// .deb); empty for Go modules, which go.sum verifies.
	TarballSHA256 string `json:"tarball_sha256,omitempty"`
}

// String is package@version.
func (s Source) String() string { return s.Package + "@" + s.Version }

// ByteRange is a half-open byte range [Start, End) of a packed file.
type ByteRange struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// RuntimeEntry is one ONNX Runtime shared library.
type RuntimeEntry struct {
	Name    string `json:"name"`
	GOARCH  string `json:"goarch"`
	Source  Source `json:"source"`
	Path    string `json:"path"` // path inside the archive
	File    string `json:"file"` // relative to CacheDir()
	SHA256  string `json:"sha256"`
	License string `json:"license"`
}

// ModelEntry is one model: its source file and, for TFLite models, the
// converted ONNX file.
type ModelEntry struct {
	Name   string     `json:"name"`
	Format string     `json:"format"` // format of the source file: "tflite" or "onnx"
	Source Source     `json:"source"`
	Path   string     `json:"path"`            // path inside the archive
	Range  *ByteRange `json:"range,omitempty"` // bytes of Path that are the model, if packed
	// RangeIndex is the file in the archive that lists Range.
	RangeIndex string `json:"range_index,omitempty"`
	File       string `json:"file"` // source file name in ModelsDir()
	SHA256     string `json:"sha256"`
	// ONNXFile is the ONNX file name in ModelsDir(): the converted model, or
	// File itself for a model that is ONNX at the source.
	ONNXFile string `json:"onnx_file"`
	// ONNXSHA256 is the sha256 of ONNXFile, filled by the converter step.
	ONNXSHA256 string       `json:"onnx_sha256"`
	License    string       `json:"license"`
	Inputs     []TensorInfo `json:"inputs"`
	Outputs    []TensorInfo `json:"outputs"`
	Notes      string       `json:"notes,omitempty"`
}

// TensorInfo describes a model input or output.
type TensorInfo struct {
	Name        string  `json:"name"`
	Shape       []int64 `json:"shape"`
	DType       string  `json:"dtype"`
	Layout      string  `json:"layout"` // e.g. "NHWC", "anchors×16"
	Range       string  `json:"range"`  // value range or unit, e.g. "[-1, 1]", "logit"
	Description string  `json:"description,omitempty"`
}

// MediaGroup is a set of test media files from one source.
type MediaGroup struct {
	Name    string      `json:"name"`
	Source  Source      `json:"source"`
	License string      `json:"license"`
	Files   []MediaFile `json:"files"`
}

// MediaFile is one test media file.
type MediaFile struct {
	Path   string `json:"path"` // path inside the archive or module
	File   string `json:"file"` // relative to CacheDir()/media
	SHA256 string `json:"sha256"`
}

var manifestOnce = sync.OnceValues(func() (*ManifestFile, error) {
	return ParseManifest(models.ManifestJSON)
})

// Manifest is the parsed models/manifest.json built into the binary. The
// result is shared: do not modify it.
func Manifest() (*ManifestFile, error) { return manifestOnce() }

// ParseManifest parses and checks a manifest.
func ParseManifest(data []byte) (*ManifestFile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m ManifestFile
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("assets: parse manifest: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("assets: manifest: %w", err)
	}
	return &m, nil
}

// Model is the entry of the model with this name (e.g.
// "face_detection_short_range").
func (m *ManifestFile) Model(name string) (*ModelEntry, error) {
	for i := range m.Models {
		if m.Models[i].Name == name {
			return &m.Models[i], nil
		}
	}
	return nil, fmt.Errorf("assets: manifest has no model %q", name)
}

func (m *ManifestFile) validate() error {
	if m.Schema != 1 {
		return fmt.Errorf("schema %d, want 1", m.Schema)
	}
	names := map[string]bool{}
	for _, e := range m.Models {
		if e.Name == "" || names[e.Name] {
			return fmt.Errorf("model name %q empty or repeated", e.Name)
		}
		names[e.Name] = true
		if err := checkSource(e.Source); err != nil {
			return fmt.Errorf("model %s: %w", e.Name, err)
		}
		if !isSHA256(e.SHA256) || e.File == "" || e.ONNXFile == "" {
			return fmt.Errorf("model %s: needs file, onnx_file and a sha256", e.Name)
		}
		if e.ONNXSHA256 != "" && !isSHA256(e.ONNXSHA256) {
			return fmt.Errorf("model %s: onnx_sha256 %q is not a sha256", e.Name, e.ONNXSHA256)
		}
		if e.Range != nil && (e.Range.Start < 0 || e.Range.End <= e.Range.Start) {
			return fmt.Errorf("model %s: bad byte range %d-%d", e.Name, e.Range.Start, e.Range.End)
		}
		if len(e.Inputs) == 0 || len(e.Outputs) == 0 {
			return fmt.Errorf("model %s: no inputs or outputs described", e.Name)
		}
	}
	for _, e := range m.Runtime {
		if err := checkSource(e.Source); err != nil {
			return fmt.Errorf("runtime %s/%s: %w", e.Name, e.GOARCH, err)
		}
		if !isSHA256(e.SHA256) || e.File == "" {
			return fmt.Errorf("runtime %s/%s: needs file and a sha256", e.Name, e.GOARCH)
		}
	}
	for _, g := range m.Media {
		if err := checkSource(g.Source); err != nil {
			return fmt.Errorf("media %s: %w", g.Name, err)
		}
		for _, f := range g.Files {
			if !isSHA256(f.SHA256) || f.File == "" || f.Path == "" {
				return fmt.Errorf("media %s: file %q needs path, file and a sha256", g.Name, f.File)
			}
		}
	}
	return nil
}

func checkSource(s Source) error {
	switch s.Kind {
	case "npm", "deb":
		if !isSHA256(s.TarballSHA256) {
			return fmt.Errorf("source %s: %s archive needs tarball_sha256", s, s.Kind)
		}
	case "gomod":
	default:
		return fmt.Errorf("source %s: unknown kind %q", s, s.Kind)
	}
	if s.Package == "" || s.Version == "" {
		return fmt.Errorf("source %q: needs package and version", s)
	}
	return nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
