package download

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// server serves content over TLS. The first `drops` requests are cut after
// dropAfter bytes of body; with ignoreRange the Range header is ignored.
type server struct {
	content     []byte
	dropAfter   int
	drops       int
	ignoreRange bool

	mu     sync.Mutex
	ranges []string
	sent   int
	// onDisk is the client's byte count (from its Progress callback) when
	// each request arrived: what a resume must ask for.
	onDisk   []int64
	progress atomic.Int64
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.onDisk = append(s.onDisk, s.progress.Load())
	drop := s.drops > 0
	if drop {
		s.drops--
	}
	s.mu.Unlock()
	if s.ignoreRange {
		r.Header.Del("Range")
	}
	cw := &countingWriter{ResponseWriter: w, s: s, limit: -1}
	if drop {
		cw.limit = s.dropAfter
	}
	http.ServeContent(cw, r, "artifact", time.Time{}, bytes.NewReader(s.content))
}

func (s *server) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

type countingWriter struct {
	http.ResponseWriter
	s       *server
	limit   int
	written int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.limit >= 0 && c.written+len(p) > c.limit {
		p = p[:c.limit-c.written]
		n, _ := c.ResponseWriter.Write(p)
		c.count(n)
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
	n, err := c.ResponseWriter.Write(p)
	c.count(n)
	return n, err
}

func (c *countingWriter) count(n int) {
	c.written += n
	c.s.mu.Lock()
	c.s.sent += n
	c.s.mu.Unlock()
}

func content(n int) ([]byte, string) {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestFetch(t *testing.T) {
	const size = 300_000
	data, sum := content(size)
	tests := []struct {
		name        string
		drops       int
		ignoreRange bool
		wantResume  bool
		maxSent     int
	}{
		{"clean", 0, false, false, size},
		{"dropped once, resumes from offset", 1, false, true, size},
		{"dropped three times", 3, false, true, size},
		{"server ignores Range, restarts", 1, true, false, 2 * size},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &server{content: data, dropAfter: 60_000, drops: tt.drops, ignoreRange: tt.ignoreRange}
			ts := httptest.NewTLSServer(s)
			defer ts.Close()
			dst := filepath.Join(t.TempDir(), "a.lgota")
			var last int64
			f := &Fetcher{Client: ts.Client(), Backoff: func(int) time.Duration { return 0 }, Logger: quiet(),
				Progress: func(done, total int64) { last = done; s.progress.Store(done) }}
			if err := f.Fetch(context.Background(), ts.URL+"/a", dst, size, sum); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(dst)
			if !bytes.Equal(got, data) {
				t.Fatal("content differs")
			}
			if last != size {
				t.Errorf("last progress %d", last)
			}
			reqs := s.requests()
			if len(reqs) != tt.drops+1 {
				t.Errorf("%d requests, want %d", len(reqs), tt.drops+1)
			}
			if tt.wantResume {
				// Each retry asks for exactly the bytes after those on disk.
				for i, r := range reqs[1:] {
					off, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r, "bytes="), "-"), 10, 64)
					if err != nil || off == 0 || off != s.onDisk[i+1] {
						t.Errorf("request %d: Range %q, client had %d bytes on disk", i+2, r, s.onDisk[i+1])
					}
				}
			}
			if s.sent > tt.maxSent {
				t.Errorf("server sent %d bytes, want at most %d", s.sent, tt.maxSent)
			}
			if _, err := os.Stat(dst + ".part"); !errors.Is(err, os.ErrNotExist) {
				t.Error("partial file left behind")
			}
		})
	}
}

// TestResumeAcrossRestart: a partial file from an earlier process (killed
// mid-download) is kept and only the rest is fetched.
func TestResumeAcrossRestart(t *testing.T) {
	data, sum := content(200_000)
	s := &server{content: data}
	ts := httptest.NewTLSServer(s)
	defer ts.Close()
	dst := filepath.Join(t.TempDir(), "a.lgota")
	os.WriteFile(dst+".part", data[:123_456], 0o644)
	f := &Fetcher{Client: ts.Client(), Backoff: func(int) time.Duration { return 0 }, Logger: quiet()}
	if err := f.Fetch(context.Background(), ts.URL, dst, int64(len(data)), sum); err != nil {
		t.Fatal(err)
	}
	if r := s.requests(); len(r) != 1 || r[0] != "bytes=123456-" {
		t.Fatalf("requests %q", r)
	}
	if s.sent != len(data)-123_456 {
		t.Errorf("sent %d", s.sent)
	}
	// Already complete: no request at all.
	if err := f.Fetch(context.Background(), ts.URL, dst, int64(len(data)), sum); err != nil || len(s.requests()) != 1 {
		t.Fatalf("second fetch: %v, %d requests", err, len(s.requests()))
	}
}

func TestFetchRefuses(t *testing.T) {
	data, sum := content(50_000)
	other, _ := content(50_001)
	tests := []struct {
		name    string
		part    []byte // left by an earlier attempt
		handler http.HandlerFunc
		want    error
	}{
		{"wrong content", nil, func(w http.ResponseWriter, r *http.Request) {
			bad := append([]byte(nil), data...)
			bad[9] ^= 1
			http.ServeContent(w, r, "a", time.Time{}, bytes.NewReader(bad))
		}, ErrDigest},
		{"corrupt partial file", []byte("garbage that is not the start"), func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "a", time.Time{}, bytes.NewReader(data))
		}, ErrDigest},
		{"too long", nil, func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "a", time.Time{}, bytes.NewReader(other))
		}, ErrDigest},
		{"not found", nil, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, ErrHTTP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := httptest.NewTLSServer(tt.handler)
			defer ts.Close()
			dst := filepath.Join(t.TempDir(), "a")
			if tt.part != nil {
				os.WriteFile(dst+".part", tt.part, 0o644)
			}
			f := &Fetcher{Client: ts.Client(), Backoff: func(int) time.Duration { return 0 }, MaxAttempts: 2, Logger: quiet()}
			err := f.Fetch(context.Background(), ts.URL, dst, int64(len(data)), sum)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
				t.Error("refused download got its final name")
			}
			if errors.Is(tt.want, ErrDigest) {
				if _, err := os.Stat(dst + ".part"); !errors.Is(err, os.ErrNotExist) {
					t.Error("bytes of a mismatching download kept for resuming")
				}
			}
		})
	}
}
