package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeCloud is the part of the cloud's admin API push uses: releases are
// stored by SHA-256 (a second upload answers release.exists), a rollout
// reports the states in script, one per GET.
type fakeCloud struct {
	t      *testing.T
	mu     sync.Mutex
	stored map[string][]byte
	starts []map[string]any
	script []apiRollout
	gets   int
}

const pushToken = "push-test-admin-token"

func (f *fakeCloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fail := func(status int, code, msg string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"detail": map[string]string{"code": code, "message": msg, "request_id": "req_1"}})
	}
	if r.Header.Get("Authorization") != "Bearer "+pushToken {
		fail(401, "auth.admin_invalid", "send Authorization: Bearer <admin token>")
		return
	}
	release := func(id string, body []byte) map[string]any {
		sum := sha256.Sum256(body)
		return map[string]any{"id": id, "size": len(body), "sha256": hex.EncodeToString(sum[:]), "signing_key_id": "key1",
			"manifest": map[string]any{"kind": "firmware", "version": "1.2.0", "boards": []string{"sim"}, "archs": []string{"amd64"}}}
	}
	switch {
	case r.Method == "POST" && r.URL.Path == "/admin/v1/releases":
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/octet-stream" || int64(len(body)) != r.ContentLength {
			fail(400, "request.malformed", "want the artifact as the body")
			return
		}
		if bytes.HasPrefix(body, []byte("tampered")) {
			fail(422, "release.bad_signature", "artifact refused (bad-signature)")
			return
		}
		sum := sha256.Sum256(body)
		id := "rel_" + hex.EncodeToString(sum[:])[:16]
		if f.stored[id] != nil {
			fail(409, "release.exists", "upload firmware 1.2.0: already exists")
			return
		}
		f.stored[id] = body
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(release(id, body))
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/admin/v1/releases/"):
		id := strings.TrimPrefix(r.URL.Path, "/admin/v1/releases/")
		if f.stored[id] == nil {
			fail(404, "release.not_found", "no release")
			return
		}
		json.NewEncoder(w).Encode(release(id, f.stored[id]))
	case r.Method == "POST" && r.URL.Path == "/admin/v1/rollouts":
		var req map[string]any
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(400, "request.invalid_json", err.Error())
			return
		}
		f.starts = append(f.starts, req)
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(f.script[0])
	case r.Method == "GET" && r.URL.Path == "/admin/v1/rollouts/rol_1":
		f.gets++
		json.NewEncoder(w).Encode(f.script[min(f.gets, len(f.script)-1)])
	default:
		fail(404, "request.route_not_found", r.URL.Path)
	}
}

func rolloutAt(state string, stage int, counts map[string]int, reason string) apiRollout {
	devs := map[string]*apiProgress{}
	return apiRollout{ID: "rol_1", Stages: []float64{30, 100}, Stage: stage, State: state, Reason: reason, Counts: counts, Devices: devs}
}

