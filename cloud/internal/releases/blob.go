package releases

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrStoreUnavailable: the payload store (an object store) did not answer
// or refused the request. An upload that meets it stores nothing.
var ErrStoreUnavailable = errors.New("artifact store unavailable")

// Blobs keeps the artifact files (payloads) of releases, by key
// (<release id>.artifact). The Service verifies an upload completely before
// it calls Put, so a store only ever holds verified artifacts.
// Implementations: the local disk (the default, <data>/releases/) and an
// S3-compatible object store (NewS3Blobs).
type Blobs interface {
	// Put stores size bytes read from r under key, replacing what was
	// there. On error nothing is left under key.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Open returns n bytes of key from offset off (the caller closes it).
	// A missing key wraps ErrNotFound; a store that does not answer wraps
	// ErrStoreUnavailable, and so does an error while reading.
	Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// Stat returns the stored size of key (ErrNotFound when missing).
	Stat(ctx context.Context, key string) (int64, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store for logs (no credentials).
	String() string
}

// filePutter is a Blobs that can take a staged, complete temporary file
// itself (the disk store renames it into place instead of copying it).
type filePutter interface {
	PutFile(ctx context.Context, key, tmpPath string) error
}

// DiskBlobs keeps artifacts as files in one directory: written to a
// temporary file, fsynced, renamed into place, the directory fsynced.
type DiskBlobs struct{ Dir string }

var (
	_ Blobs      = DiskBlobs{}
	_ filePutter = DiskBlobs{}
)

func (d DiskBlobs) path(key string) string { return filepath.Join(d.Dir, key) }

func (d DiskBlobs) String() string { return "disk " + d.Dir }

// Put implements Blobs.
func (d DiskBlobs) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	tmp, err := os.CreateTemp(d.Dir, ".upload-*")
	if err != nil {
		return fmt.Errorf("releases: store %s: %w", key, err)
	}
	n, err := io.Copy(tmp, r)
	if err == nil && n != size {
		err = fmt.Errorf("%d bytes, want %d", n, size)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("releases: store %s: %w", key, err)
	}
	return d.PutFile(ctx, key, tmp.Name())
}

// PutFile renames a complete, fsynced file in Dir to key and fsyncs Dir.
func (d DiskBlobs) PutFile(_ context.Context, key, tmpPath string) error {
	if err := os.Rename(tmpPath, d.path(key)); err != nil {
		os.Remove(tmpPath)
		return fmt.Errorf("releases: store %s: %w", key, err)
	}
	if err := syncDir(d.Dir); err != nil {
		os.Remove(d.path(key))
		return fmt.Errorf("releases: store %s: %w", key, err)
	}
	return nil
}

// Open implements Blobs.
func (d DiskBlobs) Open(_ context.Context, key string, off, n int64) (io.ReadCloser, error) {
	f, err := os.Open(d.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("releases: open %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("releases: open %s: %w", key, err)
	}
	return readCloser{io.NewSectionReader(f, off, n), f}, nil
}

// Stat implements Blobs.
func (d DiskBlobs) Stat(_ context.Context, key string) (int64, error) {
	fi, err := os.Stat(d.path(key))
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("releases: stat %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("releases: stat %s: %w", key, err)
	}
	return fi.Size(), nil
}

// Delete implements Blobs.
func (d DiskBlobs) Delete(_ context.Context, key string) error {
	if err := os.Remove(d.path(key)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("releases: delete %s: %w", key, err)
	}
	return syncDir(d.Dir)
}

type readCloser struct {
	io.Reader
	io.Closer
}

// artifactKey is a release's key in the Blobs.
func artifactKey(id string) string { return id + ".artifact" }

// validID refuses ids that could name another key or path.
func validID(id string) bool { return id != "" && !strings.ContainsAny(id, `/\.`) }
