package capture

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/models/replay"
)

var testRecordingKey = bytes.Repeat([]byte{5}, 32)

// recordingPath is where a session's kept recording lives.
func (d *DirStore) recordingPath(id string) string { return filepath.Join(d.dir, id+recordingExt) }

func spoolFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, spoolPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDirStoreRecordings(t *testing.T) {
	ctx := context.Background()
	const id = "ses_rec1"
	plain := bytes.Repeat([]byte("LGREPLAY frame bytes of a face "), 5000) // over two sealed chunks

	t.Run("disabled without a key", func(t *testing.T) {
		d, err := NewDirStore(t.TempDir(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.NewRecording(ctx, id); !errors.Is(err, ErrRecordingDisabled) {
			t.Fatalf("NewRecording: %v", err)
		}
		if _, err := d.GetRecording(ctx, id); !errors.Is(err, ErrRecordingNotFound) {
			t.Fatalf("GetRecording: %v", err)
		}
	})
	t.Run("a bad key", func(t *testing.T) {
		if _, err := NewDirStore(t.TempDir(), time.Hour, WithRecordingKey([]byte("short"))); err == nil {
			t.Fatal("a 5-byte key was accepted")
		}
	})

	dir := t.TempDir()
	d, err := NewDirStore(dir, time.Hour, WithRecordingKey(testRecordingKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("bad session id", func(t *testing.T) {
		for _, bad := range []string{"../x", "ses_a/b", "", "ses_"} {
			if _, err := d.NewRecording(ctx, bad); err == nil {
				t.Errorf("NewRecording(%q) accepted", bad)
			}
			if _, err := d.GetRecording(ctx, bad); err == nil || errors.Is(err, ErrRecordingNotFound) {
				t.Errorf("GetRecording(%q): %v", bad, err)
			}
		}
	})
	t.Run("discarded", func(t *testing.T) {
		r, err := d.NewRecording(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		r.Write(plain[:100])
		if n := len(spoolFiles(t, dir)); n != 1 {
			t.Fatalf("%d spool files while recording", n)
		}
		if err := r.Discard(); err != nil {
			t.Fatal(err)
		}
		if n := len(spoolFiles(t, dir)); n != 0 {
			t.Fatalf("%d spool files after Discard", n)
		}
		if _, err := d.GetRecording(ctx, id); !errors.Is(err, ErrRecordingNotFound) {
			t.Fatalf("a discarded recording is readable: %v", err)
		}
	})
	t.Run("kept, sealed, beside the audit frames", func(t *testing.T) {
		r, err := d.NewRecording(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(plain); i += 7000 {
			if _, err := r.Write(plain[i:min(i+7000, len(plain))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Keep(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.Discard(); err != nil || len(spoolFiles(t, dir)) != 0 {
			t.Fatalf("Discard after Keep: %v, spool %v", err, spoolFiles(t, dir))
		}
		onDisk, err := os.ReadFile(d.recordingPath(id))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(onDisk, []byte("frame bytes of a face")) {
			t.Fatal("the recording is stored in the clear")
		}
		// Storing audit frames afterwards keeps it.
		if err := d.Put(ctx, id, []AuditFrame{{Why: "last", JPEG: []byte{0xFF, 0xD8}}}); err != nil {
			t.Fatal(err)
		}
		rc, err := d.GetRecording(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("read back %d bytes, %v; want %d", len(got), err, len(plain))
		}
		// Another session's id does not open it (the id is authenticated).
		other := "ses_rec2"
		if err := os.WriteFile(d.recordingPath(other), onDisk, 0o600); err != nil {
			t.Fatal(err)
		}
		rc, err = d.GetRecording(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(rc); !errors.Is(err, secret.ErrOpen) {
			t.Fatalf("a recording moved to another session: %v", err)
		}
		rc.Close()
		// Another master key does not open it.
		d2, _ := NewDirStore(dir, time.Hour, WithRecordingKey(bytes.Repeat([]byte{6}, 32)))
		rc, _ = d2.GetRecording(ctx, id)
		if _, err := io.ReadAll(rc); !errors.Is(err, secret.ErrOpen) {
			t.Fatalf("opened with another key: %v", err)
		}
		rc.Close()
	})
	t.Run("deleted with the frames", func(t *testing.T) {
		if err := d.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := d.GetRecording(ctx, id); !errors.Is(err, ErrRecordingNotFound) {
			t.Fatalf("after Delete: %v", err)
		}
	})
	t.Run("swept after the retention", func(t *testing.T) {
		r, _ := d.NewRecording(ctx, id)
		r.Write(plain[:10])
		if err := r.Keep(ctx); err != nil {
			t.Fatal(err)
		}
		stale, _ := d.NewRecording(ctx, "ses_crashed") // a crash leaves its spool file
		defer stale.Discard()
		now := time.Now()
		if _, err := d.Sweep(ctx, now.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.GetRecording(ctx, id); err != nil || len(spoolFiles(t, dir)) != 1 {
			t.Fatalf("within the retention: %v, spool %v", err, spoolFiles(t, dir))
		}
		if _, err := d.Sweep(ctx, now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.GetRecording(ctx, id); !errors.Is(err, ErrRecordingNotFound) || len(spoolFiles(t, dir)) != 0 {
			t.Fatalf("after the retention: %v, spool %v", err, spoolFiles(t, dir))
		}
	})
}

// TestReplayRecordedAttempt: every attempt is recorded while it runs; the
// attempt that decides the session keeps its recording (the other is
// discarded), and replaying it with the engine gives the stored verdict.
func TestReplayRecordedAttempt(t *testing.T) {
	var store *DirStore
	e := newEnv(t, func(c *Config) {
		c.Attempts = 2
		var err error
		if store, err = NewDirStore(t.TempDir(), time.Hour, WithRecordingKey(testRecordingKey)); err != nil {
			t.Fatal(err)
		}
		c.Audit = store
	})
	ctx := context.Background()
	managed := func(mode string) (*lifecycle.Created, string) {
		c, err := e.sessions.Create(ctx, lifecycle.Principal{Kind: lifecycle.PrincipalLegacy}, core.KindManaged, lifecycle.CreateRequest{Mode: mode}, "")
		if err != nil {
			t.Fatal(err)
		}
		return c, "ws://" + e.addr + "/api/v1/session/" + c.Session.ID + "/ws?token=" + c.ClientToken
	}
	t.Run("direct sessions are not recorded", func(t *testing.T) {
		created, url := e.session("passive")
		c := dial(t, url)
		for {
			v, _, code := feed(t, c, stills(t)[:6])
			if v == nil {
				t.Fatalf("no verdict (close %d)", code)
			}
			if *v.Final {
				break
			}
			c.ws.WriteMessage(1, []byte(`{"type":"retry"}`))
		}
		if _, err := store.GetRecording(ctx, created.Session.ID); !errors.Is(err, ErrRecordingNotFound) {
			t.Fatalf("a direct session was recorded: %v", err)
		}
		if n := spoolFiles(t, store.dir); len(n) != 0 {
			t.Fatalf("spool files: %v", n)
		}
	})
	for _, mode := range []string{"passive", "active"} {
		t.Run(mode, func(t *testing.T) {
			created, url := managed(mode)
			frames := stills(t)[:6]
			c := dial(t, url)
			v, _, code := feed(t, c, frames)
			if v == nil || *v.Final {
				t.Fatalf("first verdict %+v (close %d)", v, code)
			}
			if _, err := store.GetRecording(ctx, created.Session.ID); !errors.Is(err, ErrRecordingNotFound) {
				t.Fatalf("the recording of an attempt that did not decide was kept: %v", err)
			}
			if err := c.ws.WriteMessage(1, []byte(`{"type":"retry"}`)); err != nil {
				t.Fatal(err)
			}
			v, _, code = feed(t, c, frames)
			if v == nil || !*v.Final {
				t.Fatalf("final verdict %+v (close %d)", v, code)
			}
			sess, err := e.sessions.Get(ctx, created.Session.ID)
			if err != nil || sess.Verdict == nil {
				t.Fatalf("session %+v %v", sess, err)
			}
			rc, err := store.GetRecording(ctx, created.Session.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			r, err := replay.NewReader(rc)
			if err != nil {
				t.Fatal(err)
			}
			h := r.Header()
			if h.Producer != replay.ProducerCloud || h.SessionID != created.Session.ID || string(h.Config.Mode) != mode ||
				!h.Config.LightControlled || len(h.Config.LightPlan) == 0 || (mode == "active") != (len(h.Config.ChallengePlan) > 0) {
				t.Fatalf("header %+v", h)
			}
			stored, got, err := r.Replay(ctx, e.cfg.Models)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Verdict != string(*sess.Verdict) || stored.Verdict != v.Result || sess.Confidence == nil || clamp01(stored.Confidence) != *sess.Confidence {
				t.Fatalf("the recording's verdict %s %.4f, the session's %s %.4f", stored.Verdict, stored.Confidence, *sess.Verdict, *sess.Confidence)
			}
			if !stored.Matches(got) {
				t.Fatalf("replay differs:\nstored %+v\n   got %+v", stored, got)
			}
			if n := spoolFiles(t, store.dir); len(n) != 0 {
				t.Fatalf("spool files left: %v", n)
			}
			t.Logf("%s: %d frames replayed to %s %.3f %s", mode, got.Frames, got.Verdict, got.Confidence, strings.Join(got.Reasons, ","))
		})
	}
}
