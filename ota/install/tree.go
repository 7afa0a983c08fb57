package install

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"livegate.dev/ota/internal/atomicfile"
	"livegate.dev/ota/sign"
)

// A tree payload (the payload of a models pack) is an uncompressed POSIX
// tar of flat, regular files whose first entry is TreeIndexName, a JSON
// TreeIndex naming every other entry with its size and SHA-256:
//
//	index.json                    {"format":1,"files":[{"name":…,"size":…,"sha256":…},…]}
//	face_detection_short_range.onnx
//	…
//
// Uncompressed because ONNX weights barely compress and a plain tar can be
// checked and unpacked in one streaming pass with no decompressor in the
// trusted path. The layout unpacks a tree payload into the slot directory
// only after the whole payload verified against the signed manifest.
const (
	TreeIndexName = "index.json"
	TreeFormat    = 1
	// MaxTreeFiles and MaxTreeFileSize bound a tree payload.
	MaxTreeFiles    = 64
	MaxTreeFileSize = 1 << 30
	maxTreeIndex    = 64 << 10
)

// TreeIndex is the first entry of a tree payload.
type TreeIndex struct {
	Format int        `json:"format"`
	Files  []TreeFile `json:"files"`
}

// TreeFile is one file of a tree payload.
type TreeFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ErrBadTree: a tree payload is malformed or unsafe to unpack (path
// traversal, link, directory, duplicate or unlisted name, oversize entry,
// size or SHA-256 that differs from its index).
var ErrBadTree = errors.New("payload is not a valid file tree")

// treeName: flat names only, so no entry can leave the slot directory.
var treeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// reserved names are the slot's own files.
func reservedName(n string) bool {
	return n == "image" || n == "manifest.json" || n == TreeIndexName
}

func (ix *TreeIndex) validate() error {
	if ix.Format != TreeFormat {
		return fmt.Errorf("%w: index format %d", ErrBadTree, ix.Format)
	}
	if len(ix.Files) == 0 || len(ix.Files) > MaxTreeFiles {
		return fmt.Errorf("%w: index lists %d files (1…%d)", ErrBadTree, len(ix.Files), MaxTreeFiles)
	}
	seen := map[string]bool{}
	for _, f := range ix.Files {
		if !treeName.MatchString(f.Name) || reservedName(f.Name) {
			return fmt.Errorf("%w: index names %q (flat names of [A-Za-z0-9._-] only, not a reserved name)", ErrBadTree, f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("%w: index lists %q twice", ErrBadTree, f.Name)
		}
		seen[f.Name] = true
		if f.Size < 0 || f.Size > MaxTreeFileSize {
			return fmt.Errorf("%w: %s: size %d", ErrBadTree, f.Name, f.Size)
		}
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != sha256.Size || hex.EncodeToString(b) != f.SHA256 {
			return fmt.Errorf("%w: %s: sha256 %q", ErrBadTree, f.Name, f.SHA256)
		}
	}
	return nil
}

func (ix *TreeIndex) file(name string) (TreeFile, bool) {
	for _, f := range ix.Files {
		if f.Name == name {
			return f, true
		}
	}
	return TreeFile{}, false
}

// readTreeIndex reads the first entry of the tar, which must be the index.
func readTreeIndex(tr *tar.Reader) (*TreeIndex, error) {
	h, err := tr.Next()
	if err != nil {
		return nil, fmt.Errorf("%w: no index: %v", ErrBadTree, err)
	}
	if h.Name != TreeIndexName || h.Typeflag != tar.TypeReg || h.Size > maxTreeIndex {
		return nil, fmt.Errorf("%w: first entry is %q (type %q, %d bytes), want %s", ErrBadTree, h.Name, h.Typeflag, h.Size, TreeIndexName)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		return nil, fmt.Errorf("%w: index: %v", ErrBadTree, err)
	}
	var ix TreeIndex
	if err := sign.DecodeStrict(b, &ix); err != nil {
		return nil, fmt.Errorf("%w: index: %v", ErrBadTree, err)
	}
	if err := ix.validate(); err != nil {
		return nil, err
	}
	return &ix, nil
}

// walkTree checks every entry of the tree payload read from r against its
// index and calls each (when not nil) with the entry's name, its index
// entry, and a reader of its bytes that fails on a size or SHA-256
// mismatch. Anything but flat regular files listed once in the index is
// refused, and every listed file must be present.
func walkTree(ctx context.Context, r io.Reader, each func(f TreeFile, r io.Reader) error) (*TreeIndex, error) {
	tr := tar.NewReader(r)
	ix, err := readTreeIndex(tr)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadTree, err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: entry %q has type %q: only regular files", ErrBadTree, h.Name, h.Typeflag)
		}
		if !treeName.MatchString(h.Name) || reservedName(h.Name) {
			return nil, fmt.Errorf("%w: entry name %q (flat names of [A-Za-z0-9._-] only, not a reserved name)", ErrBadTree, h.Name)
		}
		if seen[h.Name] {
			return nil, fmt.Errorf("%w: entry %q appears twice", ErrBadTree, h.Name)
		}
		seen[h.Name] = true
		f, ok := ix.file(h.Name)
		if !ok {
			return nil, fmt.Errorf("%w: entry %q is not in the index", ErrBadTree, h.Name)
		}
		if h.Size != f.Size {
			return nil, fmt.Errorf("%w: entry %q is %d bytes, index says %d", ErrBadTree, h.Name, h.Size, f.Size)
		}
		cr := &checkedReader{r: ctxReader{ctx, tr}, f: f, h: sha256.New()}
		if each == nil {
			_, err = io.Copy(io.Discard, cr)
		} else {
			err = each(f, cr)
		}
		if err != nil {
			return nil, err
		}
		if !cr.done {
			return nil, fmt.Errorf("install: entry %q not read to its end", h.Name)
		}
	}
	for _, f := range ix.Files {
		if !seen[f.Name] {
			return nil, fmt.Errorf("%w: %q is in the index but not in the payload", ErrBadTree, f.Name)
		}
	}
	return ix, nil
}

