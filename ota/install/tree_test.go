package install

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/internal/otatest"
)

// entry is one raw tar entry of a hand-made tree payload.
type entry struct {
	name     string
	typ      byte
	body     string
	link     string
	headSize int64 // if not 0, the header's size (the body is padded)
}

func rawTar(t *testing.T, ents ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range ents {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Linkname: e.link}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func index(t *testing.T, files map[string]string) entry {
	t.Helper()
	ix := TreeIndex{Format: TreeFormat}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		sum := sha256.Sum256([]byte(files[n]))
		ix.Files = append(ix.Files, TreeFile{Name: n, Size: int64(len(files[n])), SHA256: hex.EncodeToString(sum[:])})
	}
	b, err := jsonIndent(ix)
	if err != nil {
		t.Fatal(err)
	}
	return entry{name: TreeIndexName, body: string(b)}
}

func tree(t *testing.T, files map[string]string, names ...string) []byte {
	t.Helper()
	content := map[string][]byte{}
	for n, c := range files {
		content[n] = []byte(c)
	}
	var b bytes.Buffer
	if err := WriteTree(&b, names, content); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// treeRig is a models device whose sim layout unpacks packs, provisioned
// with a pack of two files.
type treeRig struct {
	t      *testing.T
	keys   otatest.Keys
	layout *Sim
	dev    *Device
	health func(Running) error
}

func newTreeRig(t *testing.T) *treeRig {
	t.Helper()
	r := &treeRig{t: t, keys: otatest.NewKeys(t), health: func(Running) error { return nil }}
	var err error
	if r.layout, err = NewSim(t.TempDir(), UnpackTrees(artifact.KindModels)); err != nil {
		t.Fatal(err)
	}
	r.dev, err = New(Config{Layout: r.layout, Trust: r.keys.Trust(t), Kind: artifact.KindModels, Board: "sim", Arch: "amd64",
		Logger: quiet(), Health: func(_ context.Context, run Running) error { return r.health(run) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.dev.Provision(t.Context(), r.art("1.0.0", tree(t, map[string]string{"a.onnx": "model a 1.0", "b.onnx": "model b 1.0"}, "a.onnx", "b.onnx"))); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *treeRig) art(version string, payload []byte) *bytes.Reader {
	return bytes.NewReader(r.keys.Artifact(r.t, otatest.Manifest(artifact.KindModels, version, payload), payload))
}

func slotFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestTreeInstall(t *testing.T) {
	r := newTreeRig(t)
	ctx := t.Context()
	a := r.layout.SlotPath(SlotA)
	if got := slotFiles(t, a); !slices.Equal(got, []string{"a.onnx", "b.onnx", "image", "manifest.json"}) {
		t.Fatalf("slot A holds %v", got)
	}
	// 1.1.0 drops b.onnx and adds c.onnx; the slot holds exactly its files.
	if _, err := r.dev.Install(ctx, r.art("1.1.0", tree(t, map[string]string{"a.onnx": "model a 1.1", "c.onnx": "model c"}, "a.onnx", "c.onnx"))); err != nil {
		t.Fatal(err)
	}
	var seen string
	r.health = func(run Running) error {
		b, err := os.ReadFile(filepath.Join(run.Path, "a.onnx"))
		seen = string(b)
		return err
	}
	run, err := r.dev.Start(ctx)
	if err != nil || run.Version != "1.1.0" || seen != "model a 1.1" {
		t.Fatalf("start: %+v, %v; health read %q", run, err, seen)
	}
	if got := slotFiles(t, run.Path); !slices.Equal(got, []string{"a.onnx", "c.onnx", "image", "manifest.json"}) {
		t.Fatalf("slot B holds %v", got)
	}
	// A tampered, removed or added file makes the slot invalid.
	for name, tamper := range map[string]func(dir string) error{
		"altered file": func(d string) error { return os.WriteFile(filepath.Join(d, "c.onnx"), []byte("model C"), 0o644) },
		"removed file": func(d string) error { return os.Remove(filepath.Join(d, "a.onnx")) },
		"added file":   func(d string) error { return os.WriteFile(filepath.Join(d, "evil.onnx"), nil, 0o644) },
		"file → link": func(d string) error {
			os.Remove(filepath.Join(d, "c.onnx"))
			return os.Symlink(filepath.Join(a, "a.onnx"), filepath.Join(d, "c.onnx"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := NewSim(dir, UnpackTrees(artifact.KindModels))
			if err != nil {
				t.Fatal(err)
			}
			p := tree(t, map[string]string{"a.onnx": "model a", "c.onnx": "model c"}, "a.onnx", "c.onnx")
			if err := l.WriteSlot(ctx, SlotA, otatest.Manifest(artifact.KindModels, "1.0.0", p), bytes.NewReader(p)); err != nil {
				t.Fatal(err)
			}
			if _, err := l.VerifySlot(SlotA); err != nil {
				t.Fatal(err)
			}
			if err := tamper(l.SlotPath(SlotA)); err != nil {
				t.Fatal(err)
			}
			if _, err := l.VerifySlot(SlotA); !errors.Is(err, ErrSlotInvalid) {
				t.Fatalf("VerifySlot after %s: %v", name, err)
			}
		})
	}
	// Boot refuses a tampered active slot and falls back to the good one.
	if err := os.WriteFile(filepath.Join(run.Path, "a.onnx"), []byte("model a 1.X"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.health = func(Running) error { return nil }
	if run, err := r.dev.Start(ctx); err != nil || run.Version != "1.0.0" {
		t.Fatalf("start with a tampered active slot: %+v, %v", run, err)
	}
}

func TestTreeRefused(t *testing.T) {
	ok := map[string]string{"a.onnx": "model a"}
	six := map[string]string{"a.onnx": "model a", "b.onnx": "bbbbbb"}
	tests := []struct {
		name    string
		payload func(t *testing.T) []byte
		want    string
	}{
		{"path traversal", func(t *testing.T) []byte {
			return rawTar(t, index(t, map[string]string{"a.onnx": "model a", "../evil": "x"}), entry{name: "a.onnx", body: "model a"}, entry{name: "../evil", body: "x"})
		}, "index names"},
		{"path traversal not in the index", func(t *testing.T) []byte {
			return rawTar(t, index(t, ok), entry{name: "a.onnx", body: "model a"}, entry{name: "../../etc/evil", body: "x"})
		}, `entry name "../../etc/evil"`},
		{"absolute path", func(t *testing.T) []byte {
			return rawTar(t, index(t, ok), entry{name: "/tmp/evil", body: "x"}, entry{name: "a.onnx", body: "model a"})
		}, "entry name"},
		{"sub-directory", func(t *testing.T) []byte {
			return rawTar(t, index(t, ok), entry{name: "sub/a.onnx", body: "model a"})
		}, "entry name"},
		{"symlink", func(t *testing.T) []byte {
			return rawTar(t, index(t, ok), entry{name: "a.onnx", typ: tar.TypeSymlink, link: "/etc/passwd"})
		}, "only regular files"},
		{"hard link", func(t *testing.T) []byte {
			return rawTar(t, index(t, ok), entry{name: "a.onnx", typ: tar.TypeLink, link: "image"})
		}, "only regular files"},
		{"directory", func(t *testing.T) []byte {
			return rawTar(t, index(t, ok), entry{name: "d", typ: tar.TypeDir}, entry{name: "a.onnx", body: "model a"})
		}, "only regular files"},
		{"duplicate", func(t *testing.T) []byte {
			return rawTar(t, index(t, ok), entry{name: "a.onnx", body: "model a"}, entry{name: "a.onnx", body: "model a"})
		}, "appears twice"},
		{"not in the index", func(t *testing.T) []byte {
			return rawTar(t, index(t, ok), entry{name: "a.onnx", body: "model a"}, entry{name: "b.onnx", body: "b"})
		}, "not in the index"},
		{"missing file", func(t *testing.T) []byte {
			return rawTar(t, index(t, six), entry{name: "a.onnx", body: "model a"})
		}, "not in the payload"},
		{"size differs from the index", func(t *testing.T) []byte {
			return rawTar(t, index(t, six), entry{name: "a.onnx", body: "model a"}, entry{name: "b.onnx", body: "bbbbbbbbbbbbbbbbbbbbbbbbbbbb"})
		}, "index says 6"},
		{"content differs from the index", func(t *testing.T) []byte {
			return rawTar(t, index(t, six), entry{name: "a.onnx", body: "model a"}, entry{name: "b.onnx", body: "BBBBBB"})
		}, "sha256"},
		{"reserved name", func(t *testing.T) []byte {
			return rawTar(t, index(t, ok), entry{name: "a.onnx", body: "model a"}, entry{name: "manifest.json", body: "{}"})
		}, "reserved"},
		{"no index", func(t *testing.T) []byte { return rawTar(t, entry{name: "a.onnx", body: "model a"}) }, "first entry"},
		{"not a tar", func(t *testing.T) []byte { return bytes.Repeat([]byte("opaque image "), 100) }, "no index"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTreeRig(t)
			before := r.env()
			_, err := r.dev.Install(t.Context(), r.art("1.1.0", tt.payload(t)))
			if !errors.Is(err, ErrBadTree) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("install: %v, want ErrBadTree with %q", err, tt.want)
			}
			// Nothing was unpacked, the inactive slot claims nothing, and the
			// device still boots the old pack.
			if got := slotFiles(t, r.layout.SlotPath(SlotB)); len(got) != 0 {
				t.Fatalf("slot B holds %v after a refused pack", got)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(r.layout.root), "evil")); err == nil {
				t.Fatal("a file escaped the slot")
			}
			after := r.env()
			if after.Active != before.Active || after.Trial {
				t.Fatalf("env after a refused pack: %+v", after)
			}
			if run, err := r.dev.Start(t.Context()); err != nil || run.Version != "1.0.0" {
				t.Fatalf("start: %+v, %v", run, err)
			}
		})
	}
}

func (r *treeRig) env() Env {
	r.t.Helper()
	e, err := r.layout.ReadEnv()
	if err != nil {
		r.t.Fatal(err)
	}
	return e
}

// A layout without UnpackTrees keeps a models payload as one image file.
func TestTreeOptIn(t *testing.T) {
	l, err := NewSim(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := tree(t, map[string]string{"a.onnx": "model a"}, "a.onnx")
	if err := l.WriteSlot(context.Background(), SlotA, otatest.Manifest(artifact.KindModels, "1.0.0", p), bytes.NewReader(p)); err != nil {
		t.Fatal(err)
	}
	if got := slotFiles(t, l.SlotPath(SlotA)); !slices.Equal(got, []string{"image", "manifest.json"}) {
		t.Fatalf("slot holds %v", got)
	}
}
