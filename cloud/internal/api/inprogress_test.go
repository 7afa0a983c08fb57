package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/core"
)

// probeRoutes mounts a ReadsSession route that echoes the session id it
// was authorized for.
func probeRoutes(daemon.Parts) ([]api.Route, func() error, error) {
	return []api.Route{{Operation: openapi.Operation{Method: "GET", Path: "/api/v1/session/{id}/probe", ID: "probeSession", Tag: "Sessions",
		Summary:   "Test route authorized like the result",
		Params:    []openapi.Param{{Name: "id", In: "path", Description: "Session id."}},
		Responses: []openapi.Response{{Status: 200, Description: "The session id.", ContentType: "text/plain"}}},
		ReadsSession: true,
		Handler:      func(c *fiber.Ctx) error { return c.SendString(api.SessionOf(c).ID) }}}, nil, nil
}

// testInProgress: a session whose capture began is in_progress (one
// session.in_progress webhook however often capture starts), every later
// transition accepts it, and the result lists the audit frames stored with
// the completion until their retention ends. ReadsSession routes (the
// audit frame JPEGs) are authorized exactly like the result.
func testInProgress(t *testing.T, start starter) {
	e := start(t, func(o *daemon.Options) { o.Routes = probeRoutes; o.SweepInterval = time.Minute })
	ctx := context.Background()
	rcv := newReceiver(t)
	tc, other := e.tenant("test"), e.tenant("test")
	sc := e.session(tc.APIKey, map[string]any{"webhook_url": rcv.url()})
	res := "/api/v1/session/" + sc.SessionID + "/result?token=" + url.QueryEscape(sc.Token)
	eventOf := func(typ string) lifecycle.Result {
		t.Helper()
		ev := rcv.next(t).event(t)
		var data lifecycle.Result
		if err := json.Unmarshal(ev.Data, &data); err != nil || ev.Type != typ {
			t.Fatalf("event %s %s, want %s", ev.Type, ev.Data, typ)
		}
		return data
	}

	for i := 0; i < 2; i++ { // a reconnect starts capture again
		if s, err := e.d.Sessions().Start(ctx, sc.SessionID); err != nil || s.Status != core.StatusInProgress {
			t.Fatalf("start %d: %+v %v", i, s, err)
		}
	}
	if data := eventOf(core.EventSessionStarted); data.Status != core.StatusInProgress || data.AuditFrames == nil {
		t.Fatalf("in_progress event data %+v", data)
	}
	var got lifecycle.Result
	e.do("GET", res, nil).want(t, 200, "").decode(t, &got)
	if got.Status != core.StatusInProgress || got.AuditFrames == nil || len(got.AuditFrames) != 0 {
		t.Fatalf("result in progress %+v", got)
	}
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/photo?token="+url.QueryEscape(sc.Token), nil).want(t, 202, "")

	now := e.clk.Now().UTC()
	frames := []core.AuditFrame{
		{Index: 0, Why: "reference", CapturedAt: now.Add(-3 * time.Second), Boxes: [][4]float64{{40, 50, 200, 240}}, ExpiresAt: now.Add(time.Hour)},
		{Index: 1, Why: "last", CapturedAt: now.Add(-time.Second), Boxes: [][4]float64{}, ExpiresAt: now.Add(time.Hour)},
	}
	if _, err := e.d.Sessions().Complete(ctx, sc.SessionID, lifecycle.Outcome{Confidence: 0.2, AuditFrames: frames}); err != nil {
		t.Fatal(err)
	}
	if data := eventOf(core.EventSessionCompleted); len(data.AuditFrames) != 2 {
		t.Fatalf("completed event lists %d audit frames", len(data.AuditFrames))
	}
	e.do("GET", res, nil).want(t, 200, "").decode(t, &got)
	if got.Status != core.StatusCompleted || len(got.AuditFrames) != 2 || got.AuditFrames[0].FaceBox == nil ||
		got.AuditFrames[1].URL != "/api/v1/session/"+sc.SessionID+"/audit/1" || !got.AuditFrames[0].CapturedAt.Equal(frames[0].CapturedAt) {
		t.Fatalf("completed result audit frames %+v", got.AuditFrames)
	}
	var lv api.LivenessSession
	e.do("GET", "/v1/liveness/sessions/"+sc.SessionID, nil, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &lv)
	if lv.Result == nil || len(lv.Result.AuditFrames) != 2 {
		t.Fatalf("liveness session result %+v", lv.Result)
	}

	// A ReadsSession route takes exactly the result's credentials.
	probe := "/api/v1/session/" + sc.SessionID + "/probe"
	if r := e.do("GET", probe+"?token="+url.QueryEscape(sc.Token), nil).want(t, 200, ""); string(r.body) != sc.SessionID {
		t.Fatalf("probe answered %q", r.body)
	}
	e.do("GET", probe, nil, bearer(sc.Token)...).want(t, 200, "")
	e.do("GET", probe, nil, bearer(tc.APIKey)...).want(t, 200, "")
	e.do("GET", probe, nil).want(t, 401, "auth.missing")
	e.do("GET", probe, nil, bearer(other.APIKey)...).want(t, 404, "session.not_found")
	e.do("GET", probe+"?token=lgst_wrong", nil).want(t, 404, "session.not_found")
	e.do("GET", probe+"?token="+url.QueryEscape(sc.ClientToken), nil).want(t, 404, "session.not_found")

	// Past the retention the list is empty.
	e.clk.Advance(time.Hour)
	e.do("GET", res, nil).want(t, 200, "").decode(t, &got)
	if got.AuditFrames == nil || len(got.AuditFrames) != 0 {
		t.Fatalf("audit frames after the retention %+v", got.AuditFrames)
	}
	rcv.none(t)

	// Simulate, cancel and expiry accept in_progress.
	sim := e.session(tc.APIKey, nil)
	e.d.Sessions().Start(ctx, sim.SessionID)
	var sr api.SimulateResponse
	e.do("POST", "/api/v1/session/"+sim.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &sr)
	if sr.Status != core.StatusCompleted || len(sr.AuditFrames) != 0 {
		t.Fatalf("simulated from in_progress %+v", sr)
	}
	can := e.session(tc.APIKey, nil)
	e.d.Sessions().Start(ctx, can.SessionID)
	e.do("POST", "/api/v1/session/"+can.SessionID+"/cancel", nil, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &got)
	if got.Status != core.StatusCancelled {
		t.Fatalf("cancelled from in_progress %+v", got)
	}
	exp := e.session(tc.APIKey, map[string]any{"webhook_url": rcv.url()})
	e.d.Sessions().Start(ctx, exp.SessionID)
	eventOf(core.EventSessionStarted)
	d := e.sweepUntil(rcv, time.Minute)
	var data lifecycle.Result
	if ev := d.event(t); ev.Type != core.EventSessionExpired || json.Unmarshal(ev.Data, &data) != nil || data.SessionID != exp.SessionID {
		t.Fatalf("expiry event %s %s", ev.Type, ev.Data)
	}
	rcv.none(t)
}
