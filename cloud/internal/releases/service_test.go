package releases

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"livegate.dev/ota/artifact"
)

// unsigned writes an artifact without manifest.sig / signing-key.json.
func unsigned(t *testing.T, good []byte) []byte {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(good))
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		b := new(bytes.Buffer)
		b.ReadFrom(tr)
		if h.Name == artifact.EntrySignature || h.Name == artifact.EntrySigningKey {
			continue
		}
		tw.WriteHeader(h)
		tw.Write(b.Bytes())
	}
	tw.Close()
	return out.Bytes()
}

func TestUploadRefusals(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	payload := bytes.Repeat([]byte("rootfs"), 1000)
	good := e.keys.build(t, "1.2.0", payload)
	other := newKeys(t).build(t, "1.2.0", payload)
	tamper := func(old, new string) []byte {
		b := bytes.Replace(good, []byte(old), []byte(new), 1)
		if bytes.Equal(b, good) {
			t.Fatalf("%q not in the artifact", old)
		}
		return b
	}
	payloadFlip := append([]byte(nil), good...)
	i := bytes.LastIndex(payloadFlip, []byte("rootfs"))
	payloadFlip[i] ^= 1
	cases := []struct {
		name   string
		body   []byte
		reason string
		err    error
	}{
		{"unsigned", unsigned(t, good), "unsigned", artifact.ErrUnsigned},
		{"other root", other, "untrusted-key", artifact.ErrUntrustedKey},
		{"manifest version altered", tamper(`"version": "1.2.0"`, `"version": "9.2.0"`), "bad-signature", artifact.ErrBadSignature},
		{"notes altered", tamper("test release", "best release"), "bad-signature", artifact.ErrBadSignature},
		{"payload altered", payloadFlip, "payload-mismatch", artifact.ErrPayloadMismatch},
		{"truncated", good[:len(good)/2], "truncated", artifact.ErrTruncated},
		{"truncated end marker", good[:len(good)-100], "truncated", artifact.ErrTruncated},
		{"trailing data", append(append([]byte(nil), good...), "junk"...), "malformed", artifact.ErrMalformed},
		{"not an artifact", []byte("hello"), "truncated", artifact.ErrTruncated},
		{"too large", e.keys.build(t, "1.3.0", bytes.Repeat([]byte{1}, 2<<20)), "", ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.Upload(ctx, bytes.NewReader(c.body))
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if c.reason != "" && artifact.Reason(err) != c.reason {
				t.Fatalf("reason %q, want %q", artifact.Reason(err), c.reason)
			}
		})
	}
	rs, err := e.svc.List(ctx)
	if err != nil || len(rs) != 0 {
		t.Fatalf("refused uploads stored: %v %v", rs, err)
	}
	left, _ := os.ReadDir(filepath.Join(e.dir, "releases"))
	if len(left) != 0 {
		t.Fatalf("files left behind: %v", left)
	}
}

func TestUploadListGetDelete(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	a := e.keys.build(t, "1.2.0", []byte("image A"))
	rel, err := e.svc.Upload(ctx, bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if rel.Manifest.Version != "1.2.0" || rel.Size != int64(len(a)) || rel.SigningKeyID != e.keys.sk.ID() || len(rel.SHA256) != 64 {
		t.Fatalf("release %+v", rel)
	}
	if _, err := e.svc.Upload(ctx, bytes.NewReader(a)); !errors.Is(err, ErrExists) {
		t.Fatalf("second upload: %v", err)
	}
	e.clk.Advance(1)
	b, err := e.svc.Upload(ctx, bytes.NewReader(e.keys.build(t, "1.3.0", []byte("image B"))))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := e.svc.List(ctx)
	if err != nil || len(rs) != 2 || rs[0].ID != b.ID {
		t.Fatalf("list %v %v", rs, err)
	}
	f, got, err := e.svc.Open(ctx, rel.ID, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(f)
	f.Close()
	if !bytes.Equal(buf.Bytes(), a) || got.ID != rel.ID {
		t.Fatal("stored artifact differs from the upload")
	}
	if err := e.svc.Delete(ctx, rel.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, rel.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, _, err := e.svc.Open(ctx, rel.ID, 0, -1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open after delete: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "releases", rel.ID+".artifact")); !os.IsNotExist(err) {
		t.Fatalf("file kept after delete: %v", err)
	}
	if err := e.svc.Delete(ctx, rel.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// What a crash in the middle of an upload leaves is cleaned at start; stored
// releases survive a restart.
func TestRestartCleansCrashedUploads(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	rel, err := e.svc.Upload(ctx, bytes.NewReader(e.keys.build(t, "1.2.0", []byte("image"))))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.dir, "releases")
	for _, name := range []string{".upload-123", "rel_00000000deadbeef.artifact", "rel_00000000feedf00d.artifact"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// One orphan is old; the other may be a replica's upload in progress.
	old := t0.Add(-2 * time.Hour)
	os.Chtimes(filepath.Join(dir, "rel_00000000deadbeef.artifact"), old, old)
	os.Chtimes(filepath.Join(dir, "rel_00000000feedf00d.artifact"), t0, t0)
	svc, err := New(e.svc.cfg)
	if err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(dir)
	names := map[string]bool{}
	for _, f := range left {
		names[f.Name()] = true
	}
	if len(left) != 2 || !names["rel_00000000feedf00d.artifact"] || !names[rel.ID+".artifact"] {
		t.Fatalf("after restart: %v", left)
	}
	if _, err := svc.Get(ctx, rel.ID); err != nil {
		t.Fatal(err)
	}
}
