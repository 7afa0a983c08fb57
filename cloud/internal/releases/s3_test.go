package releases

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
	bolt "go.etcd.io/bbolt"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/ota/download"
	"livegate.dev/ota/sign"
)

// fakeS3 is an S3-protocol server for the tests: gofakes3 (an in-process
// implementation of the S3 REST API: buckets, PUT with multipart, ranged
// GET, HEAD, DELETE, listing) with its bbolt backend in a temp dir, served
// over HTTP on a free loopback port. It does not check request
// signatures, so credentials are not tested against it.
type fakeS3 struct {
	url     string
	backend *s3bolt.Backend
	cutPut  atomic.Bool  // cut the connection of PUTs after part of the body
	cutPart atomic.Int64 // cut the connection of PUTs of this multipart part number
	gets    atomic.Int64 // object GETs served
	lastRng atomic.Value // the Range header of the last object GET

	transport http.RoundTripper // trusts the HTTPS server's certificate
}

const testBucket = "livegate-ota"

func startS3(t *testing.T) *fakeS3 { return startS3With(t, false) }

// startS3With serves over HTTPS (a test certificate; f.transport trusts
// it) when tls is set.
func startS3With(t *testing.T, tls bool) *fakeS3 {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "s3.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeS3{backend: s3bolt.New(db)}
	if err := f.backend.CreateBucket(testBucket); err != nil {
		t.Fatal(err)
	}
	h := gofakes3.New(f.backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && (f.cutPut.Load() || f.cutPart.Load() > 0 && r.URL.Query().Get("partNumber") == strconv.FormatInt(f.cutPart.Load(), 10)) {
			io.CopyN(io.Discard, r.Body, 512)
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		}
		if r.Method == http.MethodGet && r.URL.Path != "/"+testBucket && r.URL.Path != "/"+testBucket+"/" {
			f.gets.Add(1)
			f.lastRng.Store(r.Header.Get("Range"))
		}
		h.ServeHTTP(w, r)
	}))
	if tls {
		srv.StartTLS()
		f.transport = srv.Client().Transport
	} else {
		srv.Start()
	}
	f.url = srv.URL
	t.Cleanup(func() {
		srv.Close()
		db.Close()
	})
	return f
}