// checkedReader hashes an entry as it is read and returns io.EOF only when
// its size and SHA-256 match the index.
type checkedReader struct {
	r    io.Reader
	f    TreeFile
	h    hash.Hash
	n    int64
	done bool
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if sum := hex.EncodeToString(c.h.Sum(nil)); c.n != c.f.Size || sum != c.f.SHA256 {
			return n, fmt.Errorf("%w: %s is %d bytes sha256 %s, index says %d bytes %s", ErrBadTree, c.f.Name, c.n, sum, c.f.Size, c.f.SHA256)
		}
		c.done = true
	}
	return n, err
}

// unpackTree checks the verified tree payload in image completely, then
// replaces the slot's unpacked files with its files: stale files are
// removed, each file is written to a temporary file, fsynced and renamed,
// and the directory fsynced. Nothing is unpacked from a payload that does
// not pass the check.
func unpackTree(ctx context.Context, image, dir string) error {
	open := func() (*os.File, error) { return os.Open(image) }
	f, err := open()
	if err != nil {
		return err
	}
	_, err = walkTree(ctx, f, nil)
	f.Close()
	if err != nil {
		return err
	}
	if err := clearTree(dir); err != nil {
		return err
	}
	if f, err = open(); err != nil {
		return err
	}
	defer f.Close()
	_, err = walkTree(ctx, f, func(tf TreeFile, r io.Reader) error {
		return atomicfile.WriteFrom(filepath.Join(dir, tf.Name), 0o644, func(w io.Writer) error {
			_, err := io.Copy(w, r)
			return err
		})
	})
	return err
}

// clearTree removes everything in a slot directory but the image and the
// manifest (the files of the previous tree, and temporary files).
func clearTree(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if n := e.Name(); n != "image" && n != "manifest.json" {
			if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	return atomicfile.SyncDir(dir)
}

// verifyTree checks that dir holds exactly the files listed in the index of
// the (already verified) tree payload in image, with their sizes and
// SHA-256s.
func verifyTree(image, dir string) error {
	f, err := os.Open(image)
	if err != nil {
		return err
	}
	ix, err := readTreeIndex(tar.NewReader(f))
	f.Close()
	if err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		n := e.Name()
		if n == "image" || n == "manifest.json" {
			continue
		}
		if _, ok := ix.file(n); !ok {
			return fmt.Errorf("unexpected file %s in the slot", n)
		}
	}
	for _, tf := range ix.Files {
		p := filepath.Join(dir, tf.Name)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", tf.Name)
		}
		g, err := os.Open(p)
		if err != nil {
			return err
		}
		n, sum, err := hashFile(g)
		g.Close()
		if err != nil {
			return err
		}
		if n != tf.Size || sum != tf.SHA256 {
			return fmt.Errorf("%s is %d bytes sha256 %s, the pack index says %d bytes %s", tf.Name, n, sum, tf.Size, tf.SHA256)
		}
	}
	return nil
}

func hashFile(r io.Reader) (int64, string, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return n, hex.EncodeToString(h.Sum(nil)), err
}

// WriteTree writes a tree payload of files (name → content) to w, index
// first, in the given order. It is the reference writer for tests and
// tools; the models pack builder writes the same format.
func WriteTree(w io.Writer, names []string, content map[string][]byte) error {
	ix := TreeIndex{Format: TreeFormat}
	for _, n := range names {
		sum := sha256.Sum256(content[n])
		ix.Files = append(ix.Files, TreeFile{Name: n, Size: int64(len(content[n])), SHA256: hex.EncodeToString(sum[:])})
	}
	ib, err := jsonIndent(ix)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	put := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := io.Copy(tw, bytes.NewReader(b))
		return err
	}
	if err := put(TreeIndexName, ib); err != nil {
		return err
	}
	for _, n := range names {
		if err := put(n, content[n]); err != nil {
			return err
		}
	}
	return tw.Close()
}
