package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/pgtest"
)

// markers are the bytes a test session's biometric and personal data
// carry; none may remain on disk once the session is redacted.
type markers struct {
	name  string
	bytes [][]byte
}

// grepTree returns the files under root holding any marker, with the
// marker found.
func grepTree(t *testing.T, root string, ms []markers, skip func(path string) bool) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // removed while walking (PostgreSQL's temp files)
			}
			return err
		}
		if d.IsDir() || (skip != nil && skip(path)) {
			return nil
		}
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, m := range ms {
			for _, mb := range m.bytes {
				if bytes.Contains(b, mb) {
					hits = append(hits, fmt.Sprintf("%s: %s", path, m.name))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// diskSession makes a completed session full of marker bytes — user id,
// metadata, reference (in the session record and its webhook bodies), the
// ICAO photo, and audit frames in the data directory — and returns its id
// and the markers.
func diskSession(t *testing.T, e *env, key, tag string, audit *capture.DirStore, rcv *receiver) (string, []byte, []markers) {
	t.Helper()
	user := "MARKER-USER-" + tag + "-7f3a9c"
	meta := "MARKER-META-" + tag + "-51d2e8"
	ref := "MARKER-REF-" + tag + "-c09b44"
	// No subject: it is sealed (no clear marker to find), and it would
	// take the row past PostgreSQL's compression threshold.
	v := e.vsession(key, map[string]any{"flow": "liveness", "reference": ref, "webhookUrl": rcv.url(),
		"metadata": map[string]any{"externalUserId": user, "note": meta}})
	e.do("POST", "/api/v1/session/"+v.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(key)...).want(t, 200, "")
	photo := e.do("GET", "/api/v1/session/"+v.SessionID+"/photo", nil, bearer(key)...).want(t, 200, "").body
	if len(photo) < 4096 {
		t.Fatalf("photo of %d bytes", len(photo))
	}
	// The reference face of a facematch session as the store keeps it (the
	// face engine is not loaded here): its sealed embedding and the keyed
	// digests of the faces compared.
	// The store keeps them as base64 in the session's JSON: the markers
	// are sized to whole base64 groups, and searched in both forms. Kept
	// short, so that PostgreSQL does not compress the row (a compressed row
	// hides every marker, before as after).
	// Every 12-byte run of them is the tag's own (hex of its hash).
	emb := []byte(threes(fmt.Sprintf("EMB-%s-%x", tag, sha256.Sum256([]byte("embedding "+tag)))[:24]))
	digest := []byte(threes(fmt.Sprintf("DIG-%s-%x", tag, sha256.Sum256([]byte("digest "+tag)))[:24]))
	_, err := e.d.Store().UpdateSession(context.Background(), v.SessionID, func(s *core.Session) ([]*core.Delivery, error) {
		s.FaceRef = &core.FaceRef{Source: core.FaceRefImage, Digest: digest, SealedEmbedding: emb, Accept: 0.6, ReviewFrom: 0.5}
		s.FaceMatch = &core.FaceMatch{Similarity: 0.9, Status: "pass", ProbeSource: "capture", ProbeDigest: digest, ProbeFrame: -1}
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	frame := append([]byte("\xff\xd8\xff\xe0MARKER-FRAME-"+tag+"-88e1d0"), bytes.Repeat([]byte{0x5a, 0xa5}, 512)...)
	if err := audit.Put(context.Background(), v.SessionID, []capture.AuditFrame{{Why: "best", JPEG: frame}}); err != nil {
		t.Fatal(err)
	}
	return v.SessionID, photo, []markers{
		{"user id " + tag, [][]byte{[]byte(user)}},
		{"metadata " + tag, [][]byte{[]byte(meta)}},
		{"reference " + tag, [][]byte{[]byte(ref)}},
		{"audit frame " + tag, [][]byte{[]byte("MARKER-FRAME-" + tag + "-88e1d0")}},
		{"face embedding " + tag, base64Pieces(emb)},
		{"face digest " + tag, base64Pieces(digest)},
	}
}

// base64Pieces are b and the base64 of each run of 12 bytes of b from a
// multiple of 3: substrings of the base64 the store keeps, short enough
// that one lies whole in a row PostgreSQL splits into TOAST chunks.
func base64Pieces(b []byte) [][]byte {
	out := [][]byte{b}
	for i := 0; i+12 <= len(b); i += 3 {
		out = append(out, []byte(base64.StdEncoding.EncodeToString(b[i:i+12])))
	}
	return out
}

// threes pads s with dots to a multiple of 3 bytes (whole base64 groups).
func threes(s string) string {
	return s + strings.Repeat(".", (3-len(s)%3)%3)
}

// photoMarker is 48 bytes of photo's entropy-coded data (the image itself)
// found nowhere in other: the test photos of two sessions differ only in
// their last rows, so most of their bytes are shared.
func photoMarker(t *testing.T, tag string, photo, other []byte) markers {
	t.Helper()
	for end := len(photo) - 2; end-48 > len(photo)/2; end-- {
		if w := photo[end-48 : end]; !bytes.Contains(other, w) {
			return markers{"ICAO photo " + tag, [][]byte{bytes.Clone(w)}}
		}
	}
	t.Fatal("the two photos share all their bytes")
	return markers{}
}

// TestNoBytesRemainBolt: after a redaction and after a retention sweep, no
// byte of a session's images or personal data is left anywhere in the data
// directory: the bbolt file (free pages included), the audit frames, the
// outbox. The same markers are found there before, so the search works.
func TestNoBytesRemainBolt(t *testing.T) {
	e := startWith(nil)(t, noBackgroundRetention)
	dataDir := filepath.Dir(e.d.Store().(interface{ Path() string }).Path())
	testNoBytesRemain(t, e, dataDir, func(t *testing.T) {}, nil)
}

// TestNoBytesRemainPostgres: the same on PostgreSQL, in a server of the
// test's own: the table files (base/) hold no marker once the store has
// scrubbed (VACUUM FULL, which the retention pass runs after redactions)
// and the server has checkpointed. The write-ahead log (pg_wal) is left
// out: it holds every change until its segments are recycled, which
// docs/data-deletion.md states.
func TestNoBytesRemainPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	pg := pgtest.Start(t)
	dsn, err := pg.NewDatabase("disk")
	if err != nil {
		t.Fatal(err)
	}
	auditDir := t.TempDir()
	e := startWith(func(_ testing.TB, o *daemon.Options) {
		o.Store, o.PostgresDSN, o.DataDir = daemon.StorePostgres, dsn, auditDir
	})(t, noBackgroundRetention)
	checkpoint := func(t *testing.T) {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "CHECKPOINT"); err != nil {
			t.Fatal(err)
		}
	}
	wal := filepath.Join(pg.DataDir(), "pg_wal")
	skipWAL := func(p string) bool { return len(p) >= len(wal) && p[:len(wal)] == wal }
	testNoBytesRemain(t, e, auditDir, checkpoint, &pgDisk{dir: pg.DataDir(), skip: skipWAL})
}

type pgDisk struct {
	dir  string
	skip func(string) bool
}

func testNoBytesRemain(t *testing.T, e *env, dataDir string, flush func(*testing.T), pg *pgDisk) {
	audit, err := capture.NewDirStore(filepath.Join(dataDir, "audit"), 0)
	if err != nil {
		t.Fatal(err)
	}
	// As the capture routes do when they keep audit frames.
	e.d.Sessions().AddEraser(lifecycle.Eraser{Deletes: []string{core.DeletedAuditFrames, core.DeletedRecording}, Erase: audit.Delete})
	rcv := newReceiver(t)
	tc := e.tenant("test")
	e.do("PUT", "/admin/v1/tenants/"+tc.TenantID+"/settings", `{"retention":{"biometric_days":1,"data_days":1}}`, bearer(adminToken)...).want(t, 200, "")
	byAPI, apiPhoto, apiMarks := diskSession(t, e, tc.APIKey, "API", audit, rcv)
	e.clk.Advance(12 * time.Hour)
	bySweep, sweepPhoto, sweepMarks := diskSession(t, e, tc.APIKey, "SWEEP", audit, rcv)
	apiMarks = append(apiMarks, photoMarker(t, "API", apiPhoto, sweepPhoto))
	sweepMarks = append(sweepMarks, photoMarker(t, "SWEEP", sweepPhoto, apiPhoto))
	search := func(ms []markers) []string {
		flush(t)
		hits := grepTree(t, dataDir, ms, nil)
		if pg != nil {
			hits = append(hits, grepTree(t, pg.dir, ms, pg.skip)...)
		}
		return hits
	}
	for _, ms := range [][]markers{apiMarks, sweepMarks} {
		for _, m := range ms {
			if hits := search([]markers{m}); len(hits) == 0 {
				t.Fatalf("%s is not on disk before the redaction: the search cannot see it", m.name)
			}
		}
	}

	e.do("POST", "/v1/sessions/"+byAPI+"/redact", `{"reason":"disk test"}`, bearer(tc.APIKey)...).want(t, 200, "")
	if pg != nil {
		// PostgreSQL's table files are rewritten by the next retention pass.
		if _, err := e.d.Sessions().SweepRetention(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if hits := search(apiMarks); len(hits) > 0 {
		t.Fatalf("after the redaction, on disk: %v", hits)
	}
	if hits := search(sweepMarks); len(hits) == 0 {
		t.Fatal("the other session's data went too")
	}

	e.clk.Advance(24*time.Hour + time.Second)
	if n, err := e.d.Sessions().SweepRetention(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep redacted %d, %v", n, err)
	}
	if hits := search(sweepMarks); len(hits) > 0 {
		t.Fatalf("after the retention sweep, on disk: %v", hits)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "audit", bySweep)); !os.IsNotExist(err) {
		t.Fatalf("audit frames of %s: %v", bySweep, err)
	}
}
