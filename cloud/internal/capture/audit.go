package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"livegate.dev/cloud/internal/secret"
)

// AuditFrame is one kept frame of a session, for the tenant's audit trail.
type AuditFrame struct {
	// Index is the frame's position among the frames of its attempt.
	Index int `json:"index"`
	// Why says why it was kept: reference, best, challenge:<kind>, last.
	Why string `json:"why"`
	// Boxes are the faces found in it: x, y, width, height in pixels.
	Boxes [][4]float64 `json:"boxes"`
	// JPEG is the frame as the client sent it (not in listings).
	JPEG []byte `json:"-"`
}

// AuditStore keeps 0–4 audit frames per session for a retention period.
// The session record lists them (core.AuditFrame) once the session is
// completed; the store holds the JPEGs.
type AuditStore interface {
	// Put stores the frames of a session (frame i is fetched as n = i),
	// replacing earlier ones, durably before it returns.
	Put(ctx context.Context, sessionID string, frames []AuditFrame) error
	// List returns the frames' metadata (JPEG empty); none is not an error.
	List(ctx context.Context, sessionID string) ([]AuditFrame, error)
	// Get returns frame n with its JPEG, or ErrAuditNotFound.
	Get(ctx context.Context, sessionID string, n int) (*AuditFrame, error)
	// Delete removes a session's frames; none is not an error.
	Delete(ctx context.Context, sessionID string) error
	// Sweep deletes sessions' frames older than the retention.
	Sweep(ctx context.Context, now time.Time) (int, error)
	// Retention is how long frames are kept after Put.
	Retention() time.Duration
	// NewRecording starts the recording (livegate.dev/models/replay) of
	// one attempt of a session, written while the attempt runs; it is kept
	// only when the attempt decides the session (Recording.Keep), then
	// beside the session's audit frames, with their retention, and deleted
	// with them. ErrRecordingDisabled when the store keeps no recordings.
	NewRecording(ctx context.Context, sessionID string) (Recording, error)
	// GetRecording opens the session's kept recording, or
	// ErrRecordingNotFound.
	GetRecording(ctx context.Context, sessionID string) (io.ReadCloser, error)
}

// ErrAuditNotFound is returned for a frame that is not kept.
var ErrAuditNotFound = errors.New("capture: audit frame not found")

// ErrRecordingNotFound is returned for a session without a kept recording.
var ErrRecordingNotFound = errors.New("capture: recording not found")

// ErrRecordingDisabled is returned by NewRecording when the store keeps no
// recordings (a DirStore without WithRecordingKey).
var ErrRecordingDisabled = errors.New("capture: recordings are not kept by this store")

var sessionIDRe = regexp.MustCompile(`^ses_[A-Za-z0-9]{1,64}$`)

// DirStore keeps audit frames on disk: Dir/<session>/meta.json and n.jpg,
// written to a temp dir and renamed into place (files 0600 in a 0700
// directory, not encrypted). With WithRecordingKey it also keeps each
// session's recording as Dir/<session>.lgr, sealed with AES-256-GCM
// (secret.Sealer.SealStream, bound to the session id) from the moment it
// is written: attempts in progress are spooled sealed in Dir/.rec-*.
type DirStore struct {
	dir       string
	retention time.Duration
	sealer    *secret.Sealer
	mu        sync.Mutex
}

var _ AuditStore = (*DirStore)(nil)

// DirOption configures a DirStore.
type DirOption func(*dirOptions)

type dirOptions struct{ recordingKey []byte }

// WithRecordingKey makes the store keep recordings, sealed with this
// 32-byte key (livegate-cloud derives it from the master key). Without it,
// NewRecording returns ErrRecordingDisabled.
func WithRecordingKey(key []byte) DirOption {
	return func(o *dirOptions) { o.recordingKey = append([]byte(nil), key...) }
}