// objects lists the bucket's keys with their sizes.
func (f *fakeS3) objects(t *testing.T) map[string]int64 {
	t.Helper()
	l, err := f.backend.ListBucket(testBucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, c := range l.Contents {
		out[c.Key] = c.Size
	}
	return out
}

func testEnv(k string) string {
	return map[string]string{EnvS3AccessKey: "ota-access", EnvS3SecretKey: "ota-secret-key"}[k]
}

// startS3Cloud runs a livegate-cloud daemon with the releases Hook set up
// as serve.go does for --ota-store store --ota-s3-endpoint endpoint.
func startS3Cloud(t *testing.T, store, endpoint string) (*s3Cloud, keys) {
	t.Helper()
	k := newKeys(t)
	dir := t.TempDir()
	roots := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(roots, sign.MarshalRootPublic(k.root.Public()), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := HookOptions{DataDir: dir, RootsFile: roots, AdminToken: adminToken, TickInterval: time.Minute,
		Store: store, S3Endpoint: endpoint, Getenv: testEnv}
	d, err := daemon.Start(context.Background(), daemon.Options{Listener: ln, DataDir: dir, AdminToken: adminToken,
		RateLimit: -1, BodyLimit: 8 << 20, Clock: clock.NewFake(t0), Routes: Hook(o),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return &s3Cloud{server{url: d.URL()}, dir}, k
}

type s3Cloud struct {
	server
	dir string
}

// Upload → the object in the bucket → a device download cut and resumed
// with Range → delete, on a real S3-protocol server.
func TestS3Store(t *testing.T) {
	s3 := startS3(t)
	s, k := startS3Cloud(t, "s3://"+testBucket+"/fleet/ota", s3.url)
	payload := bytes.Repeat([]byte("rootfs image "), 40000) // about 520 kB
	art := k.build(t, "1.2.0", payload)
	raw := "application/octet-stream"

	// Refused uploads never reach the bucket.
	s.do(t, "POST", "/admin/v1/releases", raw, unsigned(t, art), bearer...).want(t, 422, "release.unsigned")
	s.do(t, "POST", "/admin/v1/releases", raw, art[:len(art)/2], bearer...).want(t, 422, "release.truncated")
	if objs := s3.objects(t); len(objs) != 0 {
		t.Fatalf("refused uploads left %v", objs)
	}

	var rel Release
	s.do(t, "POST", "/admin/v1/releases", raw, art, bearer...).want(t, 201, "").json(t, &rel)
	key := "fleet/ota/" + rel.ID + ".artifact"
	if objs := s3.objects(t); len(objs) != 1 || objs[key] != int64(len(art)) {
		t.Fatalf("bucket holds %v, want %s of %d bytes", objs, key, len(art))
	}
	obj, err := s3.backend.GetObject(testBucket, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(obj.Contents)
	obj.Contents.Close()
	if !bytes.Equal(stored, art) {
		t.Fatal("the stored object differs from the upload")
	}
	if left, _ := filepath.Glob(filepath.Join(s.dir, "releases", "*")); len(left) != 0 {
		t.Fatalf("staging left %v", left)
	}

	// Device download: whole, a range, and a fetch resumed after a cut.
	path := "/api/v1/releases/" + rel.ID + "/artifact"
	whole := s.do(t, "GET", path, "", nil).want(t, 200, "")
	if !bytes.Equal(whole.body, art) || whole.header.Get("ETag") != `"`+rel.SHA256+`"` {
		t.Fatalf("whole download: %d bytes, %v", len(whole.body), whole.header)
	}
	n := int64(len(art))
	r := s.do(t, "GET", path, "", nil, "Range", "bytes=1000-1999").want(t, 206, "")
	if !bytes.Equal(r.body, art[1000:2000]) || r.header.Get("Content-Range") != "bytes 1000-1999/"+itoa(n) {
		t.Fatalf("range: %d bytes, %v", len(r.body), r.header)
	}
	s.do(t, "GET", path, "", nil, "Range", "bytes="+itoa(n)+"-").want(t, 416, "release.range_not_satisfiable")
	dst := filepath.Join(t.TempDir(), "a.lgota")
	if err := writeFile(dst+".part", art[:n/3]); err != nil { // a download cut by a power loss
		t.Fatal(err)
	}
	gets := s3.gets.Load()
	var resumedFrom int64 = -1
	f := &download.Fetcher{Client: http.DefaultClient, Progress: func(done, total int64) {
		if resumedFrom < 0 {
			resumedFrom = done
		}
	}}
	if err := f.Fetch(context.Background(), s.url+path, dst, rel.Size, rel.SHA256); err != nil {
		t.Fatalf("resumed fetch: %v", err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, art) {
		t.Fatal("resumed download differs")
	}
	want := "bytes=" + itoa(n/3) + "-" + itoa(n-1)
	if s3.gets.Load() != gets+1 || resumedFrom < n/3 || s3.lastRng.Load() != want {
		t.Fatalf("resumed download: %d object GETs, first progress at %d, object store asked for %v, want one GET of %s",
			s3.gets.Load()-gets, resumedFrom, s3.lastRng.Load(), want)
	}

	s.do(t, "DELETE", "/admin/v1/releases/"+rel.ID, "", nil, bearer...).want(t, 204, "")
	if objs := s3.objects(t); len(objs) != 0 {
		t.Fatalf("delete left %v", objs)
	}
	s.do(t, "GET", path, "", nil).want(t, 404, "release.not_found")
}

// An upload whose PUT is cut leaves no object and no release; the store
// unreachable answers release.store_unavailable.
func TestS3StoreFailures(t *testing.T) {
	s3 := startS3(t)
	s, k := startS3Cloud(t, "s3://"+testBucket, s3.url)
	art := k.build(t, "1.2.0", bytes.Repeat([]byte("image "), 20000))
	raw := "application/octet-stream"

	s3.cutPut.Store(true)
	r := s.do(t, "POST", "/admin/v1/releases", raw, art, bearer...).want(t, 503, "release.store_unavailable")
	s3.cutPut.Store(false)
	if objs := s3.objects(t); len(objs) != 0 {
		t.Fatalf("a cut upload left %v", objs)
	}
	var list ReleaseList
	s.do(t, "GET", "/admin/v1/releases", "", nil, bearer...).want(t, 200, "").json(t, &list)
	if len(list.Releases) != 0 {
		t.Fatalf("a cut upload left a release: %+v", list)
	}
	t.Logf("cut upload: %s", r.body)
	// The same upload once the store answers again.
	var rel Release
	s.do(t, "POST", "/admin/v1/releases", raw, art, bearer...).want(t, 201, "").json(t, &rel)

	// A store that does not answer at all: the daemon starts (the rest of
	// it keeps serving), uploads and downloads answer 503 in the envelope.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	down, k2 := startS3Cloud(t, "s3://"+testBucket, dead)
	r = down.do(t, "POST", "/admin/v1/releases", raw, k2.build(t, "1.2.0", []byte("image")), bearer...).want(t, 503, "release.store_unavailable")
	if !bytes.Contains(r.body, []byte(`"request_id"`)) || bytes.Contains(r.body, []byte("ota-secret-key")) {
		t.Fatalf("envelope: %s", r.body)
	}
	var l2 ReleaseList
	down.do(t, "GET", "/admin/v1/releases", "", nil, bearer...).want(t, 200, "").json(t, &l2)
	if len(l2.Releases) != 0 {
		t.Fatalf("an upload to a dead store left a release: %+v", l2)
	}
}

// The store's download path on its own: a missing object, a dead store.
func TestS3BlobsErrors(t *testing.T) {
	ctx := context.Background()
	s3 := startS3(t)
	b, err := NewS3Blobs(S3Config{Endpoint: s3.url, Bucket: testBucket, AccessKey: "a", SecretKey: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Open(ctx, "rel_x.artifact", 0, 10); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open missing: %v", err)
	}
	if _, err := b.Stat(ctx, "rel_x.artifact"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat missing: %v", err)
	}
	if err := b.Delete(ctx, "rel_x.artifact"); err != nil {
		t.Fatalf("delete missing: %v", err)
	}
	if err := b.Put(ctx, "k", bytes.NewReader([]byte("0123456789")), 10); err != nil {
		t.Fatal(err)
	}
	rc, err := b.Open(ctx, "k", 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "3456" {
		t.Fatalf("range read %q", got)
	}
	nb, _ := NewS3Blobs(S3Config{Endpoint: s3.url, Bucket: "nope", AccessKey: "a", SecretKey: "b"})
	if err := nb.Check(ctx); err == nil || errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("missing bucket: %v", err)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()
	db, _ := NewS3Blobs(S3Config{Endpoint: dead, Bucket: testBucket, AccessKey: "a", SecretKey: "b", MaxRetries: 1})
	if _, err := db.Open(ctx, "k", 0, 1); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("open on a dead store: %v", err)
	}
	if err := db.Put(ctx, "k", bytes.NewReader([]byte("x")), 1); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("put on a dead store: %v", err)
	}
}

func TestS3Config(t *testing.T) {
	cases := []struct {
		store, endpoint, access string
		ok                      bool
	}{
		{"s3://b/p", "https://s3.example.com", "a", true},
		{"s3://b", "s3.example.com:9000", "a", true},
		{"s3://b", "http://127.0.0.1:9000", "a", true},
		{"s3://b", "http://[::1]:9000", "a", true},
		{"s3://b", "http://localhost:9000", "a", true},
		{"s3://b", "http://s3.example.com", "a", false},
		{"s3://b", "ftp://s3.example.com", "a", false},
		{"s3://b", "https://s3.example.com/path", "a", false},
		{"s3://b", "", "a", false},
		{"s3://b", "https://s3.example.com", "", false},
		{"s3:///p", "https://s3.example.com", "a", false},
		{"gs://b", "https://s3.example.com", "a", false},
	}
	for _, c := range cases {
		bucket, prefix, isS3, err := ParseStore(c.store)
		if err == nil && isS3 {
			_, err = NewS3Blobs(S3Config{Endpoint: c.endpoint, Bucket: bucket, Prefix: prefix, AccessKey: c.access, SecretKey: "s"})
		}
		if (err == nil) != c.ok {
			t.Errorf("%s at %q: %v, want ok %v", c.store, c.endpoint, err, c.ok)
		}
	}
	if _, _, isS3, err := ParseStore("disk"); isS3 || err != nil {
		t.Fatalf("disk: %v %v", isS3, err)
	}
	if b, p, _, _ := ParseStore("s3://bkt/a/b/"); b != "bkt" || p != "a/b/" {
		t.Fatalf("prefix %q %q", b, p)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Artifacts above the part size go up in parts: a cut part leaves no
// object (the multipart upload is aborted), a whole one reads back by
// ranges across part boundaries. Over HTTPS, as in production: over plain
// HTTP minio-go sends parts with aws-chunked signing, whose framing gofakes3
// stores as data in parts (the stored-size check refuses such an upload).
func TestS3StoreMultipart(t *testing.T) {
	ctx := context.Background()
	s3 := startS3With(t, true)
	const part = 5 << 20
	b, err := NewS3Blobs(S3Config{Endpoint: s3.url, Bucket: testBucket, Prefix: "ota/", AccessKey: "a", SecretKey: "b",
		PartSize: part, Transport: s3.transport})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil)
	cfg := e.svc.cfg
	cfg.Blobs, cfg.MaxArtifactSize = b, 64<<20
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 2*part+part/2) // three parts
	for i := range payload {
		payload[i] = byte(i * 7 / 5)
	}
	art := e.keys.build(t, "1.2.0", payload)

	s3.cutPart.Store(2)
	if _, err := svc.Upload(ctx, bytes.NewReader(art)); !errors.Is(err, ErrStoreUnavailable) {
		t.Fatalf("cut part: %v", err)
	}
	s3.cutPart.Store(0)
	if objs := s3.objects(t); len(objs) != 0 {
		t.Fatalf("a cut multipart upload left %v", objs)
	}
	if rs, _ := svc.List(ctx); len(rs) != 0 {
		t.Fatalf("a cut multipart upload left releases %v", rs)
	}

	rel, err := svc.Upload(ctx, bytes.NewReader(art))
	if err != nil {
		t.Fatal(err)
	}
	if objs := s3.objects(t); objs["ota/"+rel.ID+".artifact"] != int64(len(art)) {
		t.Fatalf("bucket %v", objs)
	}
	for _, r := range []struct{ off, n int64 }{{0, -1}, {part - 10, 20}, {2*part - 1, 2}, {int64(len(art)) - 5, 5}} {
		rc, _, err := svc.Open(ctx, rel.ID, r.off, r.n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		want := art[r.off:]
		if r.n >= 0 {
			want = art[r.off : r.off+r.n]
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("bytes %d+%d: %d bytes, %v", r.off, r.n, len(got), err)
		}
	}
}