func TestPush(t *testing.T) {
	dir := t.TempDir()
	art := filepath.Join(dir, "fw.lgota")
	os.WriteFile(art, bytes.Repeat([]byte("artifact "), 50_000), 0o644)
	tampered := filepath.Join(dir, "bad.lgota")
	os.WriteFile(tampered, []byte("tampered artifact"), 0o644)

	fc := &fakeCloud{t: t, stored: map[string][]byte{}}
	srv := httptest.NewServer(fc)
	defer srv.Close()
	local := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	t.Run("refusals before any request", func(t *testing.T) {
		t.Setenv("LIVEGATE_ADMIN_TOKEN", pushToken)
		for _, u := range []string{"http://cloud.example.com", "ftp://cloud.example.com", "cloud.example.com", "http://10.0.0.1:8000"} {
			if _, err := run(t, "push", art, "--url", u); err == nil || !strings.Contains(err.Error(), "--url") {
				t.Errorf("%s: %v", u, err)
			}
		}
		t.Setenv("LIVEGATE_ADMIN_TOKEN", "")
		if _, err := run(t, "push", art, "--url", srv.URL); err == nil || !strings.Contains(err.Error(), "LIVEGATE_ADMIN_TOKEN") {
			t.Errorf("no token: %v", err)
		}
		if _, err := run(t, "push", art, "--url", srv.URL, "--follow"); err == nil {
			t.Error("--follow without --rollout accepted")
		}
	})
	t.Run("upload", func(t *testing.T) {
		t.Setenv("OTHER_TOKEN", pushToken)
		out := mustRun(t, "push", art, "--url", local, "--admin-token-env", "OTHER_TOKEN")
		if !strings.Contains(out, "release rel_") || !strings.Contains(out, "firmware 1.2.0") || len(fc.stored) != 1 {
			t.Fatalf("out %q, stored %d", out, len(fc.stored))
		}
		t.Setenv("OTHER_TOKEN", "wrong")
		if _, err := run(t, "push", art, "--url", srv.URL, "--admin-token-env", "OTHER_TOKEN"); err == nil ||
			!strings.Contains(err.Error(), "auth.admin_invalid") {
			t.Fatalf("wrong token: %v", err)
		}
		t.Setenv("LIVEGATE_ADMIN_TOKEN", pushToken)
		if _, err := run(t, "push", tampered, "--url", srv.URL); err == nil || !strings.Contains(err.Error(), "422 release.bad_signature") {
			t.Fatalf("refused upload: %v", err)
		}
	})
	t.Run("rollout and follow", func(t *testing.T) {
		t.Setenv("LIVEGATE_ADMIN_TOKEN", pushToken)
		fc.script = []apiRollout{
			rolloutAt("running", 0, map[string]int{"notified": 3, "pending": 6}, ""),
			rolloutAt("running", 0, map[string]int{"downloading": 3, "pending": 6}, ""),
			rolloutAt("running", 0, map[string]int{"downloading": 3, "pending": 6}, ""),
			rolloutAt("running", 1, map[string]int{"succeeded": 3, "notified": 6}, ""),
			rolloutAt("completed", 1, map[string]int{"succeeded": 9}, ""),
		}
		// Download figures: two devices report them, an older one does not.
		fc.script[1].Devices = map[string]*apiProgress{"kiosk-1": {State: "downloading", BytesDone: 400, BytesTotal: 1000},
			"kiosk-2": {State: "downloading", BytesDone: 100, BytesTotal: 1000}, "kiosk-3": {State: "downloading"}}
		fc.script[2].Devices = map[string]*apiProgress{"kiosk-1": {State: "downloading", BytesDone: 1000, BytesTotal: 1000},
			"kiosk-2": {State: "downloading", BytesDone: 600, BytesTotal: 1000}, "kiosk-3": {State: "downloading"}}
		// The artifact is already stored: push uses that release.
		out := mustRun(t, "push", art, "--url", srv.URL, "--rollout", "--stages", "30,100", "--labels", "site=lisbon",
			"--abort-failures", "1", "--report-timeout", "10m", "--follow", "--poll", "1ms")
		for _, want := range []string{"rollout rol_1: 0 devices, stages 30% → 100%", "running, stage 1 of 2 (30%): pending 6, notified 3",
			"running, stage 1 of 2 (30%): pending 6, downloading 3 (25%)", "running, stage 1 of 2 (30%): pending 6, downloading 3 (80%)",
			"stage 2 of 2 (100%): notified 6, succeeded 3", "completed, stage 2 of 2 (100%): succeeded 9", "rollout rol_1 completed"} {
			if !strings.Contains(out, want) {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
		}
		req := fc.starts[0]
		if req["abort_failures"] != 1.0 || req["report_timeout_seconds"] != 600.0 || req["labels"].(map[string]any)["site"] != "lisbon" ||
			len(req["stages"].([]any)) != 2 || !strings.HasPrefix(req["release_id"].(string), "rel_") {
			t.Fatalf("rollout request %v", req)
		}
		fc.script, fc.gets = []apiRollout{
			rolloutAt("running", 0, map[string]int{"notified": 3}, ""),
			rolloutAt("aborted", 0, map[string]int{"rolled_back": 1, "notified": 2}, "stage 0: 1 failures ≥ abort_failures 1"),
		}, 0
		fc.script[1].Devices["kiosk-3"] = &apiProgress{State: "rolled_back", Error: "health check failed"}
		out, err := run(t, "push", art, "--url", srv.URL, "--rollout", "--follow", "--poll", "1ms")
		if err == nil || !strings.Contains(err.Error(), "aborted") || !strings.Contains(out, "kiosk-3: rolled_back: health check failed") {
			t.Fatalf("aborted rollout: %v\n%s", err, out)
		}
	})
	t.Run("https with --ca", func(t *testing.T) {
		t.Setenv("LIVEGATE_ADMIN_TOKEN", pushToken)
		tsrv := httptest.NewUnstartedServer(&fakeCloud{t: t, stored: map[string][]byte{}})
		tsrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
		tsrv.StartTLS()
		defer tsrv.Close()
		ca := filepath.Join(dir, "ca.pem")
		os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tsrv.Certificate().Raw}), 0o644)
		if _, err := run(t, "push", art, "--url", tsrv.URL); err == nil {
			t.Fatal("an untrusted certificate was accepted")
		}
		if out := mustRun(t, "push", art, "--url", tsrv.URL, "--ca", ca); !strings.Contains(out, "release rel_") {
			t.Fatalf("out %q", out)
		}
	})
}

// TestPushProgressLines: without a terminal, progress is plain lines.
func TestPushProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, total: 1000, next: 25}
	for range 10 {
		p.Write(make([]byte, 100))
	}
	want := "uploading: 25% (300 of 1000 bytes)\nuploading: 50% (500 of 1000 bytes)\n" +
		"uploading: 75% (800 of 1000 bytes)\nuploading: 100% (1000 of 1000 bytes)\n"
	if b.String() != want {
		t.Fatalf("got\n%s", b.String())
	}
	if isTerminal(&b) {
		t.Fatal("a buffer is not a terminal")
	}
}
