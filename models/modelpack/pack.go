package modelpack

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"livegate.dev/models/assets"
	"livegate.dev/models/face"
	"livegate.dev/models/imgproc"
	"livegate.dev/models/ort"
)

// IndexName and IndexFormat: the pack's own index, its first tar entry. It
// is the tree payload index of livegate.dev/ota/install (same JSON), kept
// here as its own type so that this module does not depend on ota.
const (
	IndexName   = "index.json"
	IndexFormat = 1
)

// Index lists every file of a pack with its size and SHA-256.
type Index struct {
	Format int         `json:"format"`
	Files  []IndexFile `json:"files"`
}

// IndexFile is one file of a pack.
type IndexFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ModelFiles are the engine's model files, as named in models/manifest.json
// (onnx_file) and loaded by Load: the models the liveness engine runs.
// Packs built before vector format 2 also hold FaceAntiSpoofing.onnx;
// such a pack still installs (its index lists that file and the installer
// verifies its hash like any other) and nothing loads it.
var ModelFiles = []string{face.ShortRangeModel, face.LandmarkModel, face.EmbedModel}

// BuildOptions configures Build.
type BuildOptions struct {
	// ModelsDir holds the ONNX files (the model cache after `make setup`).
	ModelsDir string
	// SelfTestImage is the reference image (JPEG or PNG) with one clearly
	// visible face. It ships inside the pack: use an image you may
	// distribute.
	SelfTestImage string
	// ORT configures the runtime that measures the expected outputs.
	// Optional.
	ORT ort.Options
	// NoManifestCheck skips checking each model against its onnx_sha256 in
	// models/manifest.json (for models converted locally). Optional.
	NoManifestCheck bool
}

// Build measures the self-test vector with the models of o.ModelsDir on
// o.SelfTestImage and writes the pack to w. Each model is checked against
// its onnx_sha256 in models/manifest.json first.
func Build(ctx context.Context, w io.Writer, o BuildOptions) (*Index, *Vector, error) {
	if !o.NoManifestCheck {
		if err := CheckManifest(o.ModelsDir); err != nil {
			return nil, nil, err
		}
	}
	img, err := imgproc.DecodeFile(o.SelfTestImage)
	if err != nil {
		return nil, nil, fmt.Errorf("modelpack: self-test image: %w", err)
	}
	e, err := Load(o.ModelsDir, o.ORT)
	if err != nil {
		return nil, nil, err
	}
	out, err := Measure(ctx, e, img)
	e.Close()
	if err != nil {
		return nil, nil, err
	}
	image, err := os.ReadFile(o.SelfTestImage)
	if err != nil {
		return nil, nil, err
	}
	name := "selftest" + strings.ToLower(filepath.Ext(o.SelfTestImage))
	v := NewVector(name, out)
	ix, err := Write(w, o.ModelsDir, v, image)
	return ix, v, err
}

// CheckManifest checks each of ModelFiles in dir against its onnx_sha256 in
// models/manifest.json.
func CheckManifest(dir string) error {
	m, err := assets.Manifest()
	if err != nil {
		return err
	}
	want := map[string]string{}
	for _, e := range m.Models {
		want[e.ONNXFile] = e.ONNXSHA256
	}
	for _, n := range ModelFiles {
		w, ok := want[n]
		if !ok || w == "" {
			return fmt.Errorf("modelpack: %s has no onnx_sha256 in models/manifest.json", n)
		}
		_, sum, err := hashFile(filepath.Join(dir, n))
		if err != nil {
			return fmt.Errorf("modelpack: %w", err)
		}
		if sum != w {
			return fmt.Errorf("modelpack: %s has sha256 %s, models/manifest.json says %s", filepath.Join(dir, n), sum, w)
		}
	}
	return nil
}

// Write writes a pack of the ModelFiles in modelsDir, the vector and its
// image to w (index first). It does not measure anything: Build does.
func Write(w io.Writer, modelsDir string, v *Vector, image []byte) (*Index, error) {
	vb, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	vb = append(vb, '\n')
	type src struct {
		name string
		path string
		data []byte
	}
	var srcs []src
	for _, n := range ModelFiles {
		srcs = append(srcs, src{name: n, path: filepath.Join(modelsDir, n)})
	}
	srcs = append(srcs, src{name: VectorFile, data: vb}, src{name: v.Image, data: image})
	ix := &Index{Format: IndexFormat}
	for _, s := range srcs {
		var n int64
		var sum string
		if s.data != nil {
			h := sha256.Sum256(s.data)
			n, sum = int64(len(s.data)), hex.EncodeToString(h[:])
		} else if n, sum, err = hashFile(s.path); err != nil {
			return nil, fmt.Errorf("modelpack: %w", err)
		}
		ix.Files = append(ix.Files, IndexFile{Name: s.name, Size: n, SHA256: sum})
	}
	ib, err := json.MarshalIndent(ix, "", "  ")
	if err != nil {
		return nil, err
	}
	ib = append(ib, '\n')
	tw := tar.NewWriter(w)
	put := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		n, err := io.Copy(tw, r)
		if err == nil && n != size {
			err = fmt.Errorf("%s changed while packing (%d of %d bytes)", name, n, size)
		}
		return err
	}
	if err := put(IndexName, int64(len(ib)), bytes.NewReader(ib)); err != nil {
		return nil, fmt.Errorf("modelpack: write: %w", err)
	}
	for i, s := range srcs {
		r := io.Reader(bytes.NewReader(s.data))
		if s.data == nil {
			f, err := os.Open(s.path)
			if err != nil {
				return nil, fmt.Errorf("modelpack: %w", err)
			}
			defer f.Close()
			r = f
		}
		if err := put(s.name, ix.Files[i].Size, r); err != nil {
			return nil, fmt.Errorf("modelpack: write %s: %w", s.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("modelpack: write: %w", err)
	}
	return ix, nil
}

// vectorJSON is selftest.json as any format writes it: format 1 also
// carries anti_spoof, the expected FaceAntiSpoofing score.
type vectorJSON struct {
	Vector
	AntiSpoof json.RawMessage `json:"anti_spoof"`
}

// ParseVector decodes a self-test vector strictly (unknown fields and
// trailing data are refused), of format OldestVectorFormat to
// VectorFormat. A format 1 vector's anti_spoof expectation is read and
// dropped: that model is no longer run, so there is nothing to compare it
// with. Format 2 has no anti_spoof.
func ParseVector(b []byte) (*Vector, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var v vectorJSON
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("modelpack: self-test vector: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("modelpack: self-test vector: trailing data")
	}
	switch {
	case v.Format < OldestVectorFormat || v.Format > VectorFormat:
		return nil, fmt.Errorf("modelpack: self-test vector format %d, want %d…%d", v.Format, OldestVectorFormat, VectorFormat)
	case v.Format >= 2 && v.AntiSpoof != nil:
		return nil, fmt.Errorf("modelpack: self-test vector format %d: anti_spoof is a format 1 field", v.Format)
	}
	return &v.Vector, nil
}

func hashFile(p string) (int64, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return n, hex.EncodeToString(h.Sum(nil)), err
}
