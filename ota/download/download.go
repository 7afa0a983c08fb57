package download

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"livegate.dev/ota/internal/atomicfile"
	"livegate.dev/ota/internal/failpoint"
)

// ErrDigest: the complete download does not have the expected SHA-256 (or
// is longer than expected). The partial file is discarded.
var ErrDigest = errors.New("download does not match the expected sha256")

// ErrHTTP: the server answered with a status that retrying will not fix.
var ErrHTTP = errors.New("unexpected HTTP status")

// Fetcher downloads files resumably.
type Fetcher struct {
	// Client does the requests. Optional. Default: http.DefaultClient.
	Client *http.Client
	// MaxAttempts bounds the requests of one Fetch. Optional. Default: 8.
	MaxAttempts int
	// Backoff is the wait before retry n (1-based). Optional. Default:
	// 1s, 2s, 4s … capped at 30s.
	Backoff func(n int) time.Duration
	// Progress, if set, is called as bytes arrive with the bytes on disk
	// and the total.
	Progress func(done, total int64)
	// SyncEvery fsyncs the partial file after this many new bytes, so a
	// power cut loses little. Optional. Default: 8 MiB.
	SyncEvery int64
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
}

func (f *Fetcher) defaults() Fetcher {
	c := *f
	if c.Client == nil {
		c.Client = http.DefaultClient
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.Backoff == nil {
		c.Backoff = func(n int) time.Duration {
			d := time.Second << min(n-1, 5)
			return min(d, 30*time.Second)
		}
	}
	if c.SyncEvery <= 0 {
		c.SyncEvery = 8 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Fetch downloads url into dst, which must end up size bytes long with
// SHA-256 sha256hex. Bytes in dst+".part" from an earlier attempt are
// reused. If dst already holds the right content Fetch returns at once.
func (f *Fetcher) Fetch(ctx context.Context, url, dst string, size int64, sha256hex string) error {
	c := f.defaults()
	if size <= 0 {
		return fmt.Errorf("download %s: size %d", url, size)
	}
	if ok, err := complete(dst, size, sha256hex); err != nil || ok {
		return err
	}
	part := dst + ".part"
	file, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("download: open %s: %w", part, err)
	}
	defer file.Close()
	s := &state{c: &c, file: file, url: url, size: size, h: sha256.New()}
	if err := s.rehash(); err != nil {
		return err
	}
	var lastErr error
	for attempt := 1; attempt <= c.MaxAttempts; attempt++ {
		if attempt > 1 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("download %s: %w", url, ctx.Err())
			case <-time.After(c.Backoff(attempt - 1)):
			}
		}
		done, err := s.request(ctx)
		if done {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("download %s: %w", url, ctx.Err())
			}
			if errors.Is(err, ErrHTTP) {
				return err
			}
			if errors.Is(err, ErrDigest) {
				// The server sends something else than expected: do not
				// keep or resume from its bytes.
				file.Close()
				os.Remove(part)
				return err
			}
			c.Logger.Warn("ota download interrupted", "url", url, "offset", s.n, "attempt", attempt, "err", err)
			lastErr = err
		}
		if attempt == c.MaxAttempts {
			return fmt.Errorf("download %s: gave up after %d attempts at %d of %d bytes: %w", url, attempt, s.n, size, lastErr)
		}
	}
	if s.n != size {
		return fmt.Errorf("download %s: %d of %d bytes: %w", url, s.n, size, lastErr)
	}
	if got := hex.EncodeToString(s.h.Sum(nil)); got != sha256hex {
		file.Close()
		os.Remove(part)
		return fmt.Errorf("download %s: %w: got %s, want %s", url, ErrDigest, got, sha256hex)
	}
	if err := file.Sync(); err != nil {
		return fmt.Errorf("download: fsync %s: %w", part, err)
	}
	if err := os.Rename(part, dst); err != nil {
		return fmt.Errorf("download: rename %s: %w", part, err)
	}
	return atomicfile.SyncDir(filepath.Dir(dst))
}

func complete(dst string, size int64, sha256hex string) (bool, error) {
	fh, err := os.Open(dst)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("download: open %s: %w", dst, err)
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		return false, fmt.Errorf("download: read %s: %w", dst, err)
	}
	return n == size && hex.EncodeToString(h.Sum(nil)) == sha256hex, nil
}

type state struct {
	c        *Fetcher
	file     *os.File
	url      string
	size     int64
	n        int64 // bytes on disk, all hashed
	h        hash.Hash
	unsynced int64
}

