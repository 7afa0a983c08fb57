package kiosk

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// RecordingExt names a kept recording: <dir>/<session id>.lgr.
const RecordingExt = ".lgr"

// ErrRecordingTooLarge is returned by a RecordingSink's Write once the
// session's recording would exceed the directory's byte cap: that session
// is not kept (the older ones are left alone).
var ErrRecordingTooLarge = errors.New("kiosk: recording over the size cap")

var recordingIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

const recordingTmp = ".tmp-"

// RecordingDir keeps the recordings of the last Keep sessions in one
// directory, at most MaxBytes in all (the oldest go first), so that a
// technician can copy one off and replay it (`livegate-face replay FILE`).
// A recording is written to a temporary file as its session runs and
// renamed into place, fsynced, when the session was committed. Files are
// 0600 in a 0700 directory and not encrypted (like the outbox's audit
// JPEGs): they hold every frame of a session.
type RecordingDir struct {
	dir      string
	keep     int
	maxBytes int64
	mu       sync.Mutex
}

var _ SessionRecorder = (*RecordingDir)(nil)

// OpenRecordingDir creates dir (0700) and removes the temporary files a
// crash left. keep ≤ 0 means 5; maxBytes ≤ 0 means 256 MiB.
func OpenRecordingDir(dir string, keep int, maxBytes int64) (*RecordingDir, error) {
	if keep <= 0 {
		keep = 5
	}
	if maxBytes <= 0 {
		maxBytes = 256 << 20
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("kiosk: recordings dir %s: %w", dir, err)
	}
	tmps, _ := filepath.Glob(filepath.Join(dir, recordingTmp+"*"))
	for _, p := range tmps {
		_ = os.Remove(p)
	}
	return &RecordingDir{dir: dir, keep: keep, maxBytes: maxBytes}, nil
}

// Begin starts a recording of sessionID.
func (d *RecordingDir) Begin(sessionID string) (RecordingSink, error) {
	if !recordingIDRe.MatchString(sessionID) {
		return nil, fmt.Errorf("kiosk: recording: bad session id %q", sessionID)
	}
	f, err := os.CreateTemp(d.dir, recordingTmp)
	if err != nil {
		return nil, fmt.Errorf("kiosk: recording of %s: %w", sessionID, err)
	}
	s := &recordingSink{d: d, id: sessionID, f: f}
	s.bw = bufio.NewWriterSize(limitedWriter{s}, 256<<10)
	return s, nil
}

// Recordings lists the kept recordings' paths, newest first.
func (d *RecordingDir) Recordings() ([]string, error) {
	ents, err := d.list()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = e.path
	}
	return out, nil
}

type recEntry struct {
	path string
	size int64
	mod  time.Time
}

// list returns the kept recordings, newest first.
func (d *RecordingDir) list() ([]recEntry, error) {
	ents, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, fmt.Errorf("kiosk: recordings dir %s: %w", d.dir, err)
	}
	var out []recEntry
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), RecordingExt) || strings.HasPrefix(e.Name(), recordingTmp) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, recEntry{filepath.Join(d.dir, e.Name()), info.Size(), info.ModTime()})
	}
	slices.SortFunc(out, func(a, b recEntry) int {
		if c := b.mod.Compare(a.mod); c != 0 {
			return c
		}
		return strings.Compare(b.path, a.path)
	})
	return out, nil
}

// prune keeps the newest keep recordings within maxBytes (room bytes more
// are wanted for a recording about to be added).
func (d *RecordingDir) prune(room int64, keep int) error {
	ents, err := d.list()
	if err != nil {
		return err
	}
	var total int64
	var errs []error
	for i, e := range ents {
		if i >= keep || total+e.size+room > d.maxBytes {
			if err := os.Remove(e.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		total += e.size
	}
	return errors.Join(errs...)
}

// recordingSink is one session's recording in progress.
type recordingSink struct {
	d       *RecordingDir
	id      string
	f       *os.File
	bw      *bufio.Writer
	written int64
	done    bool
}

// limitedWriter enforces the directory's cap on one recording.
type limitedWriter struct{ s *recordingSink }

func (l limitedWriter) Write(p []byte) (int, error) {
	s := l.s
	if s.written+int64(len(p)) > s.d.maxBytes {
		return 0, fmt.Errorf("%w: recording of %s past %d bytes", ErrRecordingTooLarge, s.id, s.d.maxBytes)
	}
	n, err := s.f.Write(p)
	s.written += int64(n)
	return n, err
}

func (s *recordingSink) Write(p []byte) (int, error) { return s.bw.Write(p) }

// Keep syncs the recording, renames it to <dir>/<session>.lgr and drops the
// oldest recordings beyond the directory's bounds.
func (s *recordingSink) Keep() error {
	if s.done {
		return errors.New("kiosk: recording already kept or discarded")
	}
	s.done = true
	err := s.bw.Flush()
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		// Make room first: the new recording counts against the cap.
		err = d.prune(s.written, d.keep-1)
	}
	if err == nil {
		err = os.Rename(s.f.Name(), filepath.Join(d.dir, s.id+RecordingExt))
	}
	if err == nil {
		err = syncDir(d.dir)
	}
	if err != nil {
		_ = os.Remove(s.f.Name())
		return fmt.Errorf("kiosk: keeping the recording of %s: %w", s.id, err)
	}
	return nil
}

// Discard removes the temporary file.
func (s *recordingSink) Discard() error {
	if s.done {
		return nil
	}
	s.done = true
	s.f.Close()
	if err := os.Remove(s.f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("kiosk: discarding the recording of %s: %w", s.id, err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
