package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"livegate.dev/cloud/internal/secret"
)

// Recording is the recording of one attempt in progress (AuditStore.
// NewRecording): the attempt's replay.Writer writes to it.
type Recording interface {
	io.Writer
	// Keep ends the recording and makes it the session's, replacing an
	// earlier one, durably before it returns.
	Keep(ctx context.Context) error
	// Discard removes the recording; after Keep it does nothing.
	Discard() error
}

const (
	// recordingExt names a session's kept recording: Dir/<session>.lgr.
	recordingExt = ".lgr"
	// spoolPrefix names recordings of attempts in progress.
	spoolPrefix = ".rec-"
)

// NewRecording starts a sealed recording in Dir/.rec-*.
func (d *DirStore) NewRecording(_ context.Context, id string) (Recording, error) {
	if d.sealer == nil {
		return nil, ErrRecordingDisabled
	}
	p, err := d.path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(d.dir, spoolPrefix)
	if err != nil {
		return nil, fmt.Errorf("capture: recording of %s: %w", id, err)
	}
	sw, err := d.sealer.SealStream(f, []byte(id))
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("capture: recording of %s: %w", id, err)
	}
	return &dirRecording{d: d, id: id, dst: p + recordingExt, f: f, sw: sw}, nil
}

// dirRecording is a DirStore's recording in progress.
type dirRecording struct {
	d   *DirStore
	id  string
	dst string
	f   *os.File
	sw  *secret.StreamWriter

	mu   sync.Mutex
	done bool
}

func (r *dirRecording) Write(p []byte) (int, error) {
	n, err := r.sw.Write(p)
	if err != nil {
		return n, fmt.Errorf("capture: recording of %s: %w", r.id, err)
	}
	return n, nil
}

// Keep seals the final chunk, syncs the spool file and renames it into
// place.
func (r *dirRecording) Keep(_ context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return errors.New("capture: recording already kept or discarded")
	}
	r.done = true
	err := r.sw.Close()
	if err == nil {
		err = r.f.Sync()
	}
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		r.d.mu.Lock()
		err = os.Rename(r.f.Name(), r.dst)
		r.d.mu.Unlock()
	}
	if err == nil {
		err = syncDir(r.d.dir)
	}
	if err != nil {
		os.Remove(r.f.Name())
		return fmt.Errorf("capture: keeping the recording of %s: %w", r.id, err)
	}
	return nil
}

// Discard removes the spool file.
func (r *dirRecording) Discard() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return nil
	}
	r.done = true
	r.f.Close()
	if err := os.Remove(r.f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("capture: discarding a recording of %s: %w", r.id, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// GetRecording opens the session's recording; it is opened as it is read
// (a wrong key or altered bytes fail the read with secret.ErrOpen).
func (d *DirStore) GetRecording(_ context.Context, id string) (io.ReadCloser, error) {
	p, err := d.path(id)
	if err != nil {
		return nil, err
	}
	if d.sealer == nil {
		return nil, ErrRecordingNotFound
	}
	f, err := os.Open(p + recordingExt)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrRecordingNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("capture: recording of %s: %w", id, err)
	}
	return &openedRecording{StreamReader: d.sealer.OpenStream(f, []byte(id)), f: f}, nil
}

type openedRecording struct {
	*secret.StreamReader
	f *os.File
}

func (o *openedRecording) Close() error { return o.f.Close() }
