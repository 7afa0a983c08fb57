package mount

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/models/assets"
)

// TestMounted runs the real daemon with these routes: the page replaces the
// placeholder, every route is documented, the WebSocket authenticates, and
// the face routes take tenant API keys.
func TestMounted(t *testing.T) {
	dir := t.TempDir()
	d, err := daemon.Start(context.Background(), daemon.Options{Addr: "127.0.0.1:0", DataDir: dir, BodyLimit: 4 << 20, AdminToken: "adm",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Routes: Routes(Options{DataDir: dir, ModelSets: 1})})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	base := "http://" + d.Addr().String()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	c, err := d.Sessions().Create(context.Background(), lifecycle.Principal{}, core.KindDirect, lifecycle.CreateRequest{Mode: "active"}, "")
	if err != nil {
		t.Fatal(err)
	}
	st, body := get("/s/" + c.Session.ID + "?t=" + url.QueryEscape(c.ClientToken))
	if st != 200 || !strings.Contains(body, "Use my phone instead") {
		t.Fatalf("page: %d %.200s", st, body)
	}
	if st, _ := get("/s/" + c.Session.ID + "?t=wrong"); st != 404 {
		t.Fatalf("page with a wrong token: %d", st)
	}
	_, spec := get("/openapi.json")
	for _, p := range []string{`"/api/v1/session/{id}/ws"`, `"/v2/face/compare"`, `"/v1/face/detect"`, `"/s/{id}/handoff"`, `"/s/{id}/state"`, `"/api/v1/session/{id}/audit"`, "docs/websocket.md"} {
		if !strings.Contains(spec, p) {
			t.Errorf("OpenAPI document lacks %s", p)
		}
	}
	ws := "ws://" + d.Addr().String() + "/api/v1/session/" + c.Session.ID + "/ws?token="
	if _, resp, err := websocket.DefaultDialer.Dial(ws+"nope", nil); err == nil || resp == nil || resp.StatusCode != 404 {
		t.Fatalf("WebSocket with a wrong token: %v %v", err, resp)
	}
	conn, _, err := websocket.DefaultDialer.Dial(ws+url.QueryEscape(c.ClientToken), nil)
	if err != nil {
		t.Fatalf("WebSocket: %v", err)
	}
	conn.Close()

	// Audit frames of a completed session: listed in the result, each JPEG
	// served at its url with the result's credentials.
	audit, err := capture.NewDirStore(filepath.Join(dir, "audit"), 0)
	if err != nil {
		t.Fatal(err)
	}
	jpegs := [][]byte{{0xFF, 0xD8, 0xFF, 0xD9}, {0xFF, 0xD8, 0, 0xFF, 0xD9}}
	if err := audit.Put(context.Background(), c.Session.ID, []capture.AuditFrame{{Index: 3, Why: "reference", JPEG: jpegs[0]}, {Index: 9, Why: "last", JPEG: jpegs[1]}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	refs := []core.AuditFrame{{Index: 0, Why: "reference", CapturedAt: now, Boxes: [][4]float64{{1, 2, 3, 4}}, ExpiresAt: now.Add(time.Hour)},
		{Index: 1, Why: "last", CapturedAt: now, Boxes: [][4]float64{}, ExpiresAt: now.Add(time.Hour)}}
	if _, err := d.Sessions().Complete(context.Background(), c.Session.ID, lifecycle.Outcome{Confidence: 0.1, AuditFrames: refs}); err != nil {
		t.Fatal(err)
	}
	tok := "?token=" + url.QueryEscape(c.Token)
	st, body = get("/api/v1/session/" + c.Session.ID + "/result" + tok)
	var res lifecycle.Result
	if err := json.Unmarshal([]byte(body), &res); st != 200 || err != nil || len(res.AuditFrames) != 2 {
		t.Fatalf("result: %d %s", st, body)
	}
	for i, f := range res.AuditFrames {
		st, body := get(f.URL + tok)
		if st != 200 || body != string(jpegs[i]) {
			t.Fatalf("audit frame %d at %s: %d %q", i, f.URL, st, body)
		}
		if st, _ := get(f.URL); st != 401 {
			t.Fatalf("audit frame %d without credentials: %d", i, st)
		}
		if st, _ := get(f.URL + "?token=" + url.QueryEscape(c.ClientToken)); st != 404 {
			t.Fatalf("audit frame %d with the client token: %d", i, st)
		}
	}
	if st, _ := get("/api/v1/session/" + c.Session.ID + "/audit/2" + tok); st != 404 {
		t.Fatalf("unlisted audit frame: %d", st)
	}
	st, body = get("/api/v1/session/" + c.Session.ID + "/audit" + tok)
	var al AuditList
	if err := json.Unmarshal([]byte(body), &al); st != 200 || err != nil || len(al.Frames) != 2 || al.Frames[1].URL != res.AuditFrames[1].URL {
		t.Fatalf("audit list: %d %s", st, body)
	}

	// Face detect with a tenant key, and without.
	img, err := os.ReadFile(filepath.Join(assets.CacheDir(), "media", "grace_hopper_512x512.jpg"))
	if err != nil {
		t.Skipf("media missing: %v", err)
	}
	treq, _ := http.NewRequest("POST", base+"/admin/v1/tenants", strings.NewReader(`{"name":"acme","mode":"test"}`))
	treq.Header.Set("Authorization", "Bearer adm")
	treq.Header.Set("Content-Type", "application/json")
	tresp, err := http.DefaultClient.Do(treq)
	if err != nil {
		t.Fatal(err)
	}
	var nt struct {
		APIKey string `json:"api_key"`
	}
	json.NewDecoder(tresp.Body).Decode(&nt)
	tresp.Body.Close()
	if tresp.StatusCode != 201 || nt.APIKey == "" {
		t.Fatalf("creating a tenant: %d", tresp.StatusCode)
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("image", "g.jpg")
	fw.Write(img)
	w.Close()
	for _, key := range []string{"", nt.APIKey} {
		req, _ := http.NewRequest("POST", base+"/v1/face/detect", bytes.NewReader(buf.Bytes()))
		req.Header.Set("Content-Type", w.FormDataContentType())
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		switch {
		case key == "" && resp.StatusCode != 401:
			t.Errorf("detect without a key: %d %v", resp.StatusCode, out)
		case key != "" && (resp.StatusCode != 200 || out["face_count"] != float64(1)):
			t.Errorf("detect: %d %v", resp.StatusCode, out)
		}
	}
}