// rehash hashes the bytes already in the partial file.
func (s *state) rehash() error {
	st, err := s.file.Stat()
	if err != nil {
		return fmt.Errorf("download: stat %s: %w", s.file.Name(), err)
	}
	if st.Size() > s.size {
		return s.restart()
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	s.h.Reset()
	n, err := io.Copy(s.h, s.file)
	if err != nil {
		return fmt.Errorf("download: rehash %s: %w", s.file.Name(), err)
	}
	s.n = n
	return nil
}

func (s *state) restart() error {
	if err := s.file.Truncate(0); err != nil {
		return fmt.Errorf("download: truncate %s: %w", s.file.Name(), err)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	s.h.Reset()
	s.n = 0
	return nil
}

// request does one GET from offset s.n. It returns done when the file is
// complete.
func (s *state) request(ctx context.Context) (bool, error) {
	if s.n == s.size {
		return true, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return false, fmt.Errorf("download %s: %w: %v", s.url, ErrHTTP, err)
	}
	if s.n > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", s.n))
	}
	resp, err := s.c.Client.Do(req)
	if err != nil {
		return false, fmt.Errorf("download %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, total, err := contentRange(resp.Header.Get("Content-Range"))
		if err != nil || start != s.n || (total >= 0 && total != s.size) {
			s.c.Logger.Warn("ota download: unusable Content-Range, starting over", "url", s.url, "content_range", resp.Header.Get("Content-Range"))
			return false, s.restartErr(fmt.Errorf("download %s: Content-Range %q does not continue at %d", s.url, resp.Header.Get("Content-Range"), s.n))
		}
	case http.StatusOK:
		if s.n > 0 {
			// The server ignored Range: take the whole body from byte 0.
			s.c.Logger.Info("ota download: server ignored Range, starting over", "url", s.url, "had", s.n)
			if err := s.restart(); err != nil {
				return false, err
			}
		}
		if resp.ContentLength >= 0 && resp.ContentLength != s.size {
			return false, fmt.Errorf("download %s: %w: Content-Length %d, want %d", s.url, ErrDigest, resp.ContentLength, s.size)
		}
	case http.StatusRequestedRangeNotSatisfiable:
		return false, s.restartErr(fmt.Errorf("download %s: range from %d not satisfiable", s.url, s.n))
	default:
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return false, fmt.Errorf("download %s: %s", s.url, resp.Status) // transient: retry
		}
		return false, fmt.Errorf("download %s: %w: %s", s.url, ErrHTTP, resp.Status)
	}
	buf := make([]byte, 64<<10)
	for {
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			if s.n+int64(k) > s.size {
				return false, fmt.Errorf("download %s: %w: more than %d bytes", s.url, ErrDigest, s.size)
			}
			if _, err := s.file.Write(buf[:k]); err != nil {
				return false, fmt.Errorf("download: write %s: %w", s.file.Name(), err)
			}
			s.h.Write(buf[:k])
			s.n += int64(k)
			s.unsynced += int64(k)
			if s.unsynced >= s.c.SyncEvery {
				if err := s.file.Sync(); err != nil {
					return false, fmt.Errorf("download: fsync %s: %w", s.file.Name(), err)
				}
				s.unsynced = 0
			}
			if s.c.Progress != nil {
				s.c.Progress(s.n, s.size)
			}
			if s.n >= s.size/2 {
				failpoint.Hit("download:partial")
			}
		}
		if rerr == io.EOF {
			if s.n != s.size {
				return false, fmt.Errorf("download %s: body ended at byte %d of %d", s.url, s.n, s.size)
			}
			return true, nil
		}
		if rerr != nil {
			return false, fmt.Errorf("download %s: at byte %d: %w", s.url, s.n, rerr)
		}
	}
}

func (s *state) restartErr(err error) error {
	if rerr := s.restart(); rerr != nil {
		return rerr
	}
	return err
}

// contentRange parses "bytes START-END/TOTAL" (TOTAL may be "*", then -1).
func contentRange(v string) (start, total int64, err error) {
	rest, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, 0, fmt.Errorf("content-range %q", v)
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, fmt.Errorf("content-range %q", v)
	}
	a, _, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, fmt.Errorf("content-range %q", v)
	}
	if start, err = strconv.ParseInt(a, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("content-range %q: %w", v, err)
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("content-range %q: %w", v, err)
		}
	}
	return start, total, nil
}
