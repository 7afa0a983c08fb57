package releases

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/ota/download"
)

const adminToken = "admin-secret"

type server struct {
	url string
	e   *env
}

// mount serves Routes on a real livegate-cloud daemon, as serve.go would.
func mount(t *testing.T, devs fleet) *server {
	t.Helper()
	e := newEnv(t, devs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(context.Background(), daemon.Options{
		Listener: ln, DataDir: t.TempDir(), AdminToken: adminToken, RateLimit: -1, BodyLimit: 4 << 20,
		Clock: e.clk, Logger: e.svc.cfg.Logger,
		Routes: func(daemon.Parts) ([]api.Route, func() error, error) {
			return Routes(e.svc, RoutesOptions{AdminToken: adminToken}), nil, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	return &server{url: d.URL(), e: e}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (s *server) do(t *testing.T, method, path, ct string, body []byte, hdr ...string) resp {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, r.Header, b}
}

func (r resp) want(t *testing.T, status int, code string) resp {
	t.Helper()
	if r.status != status || code != "" && !strings.Contains(string(r.body), `"code":"`+code+`"`) {
		t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, code)
	}
	return r
}

// json decodes the body into v (v's maps are reset by the caller: decode
// into a fresh value).
func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
}

var bearer = []string{"Authorization", "Bearer " + adminToken}

func TestRoutesReleases(t *testing.T) {
	s := mount(t, simFleet(40))
	art := s.e.keys.build(t, "1.2.0", bytes.Repeat([]byte("image "), 5000))
	raw := "application/octet-stream"

	s.do(t, "POST", "/admin/v1/releases", raw, art).want(t, 401, "auth.admin_invalid")
	s.do(t, "POST", "/admin/v1/releases", raw, art, "Authorization", "Bearer wrong").want(t, 401, "auth.admin_invalid")
	s.do(t, "POST", "/admin/v1/releases", raw, unsigned(t, art), bearer...).want(t, 422, "release.unsigned")
	s.do(t, "POST", "/admin/v1/releases", raw, newKeys(t).build(t, "1.2.0", []byte("x")), bearer...).want(t, 422, "release.untrusted_key")
	s.do(t, "POST", "/admin/v1/releases", raw, bytes.Replace(art, []byte("test release"), []byte("evil release"), 1), bearer...).
		want(t, 422, "release.bad_signature")
	s.do(t, "POST", "/admin/v1/releases", raw, art[:len(art)-700], bearer...).want(t, 422, "release.truncated")
	s.do(t, "POST", "/admin/v1/releases", raw, s.e.keys.build(t, "1.9.0", bytes.Repeat([]byte{7}, 2<<20)), bearer...).
		want(t, 413, "release.too_large")
	s.do(t, "POST", "/admin/v1/releases", raw, nil, bearer...).want(t, 400, "request.missing_field")

	var rel Release
	r := s.do(t, "POST", "/admin/v1/releases", raw, art, bearer...).want(t, 201, "")
	r.json(t, &rel)
	if r.header.Get("Location") != "/admin/v1/releases/"+rel.ID || rel.Manifest.Version != "1.2.0" {
		t.Fatalf("upload: %v %+v", r.header, rel)
	}
	s.do(t, "POST", "/admin/v1/releases", raw, art, bearer...).want(t, 409, "release.exists")

	// Multipart upload of another version.
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	fw, _ := w.CreateFormFile("artifact", "livegate-1.3.0.lgota")
	fw.Write(s.e.keys.build(t, "1.3.0", []byte("image 1.3")))
	w.Close()
	s.do(t, "POST", "/admin/v1/releases", w.FormDataContentType(), mp.Bytes(), bearer...).want(t, 201, "")

	var list ReleaseList
	s.do(t, "GET", "/admin/v1/releases", "", nil, bearer...).want(t, 200, "").json(t, &list)
	if len(list.Releases) != 2 {
		t.Fatalf("list: %+v", list)
	}
	s.do(t, "GET", "/admin/v1/releases/"+rel.ID, "", nil, bearer...).want(t, 200, "")
	s.do(t, "GET", "/admin/v1/releases/rel_nope", "", nil, bearer...).want(t, 404, "release.not_found")

	// Device download: whole, ranges, and a resumed ota/download fetch.
	path := "/api/v1/releases/" + rel.ID + "/artifact"
	whole := s.do(t, "GET", path, "", nil).want(t, 200, "")
	if !bytes.Equal(whole.body, art) || whole.header.Get("Accept-Ranges") != "bytes" || whole.header.Get("ETag") != `"`+rel.SHA256+`"` {
		t.Fatalf("whole download: %d bytes, %v", len(whole.body), whole.header)
	}
	n := int64(len(art))
	ranges := []struct {
		rng        string
		status     int
		start, end int64
	}{
		{"bytes=100-", 206, 100, n - 1},
		{"bytes=0-9", 206, 0, 9},
		{"bytes=-10", 206, n - 10, n - 1},
		{"bytes=10-999999999", 206, 10, n - 1},
		{"bytes=0-1,5-6", 200, 0, n - 1},
		{"items=0-1", 200, 0, n - 1},
	}
	for _, c := range ranges {
		r := s.do(t, "GET", path, "", nil, "Range", c.rng).want(t, c.status, "")
		if !bytes.Equal(r.body, art[c.start:c.end+1]) {
			t.Fatalf("%s: %d bytes", c.rng, len(r.body))
		}
		if c.status == 206 && r.header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", c.start, c.end, n) {
			t.Fatalf("%s: Content-Range %q", c.rng, r.header.Get("Content-Range"))
		}
	}
	s.do(t, "GET", path, "", nil, "Range", fmt.Sprintf("bytes=%d-", n)).want(t, 416, "release.range_not_satisfiable")
	s.do(t, "GET", path, "", nil, "Range", "bytes=5-", "If-Range", `"stale"`).want(t, 200, "")
	s.do(t, "GET", "/api/v1/releases/rel_nope/artifact", "", nil).want(t, 404, "release.not_found")

	dst := t.TempDir() + "/a.lgota"
	if err := writeFile(dst+".part", art[:n/3]); err != nil { // a download cut by a power loss
		t.Fatal(err)
	}
	f := &download.Fetcher{Client: http.DefaultClient}
	if err := f.Fetch(context.Background(), s.url+path, dst, rel.Size, rel.SHA256); err != nil {
		t.Fatalf("resumed fetch: %v", err)
	}

	s.do(t, "DELETE", "/admin/v1/releases/"+rel.ID, "", nil, bearer...).want(t, 204, "")
	s.do(t, "DELETE", "/admin/v1/releases/"+rel.ID, "", nil, bearer...).want(t, 404, "release.not_found")
}

func TestRoutesRollouts(t *testing.T) {
	s := mount(t, simFleet(40))
	var rel Release
	s.do(t, "POST", "/admin/v1/releases", "application/octet-stream", s.e.keys.build(t, "1.2.0", []byte("img")), bearer...).
		want(t, 201, "").json(t, &rel)
	js := "application/json"
	s.do(t, "POST", "/admin/v1/rollouts", js, []byte(`{"release_id":"`+rel.ID+`","stages":[50,10]}`), bearer...).want(t, 400, "rollout.invalid")
	s.do(t, "POST", "/admin/v1/rollouts", js, []byte(`{"release_id":"rel_nope"}`), bearer...).want(t, 404, "release.not_found")
	s.do(t, "POST", "/admin/v1/rollouts", js, []byte(`{}`), bearer...).want(t, 400, "request.missing_field")
	s.do(t, "POST", "/admin/v1/rollouts", js, []byte(`{"release_id":"x","bogus":1}`), bearer...).want(t, 400, "request.unknown_field")

	var ro RolloutView
	r := s.do(t, "POST", "/admin/v1/rollouts", js,
		[]byte(`{"release_id":"`+rel.ID+`","stages":[25,100],"abort_failures":5,"labels":{"site":"a"}}`), bearer...).want(t, 201, "")
	r.json(t, &ro)
	if ro.State != RolloutRunning || len(ro.Devices) != 20 || ro.Counts[StateNotified] == 0 || ro.Counts[StatePending] == 0 ||
		ro.Counts[StateNotified] != len(s.e.notes.devices()) {
		t.Fatalf("started: %+v", ro.Counts)
	}
	d := s.e.notes.devices()[0]
	if _, err := s.e.svc.Report(context.Background(), ro.ID, d, StateSucceeded, ""); err != nil {
		t.Fatal(err)
	}
	id := ro.ID
	ro = RolloutView{}
	s.do(t, "GET", "/admin/v1/rollouts/"+id, "", nil, bearer...).want(t, 200, "").json(t, &ro)
	if ro.Devices[d].State != StateSucceeded || ro.Counts[StateSucceeded] != 1 {
		t.Fatalf("progress: %+v", ro.Devices[d])
	}
	var list RolloutList
	s.do(t, "GET", "/admin/v1/rollouts", "", nil, bearer...).want(t, 200, "").json(t, &list)
	if len(list.Rollouts) != 1 || list.Rollouts[0].Devices != nil {
		t.Fatalf("list: %+v", list)
	}
	ro = RolloutView{}
	s.do(t, "POST", "/admin/v1/rollouts/"+id+"/advance", "", nil, bearer...).want(t, 200, "").json(t, &ro)
	if ro.Stage != 1 || ro.Counts[StatePending] != 0 {
		t.Fatalf("advance: stage %d %+v", ro.Stage, ro.Counts)
	}
	s.do(t, "POST", "/admin/v1/rollouts/"+ro.ID+"/advance", "", nil, bearer...).want(t, 409, "rollout.not_running")
	s.do(t, "DELETE", "/admin/v1/releases/"+rel.ID, "", nil, bearer...).want(t, 409, "release.in_use")
	s.do(t, "POST", "/admin/v1/rollouts/"+ro.ID+"/stop", js, []byte(`{"reason":"bad batch"}`), bearer...).want(t, 200, "").json(t, &ro)
	if ro.State != RolloutStopped || ro.Reason != "bad batch" {
		t.Fatalf("stop: %s %q", ro.State, ro.Reason)
	}
	s.do(t, "POST", "/admin/v1/rollouts/"+ro.ID+"/stop", "", nil, bearer...).want(t, 409, "rollout.not_running")
	s.do(t, "GET", "/admin/v1/rollouts/rol_nope", "", nil, bearer...).want(t, 404, "rollout.not_found")
	s.do(t, "GET", "/admin/v1/rollouts/"+ro.ID, "", nil).want(t, 401, "auth.admin_invalid")

	spec := string(s.do(t, "GET", "/openapi.json", "", nil).want(t, 200, "").body)
	for _, id := range []string{"uploadRelease", "downloadArtifact", "startRollout", "getRollout", "stopRollout", "advanceRollout"} {
		if !strings.Contains(spec, id) {
			t.Errorf("%s not documented", id)
		}
	}
}

func TestRoutesDeviceLabels(t *testing.T) {
	s := mount(t, fleet{{ID: "kiosk-1"}})
	path := "/admin/v1/devices/kiosk-1/labels"
	js := "application/json"
	s.do(t, "PUT", path, js, []byte(`{"labels":{"site":"lisbon"}}`)).want(t, 401, "auth.admin_invalid")
	s.do(t, "PUT", "/admin/v1/devices/kiosk-9/labels", js, []byte(`{"labels":{"site":"lisbon"}}`), bearer...).want(t, 404, "device.not_found")
	s.do(t, "GET", "/admin/v1/devices/kiosk-9/labels", "", nil, bearer...).want(t, 404, "device.not_found")
	s.do(t, "PUT", path, js, []byte(`{}`), bearer...).want(t, 400, "request.missing_field")
	s.do(t, "PUT", path, js, []byte(`{"labels":{"tenant":"x"}}`), bearer...).want(t, 400, "request.invalid_field")
	s.do(t, "PUT", path, js, []byte(`{"labels":{"a b":"x"}}`), bearer...).want(t, 400, "request.invalid_field")
	s.do(t, "PUT", path, js, []byte(`{"labels":{"site":1}}`), bearer...).want(t, 400, "")

	var f DeviceFacts
	s.do(t, "GET", path, "", nil, bearer...).want(t, 200, "").json(t, &f)
	if f.DeviceID != "kiosk-1" || len(f.Labels) != 0 {
		t.Fatalf("before: %+v", f)
	}
	s.do(t, "PUT", path, js, []byte(`{"labels":{"site":"lisbon","ring":"canary"}}`), bearer...).want(t, 200, "")
	f = DeviceFacts{}
	s.do(t, "GET", path, "", nil, bearer...).want(t, 200, "").json(t, &f)
	if f.Labels["site"] != "lisbon" || f.Labels["ring"] != "canary" || len(f.Labels) != 2 {
		t.Fatalf("after: %+v", f)
	}
	f = DeviceFacts{}
	s.do(t, "PUT", path, js, []byte(`{"labels":{}}`), bearer...).want(t, 200, "").json(t, &f)
	if len(f.Labels) != 0 {
		t.Fatalf("cleared: %+v", f)
	}
}