// NewDirStore creates dir; retention ≤ 0 means 30 days.
func NewDirStore(dir string, retention time.Duration, opts ...DirOption) (*DirStore, error) {
	if retention <= 0 {
		retention = 30 * 24 * time.Hour
	}
	var o dirOptions
	for _, opt := range opts {
		opt(&o)
	}
	d := &DirStore{dir: dir, retention: retention}
	if o.recordingKey != nil {
		s, err := secret.New(o.recordingKey)
		if err != nil {
			return nil, fmt.Errorf("capture: audit dir %s: recording key: %w", dir, err)
		}
		d.sealer = s
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("capture: audit dir %s: %w", dir, err)
	}
	return d, nil
}

// Retention is how long frames are kept.
func (d *DirStore) Retention() time.Duration { return d.retention }

// Delete removes the frames of a session.
func (d *DirStore) Delete(_ context.Context, id string) error {
	p, err := d.path(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("capture: audit delete %s: %w", id, err)
	}
	if err := os.Remove(p + recordingExt); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("capture: recording delete %s: %w", id, err)
	}
	return nil
}

func (d *DirStore) path(id string) (string, error) {
	if !sessionIDRe.MatchString(id) {
		return "", fmt.Errorf("capture: audit: bad session id %q", id)
	}
	return filepath.Join(d.dir, id), nil
}

// Put writes the frames of a session, replacing earlier ones.
func (d *DirStore) Put(_ context.Context, id string, frames []AuditFrame) error {
	p, err := d.path(id)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(d.dir, ".tmp-")
	if err != nil {
		return fmt.Errorf("capture: audit temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	for i, f := range frames {
		if err := writeSync(filepath.Join(tmp, fmt.Sprintf("%d.jpg", i)), f.JPEG); err != nil {
			return err
		}
	}
	meta, _ := json.Marshal(frames)
	if err := writeSync(filepath.Join(tmp, "meta.json"), meta); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_ = os.RemoveAll(p)
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("capture: audit store %s: %w", id, err)
	}
	return nil
}

func writeSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("capture: audit write %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("capture: audit write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("capture: audit sync %s: %w", path, err)
	}
	return f.Close()
}

// List returns the frames of a session without their JPEGs.
func (d *DirStore) List(_ context.Context, id string) ([]AuditFrame, error) {
	p, err := d.path(id)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(p, "meta.json"))
	if errors.Is(err, os.ErrNotExist) {
		return []AuditFrame{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("capture: audit list %s: %w", id, err)
	}
	var out []AuditFrame
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("capture: audit meta %s: %w", id, err)
	}
	return out, nil
}

// Get returns frame n of a session.
func (d *DirStore) Get(ctx context.Context, id string, n int) (*AuditFrame, error) {
	list, err := d.List(ctx, id)
	if err != nil {
		return nil, err
	}
	if n < 0 || n >= len(list) {
		return nil, ErrAuditNotFound
	}
	p, _ := d.path(id)
	b, err := os.ReadFile(filepath.Join(p, fmt.Sprintf("%d.jpg", n)))
	if err != nil {
		return nil, fmt.Errorf("capture: audit read %s/%d: %w", id, n, err)
	}
	f := list[n]
	f.JPEG = b
	return &f, nil
}

// Sweep deletes the frames and recordings of sessions stored longer ago
// than the retention (it counts sessions whose frames it deleted), and
// recordings of attempts a crash left behind after a day (or the
// retention, when shorter).
func (d *DirStore) Sweep(_ context.Context, now time.Time) (int, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return 0, fmt.Errorf("capture: audit sweep: %w", err)
	}
	n := 0
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			continue
		}
		age, name := now.Sub(info.ModTime()), e.Name()
		switch {
		case e.IsDir():
			if age > d.retention {
				if err := os.RemoveAll(filepath.Join(d.dir, name)); err == nil {
					n++
				}
			}
		case strings.HasSuffix(name, recordingExt) && age > d.retention,
			strings.HasPrefix(name, spoolPrefix) && age > min(d.retention, 24*time.Hour):
			_ = os.Remove(filepath.Join(d.dir, name))
		}
	}
	return n, nil
}
