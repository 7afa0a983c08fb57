package mount

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/clock"
)

// TestRedactDeletesCaptureFiles: the mounted capture routes register their
// audit store with the session service, so a redaction deletes a session's
// audit frames and its sealed recording from the data directory, and the
// receipt lists them.
func TestRedactDeletesCaptureFiles(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewFake(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
	o := daemon.Options{Addr: "127.0.0.1:0", DataDir: dir, AdminToken: "adm", Clock: clk,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Routes: Routes(Options{DataDir: dir, ModelSets: 1})}
	d, err := daemon.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	base := "http://" + d.Addr().String()
	do := func(method, path, key, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	st, body := do("POST", "/admin/v1/tenants", "adm", `{"name":"acme","mode":"test"}`)
	key := between(body, `"api_key":"`, `"`)
	if st != 201 || key == "" {
		t.Fatalf("tenant: %d %s", st, body)
	}
	st, body = do("POST", "/api/v1/managed-session", key, `{"mode":"passive"}`)
	id := between(body, `"session_id":"`, `"`)
	if st != 201 || id == "" {
		t.Fatalf("session: %d %s", st, body)
	}

	// What a capture leaves: audit frames and the deciding attempt's recording.
	audit, err := capture.NewDirStore(filepath.Join(dir, "audit"), 0, capture.WithRecordingKey(recordingKey(mustMaster(t, o))))
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.Put(context.Background(), id, []capture.AuditFrame{{Why: "best", JPEG: []byte("\xff\xd8frame")}}); err != nil {
		t.Fatal(err)
	}
	rec, err := audit.NewRecording(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Write([]byte("recorded frames")); err != nil {
		t.Fatal(err)
	}
	if err := rec.Keep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Sessions().Complete(context.Background(), id, lifecycle.Outcome{Confidence: 0.2, Verdict: "fail"}); err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(dir, "audit", id), filepath.Join(dir, "audit", id+".lgr")}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("before the redaction: %v", err)
		}
	}

	st, body = do("POST", "/api/v1/session/"+id+"/redact", key, `{"scope":"biometrics"}`)
	if st != 200 || !strings.Contains(body, `"audit_frames"`) || !strings.Contains(body, `"recording"`) {
		t.Fatalf("redact: %d %s", st, body)
	}
	for _, f := range files {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Fatalf("after the redaction, %s: %v", f, err)
		}
	}
	if st, body = do("GET", "/api/v1/session/"+id+"/recording", key, ""); st != 404 {
		t.Fatalf("recording after the redaction: %d %s", st, body)
	}
}

// between returns the text of s between the first from and the next to.
func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}
