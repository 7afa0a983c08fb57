package update_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"path/filepath"
	"strings"
	gosync "sync"

	"time"

	"livegate.dev/firmware/update/updatetest"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/download"
	"livegate.dev/ota/install"
	"livegate.dev/proto"
)

// A small fixture of our own: ota/internal/otatest is internal to the ota
// module.

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type keys struct{ updatetest.Keys }

func newKeys(t tb) keys {
	t.Helper()
	k, err := updatetest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	return keys{k}
}

// signed returns a signed artifact of kind and version for board sim and
// this machine's arch.
func (k keys) signed(t tb, kind artifact.Kind, version string, n int) []byte {
	t.Helper()
	b, err := k.Artifact(kind, version, n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// healthFunc lets a test decide a version's health at boot.
type healthFunc func(ctx context.Context, run install.Running) error

// newDevice opens the sim layout of kind under dir.
func newDevice(t tb, dir string, kind artifact.Kind, roots []ed25519.PublicKey, health healthFunc) *install.Device {
	t.Helper()
	var h install.HealthCheck
	if health != nil {
		h = install.HealthCheck(health)
	}
	d, err := updatetest.NewDevice(filepath.Join(dir, "device", string(kind)), kind, roots, h)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// server serves artifacts over TLS by path, with Range support, and can
// cut the first response of a path after some bytes.
type server struct {
	*httptest.Server
	mu     gosync.Mutex
	files  map[string][]byte
	ranges []string
	cutAt  map[string]int           // path → bytes sent before the connection is cut (once)
	block  map[string]chan struct{} // path → the response waits until closed
}

func newServer(t tb) *server {
	s := &server{files: map[string][]byte{}, cutAt: map[string]int{}, block: map[string]chan struct{}{}}
	s.Server = httptest.NewTLSServer(s)
	t.Cleanup(s.Close)
	return s
}

func (s *server) put(path string, data []byte) (url string, size int64, sum string) {
	s.mu.Lock()
	s.files[path] = data
	s.mu.Unlock()
	h := sha256.Sum256(data)
	return s.URL + path, int64(len(data)), hex.EncodeToString(h[:])
}

func (s *server) rangesSeen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, ok := s.files[r.URL.Path]
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	cut, doCut := s.cutAt[r.URL.Path]
	delete(s.cutAt, r.URL.Path)
	block := s.block[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	if doCut && r.Header.Get("Range") == "" {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:cut])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	http.ServeContent(w, r, "a.lgota", time.Time{}, bytes.NewReader(data))
}

// answers records every answer, in order, and wakes waiters.
type answers struct {
	mu   gosync.Mutex
	list []proto.CommandResponse
	more chan struct{}
}

func newAnswers() *answers { return &answers{more: make(chan struct{})} }

func (a *answers) Respond(_ context.Context, id string, r proto.CommandResponse) error {
	r.Of = id
	a.add(r)
	return nil
}

func (a *answers) add(r proto.CommandResponse) {
	a.mu.Lock()
	a.list = append(a.list, r)
	close(a.more)
	a.more = make(chan struct{})
	a.mu.Unlock()
}

func (a *answers) all() []proto.CommandResponse {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]proto.CommandResponse(nil), a.list...)
}

// waitFinal blocks until a final answer (done or failed) to id arrives;
// the test binary's timeout bounds it.
func (a *answers) waitFinal(id string) proto.CommandResponse {
	for {
		a.mu.Lock()
		for _, r := range a.list {
			if r.Of == id && (r.Status == "done" || r.Status == "failed") {
				a.mu.Unlock()
				return r
			}
		}
		ch := a.more
		a.mu.Unlock()
		<-ch
	}
}

func result(t tb, r proto.CommandResponse) proto.UpdateResult {
	t.Helper()
	var u proto.UpdateResult
	if len(r.Result) > 0 {
		if err := json.Unmarshal(r.Result, &u); err != nil {
			t.Fatalf("result %s: %v", r.Result, err)
		}
	}
	return u
}

func states(t tb, rs []proto.CommandResponse) []string {
	var s []string
	for _, r := range rs {
		st := result(t, r).State
		if len(s) == 0 || s[len(s)-1] != st {
			s = append(s, st)
		}
	}
	return s
}

func updateCmd(t tb, args proto.UpdateArgs) *proto.Command {
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return &proto.Command{Kind: proto.CommandUpdate, ExpiresAt: time.Now().Add(time.Hour), Args: b}
}

func tlsClient(s *server) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func certPEM(s *server) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

func fetcher(c *http.Client) *download.Fetcher {
	return &download.Fetcher{Client: c, Backoff: func(int) time.Duration { return 0 }, Logger: quiet()}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

var errUnhealthy = errors.New("camera opens but yields no frame")

// tb is what the fixture needs of a *testing.T (examples pass exampleTB).
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

type exampleTB struct{}

func (exampleTB) Helper()                      {}
func (exampleTB) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (exampleTB) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
func (exampleTB) Cleanup(func())               {}

func clientFromPEM(pemData []byte) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}
