package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/capture"
	"livegate.dev/cloud/internal/capture/mount"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/models/liveness"
	"livegate.dev/models/replay"
)

// apiServer is the whole livegate-cloud (the daemon with the capture
// routes, light challenge on, one attempt per session) behind the page,
// with a tenant whose API key fetches recordings through the API.
type apiServer struct {
	*server
	d   *daemon.Daemon
	key string
}

const adminToken = "e2e-admin"

func newAPIServer(t *testing.T) *apiServer {
	t.Helper()
	modelsOnce.Do(func() { models, modelsErr = liveness.LoadModels(liveness.ModelOptions{Sets: 2}) })
	if modelsErr != nil {
		t.Fatalf("liveness models: %v — run `make setup`", modelsErr)
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	capRoutes := mount.Routes(mount.Options{DataDir: dir, Attempts: 1, ModelSets: 2})
	d, err := daemon.Start(context.Background(), daemon.Options{Listener: ln, DataDir: dir, PublicURL: base, Dev: true,
		AdminToken: adminToken, RateLimit: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Routes: func(p daemon.Parts) ([]api.Route, func() error, error) {
			rs, closeFn, err := capRoutes(p)
			if err != nil {
				return nil, nil, err
			}
			// The integrator's redirect target.
			return append(rs, api.Route{Operation: openapi.Operation{Method: "GET", Path: "/done", ID: "e2eDone", Tag: "Capture",
				Summary:   "The integrator's page (test)",
				Responses: []openapi.Response{{Status: 200, Description: "HTML.", ContentType: "text/html"}}},
				Handler: func(c *fiber.Ctx) error {
					c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
					return c.SendString("<!doctype html><title>integrator</title><h1>Back at the integrator</h1>")
				}}), closeFn, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d.Shutdown(ctx)
	})
	// run checks the audit frames through the store; the daemon keeps them
	// in <data>/audit.
	audit, err := capture.NewDirStore(filepath.Join(dir, "audit"), 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &apiServer{server: &server{base: base, sessions: d.Sessions(), audit: audit}, d: d}
	var tc api.TenantCreated
	s.call(t, "POST", "/admin/v1/tenants", adminToken, `{"name":"e2e","mode":"test"}`, 201, &tc)
	s.key = tc.APIKey
	return s
}

// call sends a JSON request and decodes a JSON answer of the wanted status.
func (s *apiServer) call(t *testing.T, method, path, key, body string, want int, out any) []byte {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != want {
		t.Fatalf("%s %s: %d %.300s (%v), want %d", method, path, resp.StatusCode, b, err, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return b
}

// managed creates a managed session with the tenant's key.
func (s *apiServer) managed(t *testing.T, mode string) *lifecycle.Created {
	t.Helper()
	var sc api.SessionCreated
	s.call(t, "POST", "/api/v1/managed-session", s.key, `{"mode":"`+mode+`","redirect_url":"`+s.base+`/done"}`, 201, &sc)
	return &lifecycle.Created{Session: &core.Session{ID: sc.SessionID}, Token: sc.Token, ClientToken: sc.ClientToken, SessionURL: sc.SessionURL}
}

// replayStored fetches a completed session's recording through the API
// with the owner's key and replays it with the engine in this process: it
// must give the stored verdict.
func (s *apiServer) replayStored(t *testing.T, c *lifecycle.Created, pageVerdict string) {
	t.Helper()
	id := c.Session.ID
	// The end user's tokens do not get it.
	for _, tok := range []string{c.Token, c.ClientToken} {
		req, _ := http.NewRequest("GET", s.base+"/api/v1/session/"+id+"/recording?token="+tok, nil)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
			t.Fatalf("recording with a session token: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
	}
	rec := s.call(t, "GET", "/api/v1/session/"+id+"/recording", s.key, "", 200, nil)
	var res lifecycle.Result
	s.call(t, "GET", "/api/v1/session/"+id+"/result", s.key, "", 200, &res)
	r, err := replay.NewReader(bytes.NewReader(rec))
	if err != nil {
		t.Fatal(err)
	}
	h := r.Header()
	if h.SessionID != id || h.Producer != replay.ProducerCloud || !h.Config.LightControlled || len(h.Config.LightPlan) == 0 {
		t.Fatalf("recording header %+v", h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	stored, got, err := r.Replay(ctx, models)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict == nil || stored.Verdict != string(*res.Verdict) || stored.Verdict != pageVerdict {
		t.Fatalf("the recording stores %q, the result says %v, the page showed %q", stored.Verdict, res.Verdict, pageVerdict)
	}
	if !stored.Matches(got) {
		t.Fatalf("replay of %s differs:\nstored %+v\n   got %+v", id, stored, got)
	}
	t.Logf("%s (%s, challenges %v): %d frames, %d bytes; stored and replayed %s %.4f %v", id, h.Config.Mode, h.Config.ChallengePlan,
		got.Frames, len(rec), got.Verdict, got.Confidence, got.Reasons)
}

// TestReplayCapturedSessions: a genuine clip (passive) and a printed photo
// (active) go through the hosted page with the light challenge; each
// session's recording, fetched through the API, replays in-process to the
// verdict the page showed and the result stores.
func TestReplayCapturedSessions(t *testing.T) {
	cases := []struct {
		name string
		y4m  func(t *testing.T) string
		mode string
	}{
		{"genuine clip, passive", genuineY4M, "passive"},
		{"printed photo, active", printedPhotoY4M, "active"},
	}
	s := newAPIServer(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := browser(t, tc.y4m(t))
			c := s.managed(t, tc.mode)
			v := run(t, ctx, s.server, c)
			s.replayStored(t, c, v)
		})
	}
}
