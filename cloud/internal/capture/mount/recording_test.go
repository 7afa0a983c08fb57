package mount

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/clock"
	"livegate.dev/models/liveness"
	"livegate.dev/models/replay"
)

// TestRecordingRoute: GET /api/v1/session/{id}/recording answers the
// owning API key only, with the recording kept for a completed session,
// until the audit retention after completion ends; every refusal is in the
// envelope.
func TestRecordingRoute(t *testing.T) {
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
	type answer struct {
		status int
		header http.Header
		body   []byte
	}
	do := func(method, path, key, body string) answer {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, resp.Header, b}
	}
	wantErr := func(a answer, status int, code string) {
		t.Helper()
		var env struct {
			Detail struct{ Code, Message, RequestID string } `json:"detail"`
		}
		if err := json.Unmarshal(a.body, &env); err != nil || a.status != status || env.Detail.Code != code {
			t.Fatalf("got %d %s, want %d %s", a.status, a.body, status, code)
		}
		var raw map[string]map[string]any
		json.Unmarshal(a.body, &raw)
		if raw["detail"]["request_id"] == "" || raw["detail"]["request_id"] == nil {
			t.Fatalf("no request_id in %s", a.body)
		}
	}
	tenant := func(mode string) string {
		a := do("POST", "/admin/v1/tenants", "adm", `{"name":"acme","mode":"`+mode+`"}`)
		var nt struct {
			APIKey string `json:"api_key"`
		}
		if json.Unmarshal(a.body, &nt); a.status != 201 || nt.APIKey == "" {
			t.Fatalf("tenant: %d %s", a.status, a.body)
		}
		return nt.APIKey
	}
	key, otherKey := tenant("test"), tenant("test")
	var sc struct {
		SessionID   string `json:"session_id"`
		Token       string `json:"token"`
		ClientToken string `json:"client_token"`
	}
	newSession := func() {
		a := do("POST", "/api/v1/managed-session", key, `{"mode":"passive"}`)
		if json.Unmarshal(a.body, &sc); a.status != 201 {
			t.Fatalf("session: %d %s", a.status, a.body)
		}
	}
	newSession()
	path := "/api/v1/session/" + sc.SessionID + "/recording"

	// Before completion there is nothing to give.
	wantErr(do("GET", path, key, ""), 404, "session.recording_unavailable")

	// The capture keeps the deciding attempt's recording, then completes.
	store, err := capture.NewDirStore(filepath.Join(dir, "audit"), 0, capture.WithRecordingKey(recordingKey(mustMaster(t, o))))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.NewRecording(context.Background(), sc.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	a := liveness.New(liveness.Config{Mode: liveness.Passive, LightControlled: true}, nil, nil)
	w, err := replay.NewWriter(rec, replay.Header{Producer: replay.ProducerCloud, SessionID: sc.SessionID, Config: replay.ConfigOf(a)})
	if err != nil {
		t.Fatal(err)
	}
	frame := append([]byte{0xFF, 0xD8}, bytes.Repeat([]byte{7}, 200_000)...)
	for i := 0; i < 3; i++ {
		if err := w.WriteFrame(liveness.Frame{JPEG: frame, Timestamp: time.Duration(i+1) * 100 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	verdict := liveness.Verdict{Verdict: liveness.VerdictFail, Confidence: 0.2, Reasons: []string{liveness.ReasonFaceNotDetected}}
	if err := w.Close(verdict); err != nil {
		t.Fatal(err)
	}
	if err := rec.Keep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Sessions().Complete(context.Background(), sc.SessionID, lifecycle.Outcome{Confidence: 0.2, Verdict: "fail"}); err != nil {
		t.Fatal(err)
	}

	got := do("GET", path, key, "")
	if got.status != 200 || got.header.Get("Content-Type") != "application/octet-stream" ||
		!strings.Contains(got.header.Get("Content-Disposition"), sc.SessionID+".lgr") || got.header.Get("Cache-Control") != "private, no-store" {
		t.Fatalf("recording: %d %v", got.status, got.header)
	}
	r, err := replay.NewReader(bytes.NewReader(got.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header().SessionID != sc.SessionID {
		t.Fatalf("header %+v", r.Header())
	}
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil || !bytes.Equal(f.JPEG, frame) {
			t.Fatalf("frame: %v", err)
		}
	}
	if tr, _ := r.Trailer(); tr.Frames != 3 || !tr.Verdict.Matches(replay.Summarize(verdict)) {
		t.Fatalf("trailer %+v", tr)
	}

	// The owning key only.
	cases := []struct {
		name, path, key string
		status          int
		code            string
	}{
		{"no credentials", path, "", 401, "auth.missing"},
		{"the result token", path + "?token=" + url.QueryEscape(sc.Token), "", 401, "auth.missing"},
		{"the client token", path + "?token=" + url.QueryEscape(sc.ClientToken), "", 401, "auth.missing"},
		{"the result token as bearer", path, sc.Token, 401, "auth.invalid"},
		{"another tenant's key", path, otherKey, 404, "session.not_found"},
		{"a missing session", "/api/v1/session/ses_06H50TZ88Z6XZM4D781DAD0J99/recording", key, 404, "session.not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(do("GET", c.path, c.key, ""), c.status, c.code) })
	}

	// A simulated session has none.
	done := sc.SessionID
	newSession()
	if a := do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", key, `{"verdict":"pass"}`); a.status != 200 {
		t.Fatalf("simulate: %d %s", a.status, a.body)
	}
	wantErr(do("GET", "/api/v1/session/"+sc.SessionID+"/recording", key, ""), 404, "session.recording_unavailable")

	// Past the retention (30 days by default) it is gone, swept or not.
	clk.Advance(30*24*time.Hour + time.Second)
	wantErr(do("GET", "/api/v1/session/"+done+"/recording", key, ""), 404, "session.recording_unavailable")

	spec := do("GET", "/openapi.json", "", "")
	for _, s := range []string{`"/api/v1/session/{id}/recording"`, "session.recording_unavailable", "application/octet-stream"} {
		if !strings.Contains(string(spec.body), s) {
			t.Errorf("the OpenAPI document lacks %s", s)
		}
	}
}

func mustMaster(t *testing.T, o daemon.Options) []byte {
	t.Helper()
	k, err := daemon.MasterKey(o)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
