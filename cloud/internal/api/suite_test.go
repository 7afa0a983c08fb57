package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/webhook"
)

// suite is every HTTP-level test; each store runs all of them.
var suite = []struct {
	name string
	fn   func(t *testing.T, start starter)
}{
	{"Health", testHealth},
	{"EnvelopeOnEveryError", testEnvelope},
	{"Auth", testAuth},
	{"ManagedSessionPassEndToEnd", testManagedPass},
	{"CrossTenantAndForeignTokens", testCrossTenant},
	{"TokenExpiry", testTokenExpiry},
	{"LegacyKeyUnsignedWebhooks", testLegacy},
	{"DirectSession", testDirect},
	{"Simulate", testSimulate},
	{"TTLExpirySweeperAndPage", testTTL},
	{"RateLimit", testRateLimit},
	{"Idempotency", testIdempotency},
	{"HostileURLs", testHostileURLs},
	{"KeyRotationAndRevocation", testKeyRotation},
	{"WebhookSecretRotationTwoSignatures", testSecretRotation},
	{"DeadLettersAndReplay", testDeadLetters},
	{"LivenessSessionsSeed002", testLiveness},
	{"Cancel", testCancel},
	{"InProgressAndAuditFrames", testInProgress},
	{"FixedChallengesTestKeysOnly", testChallenges},
	{"TenantSettings", testTenantSettings},
	{"TenantCapturePage", testCapturePage},
}

func TestAPIBolt(t *testing.T) {
	start := startWith(nil)
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, start) })
	}
}

func testHealth(t *testing.T, start starter) {
	e := start(t)
	var h api.Health
	e.do("GET", "/healthz", nil).want(t, 200, "").decode(t, &h)
	if h.Status != "ok" {
		t.Fatalf("healthz %+v", h)
	}
	e.do("GET", "/readyz", nil).want(t, 200, "")
}

func testEnvelope(t *testing.T, start starter) {
	e := start(t)
	key := e.tenant("test").APIKey
	cases := []struct {
		name, method, path string
		body               any
		hdr                []string
		status             int
		code, msg          string
	}{
		{"unknown route", "GET", "/nope", nil, nil, 404, "request.route_not_found", "/nope"},
		{"wrong method", "DELETE", "/api/v1/managed-session", nil, bearer(key), 405, "request.method_not_allowed", "DELETE"},
		{"body too large (raw connection)", "POST", "/api/v1/managed-session", nil, bearer(key), 413, "request.body_too_large", ""},
		{"invalid JSON", "POST", "/api/v1/managed-session", `{"user_id":`, bearer(key), 400, "request.invalid_json", ""},
		{"not an object", "POST", "/api/v1/managed-session", `[1]`, bearer(key), 400, "request.invalid_json", "object"},
		{"trailing data", "POST", "/api/v1/managed-session", `{}{}`, bearer(key), 400, "request.invalid_json", ""},
		{"unknown field", "POST", "/api/v1/managed-session", `{"user_id":"u","colour":"red"}`, bearer(key), 400, "request.unknown_field", `"colour"`},
		{"wrong type", "POST", "/api/v1/managed-session", `{"user_id":42}`, bearer(key), 400, "request.invalid_field", `"user_id" must be a string`},
		{"bad mode", "POST", "/api/v1/managed-session", `{"mode":"sleepy"}`, bearer(key), 400, "request.invalid_field", `"mode"`},
		{"metadata not object", "POST", "/api/v1/managed-session", `{"metadata":[1]}`, bearer(key), 400, "request.invalid_field", `"metadata"`},
		{"form body", "POST", "/api/v1/managed-session", `user_id=u`, append(bearer(key), "Content-Type", "application/x-www-form-urlencoded"), 415, "request.unsupported_media_type", "application/json"},
		{"direct unknown field webhook_url", "POST", "/api/v1/session", `{"webhook_url":"https://hooks.example.com/"}`, nil, 400, "request.unknown_field", `"webhook_url"`},
		{"admin body wrong type", "POST", "/admin/v1/tenants", `{"name":1,"mode":"test"}`, bearer(adminToken), 400, "request.invalid_field", `"name"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			var r resp
			if c.status == 413 {
				r = e.rawOversized(c.path, c.hdr...)
			} else {
				r = e.do(c.method, c.path, c.body, c.hdr...)
			}
			r.want(t, c.status, c.code)
			if !strings.Contains(r.message(t), c.msg) {
				t.Fatalf("message %q does not mention %q", r.message(t), c.msg)
			}
		})
	}
}

func testAuth(t *testing.T, start starter) {
	e := start(t)
	tc := e.tenant("live")
	sc := e.session(tc.APIKey, nil)
	cases := []struct {
		name, method, path string
		hdr                []string
		status             int
		code               string
	}{
		{"no key", "POST", "/api/v1/managed-session", nil, 401, "auth.missing"},
		{"unknown key", "POST", "/api/v1/managed-session", bearer("iksk_live_notakey"), 401, "auth.invalid"},
		{"webhook secret as key", "POST", "/api/v1/managed-session", bearer(tc.WebhookSecret), 401, "auth.invalid"},
		{"basic auth", "POST", "/api/v1/managed-session", []string{"Authorization", "Basic " + tc.APIKey}, 401, "auth.missing"},
		{"session token is not an API key", "POST", "/api/v1/managed-session", bearer(sc.Token), 401, "auth.invalid"},
		{"result without credentials", "GET", "/api/v1/session/" + sc.SessionID + "/result", nil, 401, "auth.missing"},
		{"admin without token", "GET", "/admin/v1/tenants", nil, 401, "auth.admin_invalid"},
		{"admin with API key", "GET", "/admin/v1/tenants", bearer(tc.APIKey), 401, "auth.admin_invalid"},
		{"admin with near-miss token", "GET", "/admin/v1/tenants", bearer(adminToken + "x"), 401, "auth.admin_invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { e.with(t).do(c.method, c.path, nil, c.hdr...).want(t, c.status, c.code) })
	}
	// Admin API disabled without LIVEGATE_ADMIN_TOKEN.
	e2 := start(t, func(o *daemon.Options) { o.AdminToken, o.LegacyKey = "", "" })
	e2.do("GET", "/admin/v1/tenants", nil, bearer("")...).want(t, 404, "auth.admin_disabled")
	e2.do("POST", "/admin/v1/tenants", `{"name":"x","mode":"test"}`, bearer("anything")...).want(t, 404, "auth.admin_disabled")
	// Legacy key disabled when unset.
	e2.do("POST", "/api/v1/managed-session", nil, bearer(legacyKey)...).want(t, 401, "auth.invalid")
}

func testManagedPass(t *testing.T, start starter) {
	e := start(t)
	rcv := newReceiver(t)
	tc := e.tenant("test")
	body := map[string]any{"user_id": "user_123", "mode": "passive", "redirect_url": "http://127.0.0.1:9/done?flow=kyc",
		"webhook_url": rcv.url(), "metadata": map[string]any{"order": 7}}
	r := e.do("POST", "/api/v1/managed-session", body, bearer(tc.APIKey)...).want(t, 201, "")
	var sc api.SessionCreated
	r.decode(t, &sc)
	if !strings.HasPrefix(sc.SessionID, "ses_") || !strings.HasPrefix(sc.Token, "lgst_") || len(sc.Token) < 40 ||
		sc.Mode != "passive" || sc.Status != "pending" || !sc.ExpiresAt.Equal(e.clk.Now().Add(30*time.Minute)) {
		t.Fatalf("created %+v", sc)
	}
	if want := e.d.URL() + "/s/" + sc.SessionID + "?t="; !strings.HasPrefix(sc.SessionURL, want) || !strings.Contains(sc.SessionURL, sc.ClientToken) {
		t.Fatalf("session_url %q", sc.SessionURL)
	}
	if r.header.Get("X-RateLimit-Limit") == "" || r.header.Get("X-RateLimit-Remaining") == "" || r.header.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("rate-limit headers missing: %v", r.header)
	}
	res := "/api/v1/session/" + sc.SessionID + "/result?token=" + url.QueryEscape(sc.Token)
	photo := "/api/v1/session/" + sc.SessionID + "/photo?token=" + url.QueryEscape(sc.Token)

	var got lifecycle.Result
	e.do("GET", res, nil).want(t, 200, "").decode(t, &got)
	if got.Status != "pending" || got.Verdict != nil || got.Confidence != nil || got.PhotoAvailable || got.UserID != "user_123" ||
		string(got.Metadata) != `{"order":7}` || got.Checks == nil || got.Reasons == nil {
		t.Fatalf("pending result %+v", got)
	}
	e.do("GET", photo, nil).want(t, 202, "")
	// The hosted page shows the state.
	page := e.do("GET", strings.TrimPrefix(sc.SessionURL, e.d.URL()), nil).want(t, 200, "")
	if !strings.Contains(string(page.body), "pending") || !strings.Contains(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("page %s", page.body)
	}
	e.do("GET", "/s/"+sc.SessionID+"?t=wrong", nil).want(t, 404, "session.not_found")

	var sim api.SimulateResponse
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", map[string]any{"verdict": "pass"}, bearer(tc.APIKey)...).
		want(t, 200, "").decode(t, &sim)
	if sim.Status != "completed" || *sim.Verdict != "pass" || *sim.Confidence < 0.70 || !sim.PhotoAvailable || !sim.Simulated {
		t.Fatalf("simulated %+v", sim)
	}
	wantSimulatedChecks(t, sim.Result, "passive", "pass")
	if want := "http://127.0.0.1:9/done?flow=kyc&session_id=" + sc.SessionID; sim.RedirectTo != want {
		t.Fatalf("redirect_to %q, want %q", sim.RedirectTo, want)
	}

	// The signed webhook arrives and verifies with the tenant's secret.
	d := rcv.next(t)
	ev := d.event(t)
	if ev.Type != "session.completed" || d.header.Get("Livegate-Attempt") != "1" {
		t.Fatalf("event %+v headers %v", ev, d.header)
	}
	if err := webhook.Verify(d.header.Get("Livegate-Signature"), d.body, []byte(tc.WebhookSecret), 0, e.clk.Now()); err != nil {
		t.Fatalf("signature: %v (header %q)", err, d.header.Get("Livegate-Signature"))
	}
	var data lifecycle.Result
	if err := json.Unmarshal(ev.Data, &data); err != nil || data.SessionID != sc.SessionID || *data.Verdict != "pass" {
		t.Fatalf("event data %s", ev.Data)
	}
	// A tampered body fails verification.
	if webhook.Verify(d.header.Get("Livegate-Signature"), bytes.Replace(d.body, []byte("pass"), []byte("fail"), 1), []byte(tc.WebhookSecret), 0, e.clk.Now()) == nil {
		t.Fatal("tampered body verified")
	}

	e.do("GET", res, nil).want(t, 200, "").decode(t, &got)
	if got.Status != "completed" || *got.Verdict != "pass" || got.CompletedAt == nil || !got.PhotoAvailable {
		t.Fatalf("completed result %+v", got)
	}
	pr := e.do("GET", photo, nil).want(t, 200, "")
	if pr.header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("photo content type %q", pr.header.Get("Content-Type"))
	}
	img, err := jpeg.Decode(bytes.NewReader(pr.body))
	if err != nil || img.Bounds().Dx() != 480 || img.Bounds().Dy() != 600 {
		t.Fatalf("photo: %v %v", err, img)
	}
	// The API key of the owner reads it too.
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, bearer(tc.APIKey)...).want(t, 200, "")
	// The page now points to the redirect target.
	page = e.do("GET", strings.TrimPrefix(sc.SessionURL, e.d.URL()), nil).want(t, 200, "")
	if !strings.Contains(string(page.body), "session_id="+sc.SessionID) {
		t.Fatalf("completed page has no redirect: %s", page.body)
	}
	// Completing twice is refused and changes nothing.
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", map[string]any{"verdict": "fail"}, bearer(tc.APIKey)...).
		want(t, 409, "session.already_finished")
	rcv.none(t)
}

func testCrossTenant(t *testing.T, start starter) {
	e := start(t)
	a, b := e.tenant("test"), e.tenant("test")
	sa := e.session(a.APIKey, nil)
	sb := e.session(b.APIKey, nil)
	missing := "ses_00000000000000000000000000"
	norm := func(r resp) string {
		var env struct {
			Detail struct{ Code, Message string }
		}
		r.decode(t, &env)
		return env.Detail.Code + "|" + strings.ReplaceAll(env.Detail.Message, sa.SessionID, "ID")
	}
	want := norm(e.do("GET", "/api/v1/session/"+missing+"/result", nil, bearer(a.APIKey)...).want(t, 404, "session.not_found"))
	want = strings.ReplaceAll(want, missing, "ID")
	for name, r := range map[string]resp{
		"other tenant's key":     e.do("GET", "/api/v1/session/"+sa.SessionID+"/result", nil, bearer(b.APIKey)...),
		"other session's token":  e.do("GET", "/api/v1/session/"+sa.SessionID+"/result?token="+url.QueryEscape(sb.Token), nil),
		"token as bearer, wrong": e.do("GET", "/api/v1/session/"+sa.SessionID+"/result", nil, bearer(sb.Token)...),
		"garbage token":          e.do("GET", "/api/v1/session/"+sa.SessionID+"/result?token=lgst_x", nil),
		"photo other tenant":     e.do("GET", "/api/v1/session/"+sa.SessionID+"/photo", nil, bearer(b.APIKey)...),
		"simulate other tenant":  e.do("POST", "/api/v1/session/"+sa.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(b.APIKey)...),
		"cancel other tenant":    e.do("POST", "/api/v1/session/"+sa.SessionID+"/cancel", nil, bearer(b.APIKey)...),
		"seed 002 other tenant":  e.do("GET", "/v1/liveness/sessions/"+sa.SessionID, nil, bearer(b.APIKey)...),
		"legacy key on tenant's": e.do("GET", "/api/v1/session/"+sa.SessionID+"/result", nil, bearer(legacyKey)...),
	} {
		t.Run(name, func(t *testing.T) {
			r.want(t, 404, "session.not_found")
			if got := norm(r); got != want {
				t.Fatalf("404 differs from a missing session's: %q vs %q", got, want)
			}
		})
	}
	// The session is untouched.
	var got lifecycle.Result
	e.do("GET", "/api/v1/session/"+sa.SessionID+"/result", nil, bearer(a.APIKey)...).want(t, 200, "").decode(t, &got)
	if got.Status != "pending" {
		t.Fatalf("status %s", got.Status)
	}
	// Bearer form of the right token works.
	e.do("GET", "/api/v1/session/"+sa.SessionID+"/result", nil, bearer(sa.Token)...).want(t, 200, "")
}

func testTokenExpiry(t *testing.T, start starter) {
	e := start(t)
	tc := e.tenant("live")
	sc := e.session(tc.APIKey, nil)
	path := "/api/v1/session/" + sc.SessionID + "/result?token=" + url.QueryEscape(sc.Token)
	e.clk.Advance(30*time.Minute + 24*time.Hour - time.Second)
	e.do("GET", path, nil).want(t, 200, "")
	e.clk.Advance(time.Second)
	e.do("GET", path, nil).want(t, 401, "auth.token_expired")
	// The owning key still reads it.
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, bearer(tc.APIKey)...).want(t, 200, "")
}

func testLegacy(t *testing.T, start starter) {
	e := start(t)
	rcv := newReceiver(t)
	tc := e.tenant("test")
	sc := e.session(legacyKey, map[string]any{"webhook_url": rcv.url()})
	// Legacy sessions belong to no tenant: the legacy key reads them, tenants do not.
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, bearer(legacyKey)...).want(t, 200, "")
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, bearer(tc.APIKey)...).want(t, 404, "session.not_found")
	// They cannot be simulated (no test key owns them).
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(legacyKey)...).want(t, 403, "auth.test_key_required")
	// Their webhooks are unsigned: cancel to cause one.
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/cancel", nil, bearer(legacyKey)...).want(t, 200, "")
	d := rcv.next(t)
	if ev := d.event(t); ev.Type != "session.cancelled" {
		t.Fatalf("event %s", ev.Type)
	}
	if sig := d.header.Get("Livegate-Signature"); sig != "" {
		t.Fatalf("legacy session webhook signed: %q", sig)
	}
}

func testDirect(t *testing.T, start starter) {
	e := start(t)
	var sc api.SessionCreated
	e.do("POST", "/api/v1/session", map[string]any{"mode": "passive", "redirect_url": "https://app.example.com/back"}).want(t, 201, "").decode(t, &sc)
	if sc.Mode != "passive" || sc.Status != "pending" || sc.Token == "" {
		t.Fatalf("direct %+v", sc)
	}
	e.do("POST", "/api/v1/session", nil).want(t, 201, "")
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result?token="+url.QueryEscape(sc.Token), nil).want(t, 200, "")
	// No key owns a direct session.
	tc := e.tenant("test")
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, bearer(tc.APIKey)...).want(t, 404, "session.not_found")
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, bearer(legacyKey)...).want(t, 404, "session.not_found")
	e.do("POST", "/api/v1/session", map[string]any{"redirect_url": "https://10.0.0.1/"}).want(t, 400, "url.host_not_allowed")

	// Browser apps on other origins may create direct sessions and read with tokens (CORS, no credentials).
	pre := e.do("OPTIONS", "/api/v1/session", nil, "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight %d %v", pre.status, pre.header)
	}
	r := e.do("POST", "/api/v1/session", nil, "Origin", "https://app.example.com").want(t, 201, "")
	if r.header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.header.Get("Access-Control-Expose-Headers"), "X-Request-Id") {
		t.Fatalf("CORS headers %v", r.header)
	}
	r = e.do("GET", "/api/v1/session/"+sc.SessionID+"/result?token="+url.QueryEscape(sc.Token), nil, "Origin", "https://app.example.com").want(t, 200, "")
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("CORS on result: %v", r.header)
	}
	// Server-to-server routes do not answer other origins.
	r = e.do("POST", "/api/v1/managed-session", nil, "Origin", "https://app.example.com")
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("CORS on managed-session")
	}
}

func testSimulate(t *testing.T, start starter) {
	e := start(t)
	test, live := e.tenant("test"), e.tenant("live")
	ls := e.session(live.APIKey, nil)
	e.do("POST", "/api/v1/session/"+ls.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(live.APIKey)...).want(t, 403, "auth.test_key_required")
	e.do("GET", "/api/v1/session/"+ls.SessionID+"/result", nil, bearer(live.APIKey)...).want(t, 200, "")

	cases := []struct {
		body       string
		status     int
		code       string
		verdict    string
		photo      bool
		confidence float64
	}{
		{`{}`, 400, "request.missing_field", "", false, 0},
		{`{"verdict":"maybe"}`, 400, "request.invalid_field", "", false, 0},
		{`{"verdict":"pass","confidence":0.5}`, 400, "request.invalid_field", "", false, 0},
		{`{"verdict":"fail","confidence":0.45}`, 400, "request.invalid_field", "", false, 0},
		{`{"verdict":"retry","confidence":1.5}`, 400, "request.invalid_field", "", false, 0},
		{`{"verdict":"pass","confidence":"high"}`, 400, "request.invalid_field", "", false, 0},
		{`{"verdict":"pass","extra":1}`, 400, "request.unknown_field", "", false, 0},
		{`{"verdict":"pass","confidence":0.70}`, 200, "", "pass", true, 0.70},
		{`{"verdict":"retry","confidence":0.45}`, 200, "", "retry", false, 0.45},
		{`{"verdict":"retry"}`, 200, "", "retry", false, 0.55},
		{`{"verdict":"fail","confidence":0.4499}`, 200, "", "fail", false, 0.4499},
		{`{"verdict":"fail"}`, 200, "", "fail", false, 0.12},
	}
	for _, c := range cases {
		t.Run(c.body, func(t *testing.T) {
			e := e.with(t)
			sc := e.session(test.APIKey, map[string]any{"mode": "active"})
			r := e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", c.body, bearer(test.APIKey)...).want(t, c.status, c.code)
			if c.status != 200 {
				var got lifecycle.Result
				e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, bearer(test.APIKey)...).want(t, 200, "").decode(t, &got)
				if got.Status != "pending" {
					t.Fatalf("refused simulate changed the session: %s", got.Status)
				}
				return
			}
			var sim api.SimulateResponse
			r.decode(t, &sim)
			if string(*sim.Verdict) != c.verdict || *sim.Confidence != c.confidence || sim.PhotoAvailable != c.photo {
				t.Fatalf("simulated %+v", sim)
			}
			wantSimulatedChecks(t, sim.Result, "active", c.verdict)
			photo := e.do("GET", "/api/v1/session/"+sc.SessionID+"/photo?token="+url.QueryEscape(sc.Token), nil)
			if c.photo {
				photo.want(t, 200, "")
			} else {
				photo.want(t, 404, "session.photo_unavailable")
			}
		})
	}
}

// wantSimulatedChecks checks that a simulated result names the layers and
// reason codes a real capture of the engine reports (docs/liveness.md, the
// list in docs/api.md): every check scored the confidence, on fail the
// motion layer failed (a picture moved as a plane), on retry the non-rigid
// layer (no blink, no lip movement).
func wantSimulatedChecks(t *testing.T, r lifecycle.Result, mode, verdict string) {
	t.Helper()
	want := []string{"anti_spoof", "injection", "face_consistency", "motion", "non_rigid", "light_response"}
	if mode == "active" {
		want = append([]string{"challenges"}, want...)
	}
	exp := map[string]struct{ failed, reasons []string }{
		"pass":  {nil, []string{}},
		"fail":  {[]string{"motion"}, []string{"planar_motion", "spoof_suspected"}},
		"retry": {[]string{"non_rigid"}, []string{"no_non_rigid_motion"}},
	}[verdict]
	failed, reasons := exp.failed, exp.reasons
	var names, gotFailed []string
	for _, c := range r.Checks {
		names = append(names, c.Name)
		if c.Status == "failed" {
			gotFailed = append(gotFailed, c.Name)
		} else if c.Status != "passed" {
			t.Errorf("check %s status %q", c.Name, c.Status)
		}
		if r.Confidence == nil || c.Score != *r.Confidence {
			t.Errorf("check %s score %v, want the confidence %v", c.Name, c.Score, r.Confidence)
		}
	}
	if !reflect.DeepEqual(names, want) || !reflect.DeepEqual(gotFailed, failed) || !reflect.DeepEqual(r.Reasons, reasons) {
		t.Fatalf("simulated %s (%s): checks %v failed %v reasons %q; want checks %v failed %v reasons %q",
			verdict, mode, names, gotFailed, r.Reasons, want, failed, reasons)
	}
}

func testTTL(t *testing.T, start starter) {
	e := start(t, func(o *daemon.Options) { o.SweepInterval = time.Minute })
	rcv := newReceiver(t)
	tc := e.tenant("test")
	sc := e.session(tc.APIKey, map[string]any{"webhook_url": rcv.url()})
	lazy := e.session(tc.APIKey, nil)
	page := strings.TrimPrefix(sc.SessionURL, e.d.URL())
	e.do("GET", page, nil).want(t, 200, "")

	e.clk.Advance(30*time.Minute - time.Second)
	e.do("GET", page, nil).want(t, 200, "")
	// Past the TTL: the page answers 410 (HTML for browsers, envelope otherwise)…
	e.clk.Advance(time.Second)
	e.do("GET", page, nil).want(t, 410, "session.expired")
	html := e.do("GET", page, nil, "Accept", "text/html")
	if html.status != 410 || !strings.Contains(string(html.body), "expired") || !strings.Contains(html.header.Get("Content-Type"), "text/html") {
		t.Fatalf("browser 410: %d %s", html.status, html.body)
	}
	// …the sweeper (woken by the fake clock) expires it and sends session.expired.
	d := e.sweepUntil(rcv, time.Minute)
	ev := d.event(t)
	var data lifecycle.Result
	if err := json.Unmarshal(ev.Data, &data); err != nil || ev.Type != "session.expired" || data.Status != "expired" || data.SessionID != sc.SessionID {
		t.Fatalf("event %s %s", ev.Type, ev.Data)
	}
	// Reads see expired; simulate is refused.
	var got lifecycle.Result
	e.do("GET", "/api/v1/session/"+lazy.SessionID+"/result", nil, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &got)
	if got.Status != "expired" {
		t.Fatalf("status %s after TTL", got.Status)
	}
	e.do("POST", "/api/v1/session/"+lazy.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...).want(t, 409, "session.already_finished")
	e.do("GET", "/api/v1/session/"+lazy.SessionID+"/photo", nil, bearer(tc.APIKey)...).want(t, 404, "session.photo_unavailable")
	rcv.none(t)
}

func testRateLimit(t *testing.T, start starter) {
	e := start(t, func(o *daemon.Options) { o.RateLimit = 3 })
	// Keyless: per client IP.
	for i := 0; i < 3; i++ {
		r := e.do("POST", "/api/v1/session", nil).want(t, 201, "")
		if got, want := r.header.Get("X-RateLimit-Remaining"), sprint(2-i); got != want || r.header.Get("X-RateLimit-Limit") != "3" || r.header.Get("X-RateLimit-Reset") != "60" {
			t.Fatalf("request %d: remaining %q want %q (%v)", i, got, want, r.header)
		}
	}
	r := e.do("POST", "/api/v1/session", nil).want(t, 429, "rate_limit.exceeded")
	if r.header.Get("Retry-After") != "60" || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("429 headers %v", r.header)
	}
	var env openapi.Envelope
	if r.decode(t, &env); env.Detail.RetryAfter != 60 {
		t.Fatalf("429 envelope %+v, want retry_after 60 as Retry-After", env.Detail)
	}
	// Errors count and carry the headers too.
	r = e.do("GET", "/nope", nil).want(t, 429, "rate_limit.exceeded")
	// Health probes are not limited.
	e.do("GET", "/healthz", nil).want(t, 200, "")
	// A key has its own budget, separate from the IP's.
	e.do("GET", "/admin/v1/tenants", nil, bearer(adminToken)...).want(t, 200, "")
	// Inventing bearer values on a keyless route buys no new budget…
	e.do("POST", "/api/v1/session", nil, bearer("made-up-1")...).want(t, 429, "rate_limit.exceeded")
	// …and guessing keys on keyed routes is limited per client IP too.
	for i := 0; i < 3; i++ {
		e.do("POST", "/api/v1/managed-session", nil, bearer(fmt.Sprint("iksk_live_guess", i))...).want(t, 401, "auth.invalid")
	}
	e.do("POST", "/api/v1/managed-session", nil, bearer("iksk_live_guess4")...).want(t, 429, "rate_limit.exceeded")
	e.clk.Advance(30 * time.Second)
	r = e.do("POST", "/api/v1/session", nil).want(t, 429, "rate_limit.exceeded")
	if r.header.Get("Retry-After") != "30" {
		t.Fatalf("Retry-After %q after 30 s", r.header.Get("Retry-After"))
	}
	e.clk.Advance(30 * time.Second)
	e.do("POST", "/api/v1/session", nil).want(t, 201, "")
}

func testIdempotency(t *testing.T, start starter) {
	e := start(t)
	a, b := e.tenant("test"), e.tenant("test")
	body := map[string]any{"user_id": "u1", "mode": "passive"}
	idem := []string{"Idempotency-Key", "order-42"}
	r1 := e.do("POST", "/api/v1/managed-session", body, append(bearer(a.APIKey), idem...)...).want(t, 201, "")
	r2 := e.do("POST", "/api/v1/managed-session", body, append(bearer(a.APIKey), idem...)...).want(t, 201, "")
	var s1, s2 api.SessionCreated
	r1.decode(t, &s1)
	r2.decode(t, &s2)
	if !reflect.DeepEqual(s1, s2) || r2.header.Get("Idempotent-Replayed") != "true" || r1.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("replay differs: %+v vs %+v (%v)", s1, s2, r2.header)
	}
	// The replayed token works.
	e.do("GET", "/api/v1/session/"+s2.SessionID+"/result?token="+url.QueryEscape(s2.Token), nil).want(t, 200, "")
	// Same key, different body: 409.
	e.do("POST", "/api/v1/managed-session", map[string]any{"user_id": "u2"}, append(bearer(a.APIKey), idem...)...).want(t, 409, "session.idempotency_conflict")
	// Keys are per tenant.
	var s3 api.SessionCreated
	e.do("POST", "/api/v1/managed-session", body, append(bearer(b.APIKey), idem...)...).want(t, 201, "").decode(t, &s3)
	if s3.SessionID == s1.SessionID {
		t.Fatal("idempotency key shared across tenants")
	}
	// Without a key, every request is a new session.
	if e.session(a.APIKey, body).SessionID == e.session(a.APIKey, body).SessionID {
		t.Fatal("sessions without Idempotency-Key collided")
	}
	// A key or a query parameter that is not UTF-8 text is a clear 400 on
	// every store (PostgreSQL refused the bytes with a 500 before), and
	// creates nothing.
	// (net/http refuses to send control characters in a header; the query
	// parameters below carry them.)
	e.do("POST", "/api/v1/managed-session", body, append(bearer(a.APIKey), "Idempotency-Key", "order-\xff")...).want(t, 400, "request.invalid_field")
	for _, q := range []string{"%FF", "%00", "a%1Bb"} {
		msg := e.do("GET", "/api/v1/session/"+s1.SessionID+"/result?token="+q, nil).want(t, 400, "request.invalid_field").message(t)
		if !strings.Contains(msg, `query parameter "token"`) {
			t.Fatalf("message %q does not name the parameter", msg)
		}
	}
}

// hostileURLs are refused as redirect_url and webhook_url, even in dev mode
// (which allows only http(s) to literal loopback hosts).
var hostileURLs = []struct{ url, code string }{
	{"http://hooks.example.com/hook", "url.scheme_not_allowed"},
	{"ftp://hooks.example.com/", "url.scheme_not_allowed"},
	{"gopher://127.0.0.1:25/", "url.scheme_not_allowed"},
	{"file:///etc/passwd", "url.invalid"},
	{"javascript:alert(1)", "url.invalid"},
	{"//hooks.example.com/x", "url.invalid"},
	{"/relative", "url.invalid"},
	{"https://user:pass@hooks.example.com/", "url.invalid"},
	{"https://hooks.example.com@10.0.0.1/", "url.invalid"},
	{"https://hooks.example.com:0/", "url.invalid"},
	{"https://127.1:8443/", "url.host_not_allowed"},
	{"https://2130706433/", "url.host_not_allowed"},
	{"https://0x7f000001/", "url.host_not_allowed"},
	{"https://0177.0.0.1/", "url.host_not_allowed"},
	{"https://0/", "url.host_not_allowed"},
	{"https://0.0.0.0/", "url.host_not_allowed"},
	{"https://[::]/", "url.host_not_allowed"},
	{"https://[::ffff:127.0.0.1]/", "url.host_not_allowed"},
	{"https://[::ffff:a9fe:a9fe]/", "url.host_not_allowed"},
	{"https://[64:ff9b::a9fe:a9fe]/", "url.host_not_allowed"},
	{"https://[fe80::1]/", "url.host_not_allowed"},
	{"https://[fd00::1]/", "url.host_not_allowed"},
	{"https://[fc00::1]/", "url.host_not_allowed"},
	{"https://[ff02::1]/", "url.host_not_allowed"},
	{"https://169.254.169.254/latest/meta-data/", "url.host_not_allowed"},
	{"https://0xa9fea9fe/", "url.host_not_allowed"},
	{"https://2852039166/", "url.host_not_allowed"},
	{"https://10.0.0.1/", "url.host_not_allowed"},
	{"https://172.16.0.1/", "url.host_not_allowed"},
	{"https://192.168.1.1/", "url.host_not_allowed"},
	{"https://100.64.0.1/", "url.host_not_allowed"},
	{"https://224.0.0.1/", "url.host_not_allowed"},
	{"https://255.255.255.255/", "url.host_not_allowed"},
	{"https://api.localhost/", "url.host_not_allowed"},
	{"https://metadata.google.internal/", "url.host_not_allowed"},
	{"https://printer.local/", "url.host_not_allowed"},
	{"https://rebind.example.com/", "url.host_not_allowed"},
	{"https://mixed.example.com/", "url.host_not_allowed"},
	{"https://metadata.example.com/", "url.host_not_allowed"},
	{"https://mapped.example.com/", "url.host_not_allowed"},
	{"https://ula.example.com/", "url.host_not_allowed"},
	{"https://cgnat.example.com/", "url.host_not_allowed"},
	{"https://127.0.0.1.nip.io/", "url.host_not_allowed"},
	{"https://%31%32%37.0.0.1/", "url.invalid"},
	{"https://intranet/", "url.invalid"},
	{"https://nx.example.com/", "url.host_unresolvable"},
	{"http://10.0.0.1/", "url.scheme_not_allowed"},
	{"http://[::ffff:127.0.0.1]/", "url.scheme_not_allowed"},
}

func testHostileURLs(t *testing.T, start starter) {
	if len(hostileURLs) < 40 {
		t.Fatalf("only %d hostile URLs", len(hostileURLs))
	}
	e := start(t)
	tc := e.tenant("live")
	for _, h := range hostileURLs {
		for _, field := range []string{"redirect_url", "webhook_url"} {
			t.Run(field+"="+h.url, func(t *testing.T) {
				r := e.with(t).do("POST", "/api/v1/managed-session", map[string]string{field: h.url}, bearer(tc.APIKey)...).want(t, 400, h.code)
				if !strings.HasPrefix(r.message(t), field+" refused") {
					t.Fatalf("message %q does not name %s", r.message(t), field)
				}
			})
		}
	}
	// Nothing was created.
	var dl api.DeliveryList
	e.do("GET", "/admin/v1/deliveries", nil, bearer(adminToken)...).want(t, 200, "").decode(t, &dl)
	if len(dl.Deliveries) != 0 {
		t.Fatalf("%d deliveries after refused creations", len(dl.Deliveries))
	}
	// Good URLs pass: public https names, and literal loopback in dev mode.
	for _, good := range []string{"https://hooks.example.com/h?x=1", "http://127.0.0.1:8080/cb", "http://localhost/cb", "http://[::1]:9/cb"} {
		e.session(tc.APIKey, map[string]string{"redirect_url": good, "webhook_url": good})
	}
	// Without --dev, loopback is refused too.
	prod := start(t, func(o *daemon.Options) { o.Dev = false })
	ptc := prod.tenant("live")
	prod.do("POST", "/api/v1/managed-session", map[string]string{"webhook_url": "http://127.0.0.1:8080/cb"}, bearer(ptc.APIKey)...).want(t, 400, "url.scheme_not_allowed")
	prod.do("POST", "/api/v1/managed-session", map[string]string{"webhook_url": "https://127.0.0.1/cb"}, bearer(ptc.APIKey)...).want(t, 400, "url.host_not_allowed")
}

func testKeyRotation(t *testing.T, start starter) {
	e := start(t)
	tc := e.tenant("live")
	var kr api.KeyRotated
	e.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/keys/rotate", `{"grace_period_seconds":3600}`, bearer(adminToken)...).want(t, 201, "").decode(t, &kr)
	if !strings.HasPrefix(kr.APIKey, "iksk_live_") || kr.APIKey == tc.APIKey {
		t.Fatalf("rotated %+v", kr)
	}
	e.session(tc.APIKey, nil) // old key in its grace period
	e.session(kr.APIKey, nil)
	e.clk.Advance(time.Hour)
	e.do("POST", "/api/v1/managed-session", nil, bearer(tc.APIKey)...).want(t, 401, "auth.invalid")
	e.session(kr.APIKey, nil)
	var kl api.KeyList
	e.do("GET", "/admin/v1/tenants/"+tc.TenantID+"/keys", nil, bearer(adminToken)...).want(t, 200, "").decode(t, &kl)
	if len(kl.Keys) != 2 {
		t.Fatalf("keys %+v", kl)
	}
	for _, k := range kl.Keys {
		if (k.KeyID == kr.KeyID) != k.Usable || !strings.HasPrefix(kr.APIKey, k.Prefix[:10]) {
			t.Fatalf("key %+v", k)
		}
	}
	var kv api.KeyView
	e.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/keys/"+kr.KeyID+"/revoke", nil, bearer(adminToken)...).want(t, 200, "").decode(t, &kv)
	if kv.Usable || kv.RevokedAt == nil {
		t.Fatalf("revoked %+v", kv)
	}
	e.do("POST", "/api/v1/managed-session", nil, bearer(kr.APIKey)...).want(t, 401, "auth.invalid")
	e.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/keys/key_nope/revoke", nil, bearer(adminToken)...).want(t, 404, "tenant.key_not_found")
	e.do("POST", "/admin/v1/tenants/ten_nope/keys/rotate", nil, bearer(adminToken)...).want(t, 404, "tenant.not_found")
	e.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/keys/rotate", `{"grace_period_seconds":-1}`, bearer(adminToken)...).want(t, 400, "request.invalid_field")
	// Immediate rotation (default grace 0).
	var k2 api.KeyRotated
	e.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/keys/rotate", nil, bearer(adminToken)...).want(t, 201, "").decode(t, &k2)
	e.session(k2.APIKey, nil)
	// Tenants list and get.
	var tl api.TenantList
	e.do("GET", "/admin/v1/tenants", nil, bearer(adminToken)...).want(t, 200, "").decode(t, &tl)
	if len(tl.Tenants) != 1 || tl.Tenants[0].TenantID != tc.TenantID || strings.Contains(sprint(tl), "whsec_") {
		t.Fatalf("tenants %+v", tl)
	}
	e.do("GET", "/admin/v1/tenants/"+tc.TenantID, nil, bearer(adminToken)...).want(t, 200, "")
	e.do("GET", "/admin/v1/tenants/ten_nope", nil, bearer(adminToken)...).want(t, 404, "tenant.not_found")
	e.do("POST", "/admin/v1/tenants", `{"name":"x"}`, bearer(adminToken)...).want(t, 400, "request.missing_field")
	e.do("POST", "/admin/v1/tenants", `{"name":"x","mode":"sandbox"}`, bearer(adminToken)...).want(t, 400, "request.invalid_field")
}

func testSecretRotation(t *testing.T, start starter) {
	e := start(t)
	rcv := newReceiver(t)
	tc := e.tenant("test")
	var sr api.SecretRotated
	e.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/webhook-secret/rotate", nil, bearer(adminToken)...).want(t, 201, "").decode(t, &sr)
	if !strings.HasPrefix(sr.WebhookSecret, "whsec_") || !sr.PreviousExpiresAt.Equal(sr.CreatedAt.Add(24*time.Hour)) {
		t.Fatalf("rotated %+v", sr)
	}
	sc := e.session(tc.APIKey, map[string]string{"webhook_url": rcv.url()})
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", `{"verdict":"fail"}`, bearer(tc.APIKey)...).want(t, 200, "")
	d := rcv.next(t)
	sig := d.header.Get("Livegate-Signature")
	if strings.Count(sig, "v1=") != 2 {
		t.Fatalf("want two v1 signatures during rotation, got %q", sig)
	}
	for _, sec := range []string{tc.WebhookSecret, sr.WebhookSecret} {
		if err := webhook.Verify(sig, d.body, []byte(sec), 0, e.clk.Now()); err != nil {
			t.Fatalf("verify with %s…: %v", sec[:10], err)
		}
	}
	// After the grace period only the new secret signs.
	e.clk.Advance(24 * time.Hour)
	sc2 := e.session(tc.APIKey, map[string]string{"webhook_url": rcv.url()})
	e.do("POST", "/api/v1/session/"+sc2.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...).want(t, 200, "")
	d = rcv.next(t)
	sig = d.header.Get("Livegate-Signature")
	if strings.Count(sig, "v1=") != 1 || webhook.Verify(sig, d.body, []byte(sr.WebhookSecret), 0, e.clk.Now()) != nil ||
		webhook.Verify(sig, d.body, []byte(tc.WebhookSecret), 0, e.clk.Now()) == nil {
		t.Fatalf("after grace: %q", sig)
	}
}

func testDeadLetters(t *testing.T, start starter) {
	e := start(t)
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusInternalServerError)
	tc := e.tenant("test")
	sc := e.session(tc.APIKey, map[string]string{"webhook_url": rcv.url()})
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...).want(t, 200, "")
	// MaxAttempts is 3 in the harness: attempt 1 now, then after ≤ 1 min and ≤ 2 min.
	first := rcv.next(t).event(t)
	for attempt := 2; attempt <= 3; attempt++ {
		e.waitSaved(first.ID, attempt-1)
		e.retryNow(2 * time.Minute)
		d := rcv.next(t)
		if ev := d.event(t); ev.ID != first.ID || d.header.Get("Livegate-Attempt") != sprint(attempt) {
			t.Fatalf("attempt %d: %s %v", attempt, ev.ID, d.header)
		}
	}
	// Dead now: listed as a dead letter.
	e.waitSaved(first.ID, 3)
	var dl api.DeliveryList
	e.do("GET", "/admin/v1/deliveries?state=dead&tenant_id="+tc.TenantID, nil, bearer(adminToken)...).want(t, 200, "").decode(t, &dl)
	if len(dl.Deliveries) != 1 || dl.Deliveries[0].DeliveryID != first.ID || dl.Deliveries[0].Attempts != 3 || dl.Deliveries[0].LastStatus != 500 {
		t.Fatalf("dead letters %+v", dl)
	}
	if strings.Contains(string(dl.Deliveries[0].Host), "/") {
		t.Fatalf("host shows more than the host: %q", dl.Deliveries[0].Host)
	}
	e.do("GET", "/admin/v1/deliveries/"+first.ID, nil, bearer(adminToken)...).want(t, 200, "")
	e.do("GET", "/admin/v1/deliveries/evt_nope", nil, bearer(adminToken)...).want(t, 404, "webhook.delivery_not_found")
	e.do("GET", "/admin/v1/deliveries?state=lost", nil, bearer(adminToken)...).want(t, 400, "request.invalid_query")
	e.do("GET", "/admin/v1/deliveries?limit=0", nil, bearer(adminToken)...).want(t, 400, "request.invalid_query")
	rcv.none(t)
	// Replay: same event id, attempt 1 again, delivered.
	rcv.status.Store(http.StatusOK)
	var dv api.DeliveryView
	e.do("POST", "/admin/v1/deliveries/"+first.ID+"/replay", nil, bearer(adminToken)...).want(t, 202, "").decode(t, &dv)
	if dv.State != "pending" {
		t.Fatalf("replayed %+v", dv)
	}
	d := rcv.next(t)
	if ev := d.event(t); ev.ID != first.ID || d.header.Get("Livegate-Attempt") != "1" {
		t.Fatalf("replay %s %v", ev.ID, d.header)
	}
	if err := webhook.Verify(d.header.Get("Livegate-Signature"), d.body, []byte(tc.WebhookSecret), 0, e.clk.Now()); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/admin/v1/deliveries/evt_nope/replay", nil, bearer(adminToken)...).want(t, 404, "webhook.delivery_not_found")
}

func testLiveness(t *testing.T, start starter) {
	e := start(t)
	tc := e.tenant("test")
	var ls api.LivenessSession
	e.do("POST", "/v1/liveness/sessions", `{"user_id": "user_123", "mode": "passive"}`, bearer(tc.APIKey)...).want(t, 201, "").decode(t, &ls)
	if ls.Object != "liveness_session" || ls.Status != "pending" || ls.Mode != "passive" || ls.URL == "" || ls.Token == "" || ls.Result != nil {
		t.Fatalf("created %+v", ls)
	}
	e.do("POST", "/api/v1/session/"+ls.ID+"/simulate", `{"verdict":"pass","confidence":0.91}`, bearer(tc.APIKey)...).want(t, 200, "")
	var got api.LivenessSession
	e.do("GET", "/v1/liveness/sessions/"+ls.ID, nil, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &got)
	if got.Result == nil || got.Result.Verdict != "pass" || got.Result.Confidence != 0.91 || !got.Result.PhotoAvailable || got.Token != "" || got.URL != "" {
		t.Fatalf("got %+v", got)
	}
	// Same sessions on both surfaces.
	e.do("GET", "/api/v1/session/"+ls.ID+"/result?token="+url.QueryEscape(ls.Token), nil).want(t, 200, "")
	e.do("GET", "/v1/liveness/sessions/"+ls.ID, nil).want(t, 401, "auth.missing")
	e.do("GET", "/v1/liveness/sessions/"+ls.ID+"?token="+url.QueryEscape(ls.Token), nil).want(t, 401, "auth.missing")
}

func testCancel(t *testing.T, start starter) {
	e := start(t)
	tc := e.tenant("live")
	sc := e.session(tc.APIKey, nil)
	var r lifecycle.Result
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/cancel", nil, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &r)
	if r.Status != "cancelled" {
		t.Fatalf("status %s", r.Status)
	}
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/cancel", nil, bearer(tc.APIKey)...).want(t, 409, "session.already_finished")
	e.do("GET", strings.TrimPrefix(sc.SessionURL, e.d.URL()), nil).want(t, 409, "session.already_finished")
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/photo", nil, bearer(tc.APIKey)...).want(t, 404, "session.photo_unavailable")
}

// testTenantSettings: PUT /admin/v1/tenants/{id}/settings replaces the
// settings (fields left out take their defaults), the tenant views show them
// in effect, and a value out of range gets tenant.invalid_setting naming the
// setting and changes nothing.
func testTenantSettings(t *testing.T, start starter) {
	e := start(t)
	tc := e.tenant("test")
	path := "/admin/v1/tenants/" + tc.TenantID + "/settings"
	defaults := api.CaptureThrottleView{UserLimit: 5, AddressLimit: 100, WindowSeconds: 180, CooldownSeconds: 180, TestExempt: true}
	get := func() api.CaptureThrottleView {
		t.Helper()
		var v api.TenantView
		e.do("GET", "/admin/v1/tenants/"+tc.TenantID, nil, bearer(adminToken)...).want(t, 200, "").decode(t, &v)
		return v.Settings.CaptureThrottle
	}
	if got := get(); got != defaults {
		t.Fatalf("a new tenant's throttle %+v, want the defaults %+v", got, defaults)
	}
	set := api.CaptureThrottleView{UserLimit: 3, AddressLimit: 500, WindowSeconds: 600, CooldownSeconds: 60, TestExempt: false}
	var v api.TenantView
	e.do("PUT", path, `{"capture_throttle":{"user_limit":3,"address_limit":500,"window_seconds":600,"cooldown_seconds":60,"test_exempt":false}}`,
		bearer(adminToken)...).want(t, 200, "").decode(t, &v)
	if v.TenantID != tc.TenantID || v.Settings.CaptureThrottle != set {
		t.Fatalf("PUT answered %+v, want %+v", v, set)
	}
	if got := get(); got != set {
		t.Fatalf("stored %+v, want %+v", got, set)
	}
	var tl api.TenantList
	e.do("GET", "/admin/v1/tenants", nil, bearer(adminToken)...).want(t, 200, "").decode(t, &tl)
	if len(tl.Tenants) != 1 || tl.Tenants[0].Settings.CaptureThrottle != set {
		t.Fatalf("list %+v", tl)
	}
	for _, c := range []struct{ body, status, code, msg string }{
		{`{"capture_throttle":{"user_limit":0}}`, "400", "tenant.invalid_setting", `"capture_throttle.user_limit" must be 1–1000, got 0`},
		{`{"capture_throttle":{"address_limit":100001}}`, "400", "tenant.invalid_setting", `"capture_throttle.address_limit" must be 1–100000, got 100001`},
		{`{"capture_throttle":{"window_seconds":-5}}`, "400", "tenant.invalid_setting", `"capture_throttle.window_seconds"`},
		{`{"capture_throttle":{"cooldown_seconds":86401}}`, "400", "tenant.invalid_setting", `"capture_throttle.cooldown_seconds" must be 1–86400`},
		{`{"capture_throttle":{"limit":3}}`, "400", "request.unknown_field", `"limit"`},
		{`{"capture_throttle":{"user_limit":"3"}}`, "400", "request.invalid_field", `user_limit`},
		{`{"capture_throttle":{"test_exempt":"no"}}`, "400", "request.invalid_field", `test_exempt`},
		{`{"throttle":{}}`, "400", "request.unknown_field", `"throttle"`},
	} {
		r := e.do("PUT", path, c.body, bearer(adminToken)...).want(t, atoi(c.status), c.code)
		if !strings.Contains(r.message(t), c.msg) {
			t.Fatalf("%s: message %q does not say %q", c.body, r.message(t), c.msg)
		}
	}
	if got := get(); got != set {
		t.Fatalf("after refused changes: %+v, want %+v unchanged", got, set)
	}
	// A field left out takes its default; an empty body restores them all.
	e.do("PUT", path, `{"capture_throttle":{"cooldown_seconds":30}}`, bearer(adminToken)...).want(t, 200, "").decode(t, &v)
	if want := (api.CaptureThrottleView{UserLimit: 5, AddressLimit: 100, WindowSeconds: 180, CooldownSeconds: 30, TestExempt: true}); v.Settings.CaptureThrottle != want {
		t.Fatalf("one field set: %+v, want %+v", v.Settings.CaptureThrottle, want)
	}
	e.do("PUT", path, `{}`, bearer(adminToken)...).want(t, 200, "")
	if got := get(); got != defaults {
		t.Fatalf("after an empty body: %+v, want the defaults", got)
	}
	e.do("PUT", "/admin/v1/tenants/ten_nope/settings", `{}`, bearer(adminToken)...).want(t, 404, "tenant.not_found")
	e.do("PUT", path, `{}`).want(t, 401, "auth.admin_invalid")
	e.do("PUT", path, `{}`, bearer(tc.APIKey)...).want(t, 401, "auth.admin_invalid")
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// testCapturePage: PUT /admin/v1/tenants/{id}/capture-page replaces the
// page's brand name, accent colour and texts (made canonical), the logo
// has its own PUT and DELETE (re-encoded to PNG), neither drops the other
// nor is dropped by PUT …/settings, and every refusal has its code, names
// what is wrong and changes nothing.
func testCapturePage(t *testing.T, start starter) {
	e := start(t)
	tc := e.tenant("test")
	path := "/admin/v1/tenants/" + tc.TenantID + "/capture-page"
	get := func() api.CapturePageView {
		t.Helper()
		var v api.TenantView
		e.do("GET", "/admin/v1/tenants/"+tc.TenantID, nil, bearer(adminToken)...).want(t, 200, "").decode(t, &v)
		return v.CapturePage
	}
	builtin := []string{"ar", "de", "en", "es", "fr", "pt", "zh"}
	if v := get(); v.BrandName != "" || v.AccentColor != "#0b57d0" || len(v.Messages) != 0 || !reflect.DeepEqual(v.Languages, builtin) || v.Logo != nil {
		t.Fatalf("a new tenant's capture page %+v", v)
	}
	var v api.TenantView
	e.do("PUT", path, `{"brand_name": " Acme Bank ", "accent_color": "#1A7F37", "messages": {"pt-pt": {"button.use_phone": "Usar o meu telemóvel"}, "en": {"welcome.title": "Verify with Acme"}}}`,
		bearer(adminToken)...).want(t, 200, "").decode(t, &v)
	set := v.CapturePage
	if set.BrandName != "Acme Bank" || set.AccentColor != "#1a7f37" || set.Messages["pt-PT"]["button.use_phone"] != "Usar o meu telemóvel" ||
		set.Messages["en"]["welcome.title"] != "Verify with Acme" || !reflect.DeepEqual(set.Languages, append(builtin[:6:6], "pt-PT", "zh")) {
		t.Fatalf("PUT answered %+v", set)
	}

	// The logo: the image itself as the body, re-encoded to PNG.
	img := image.NewNRGBA(image.Rect(0, 0, 600, 150))
	for i := range img.Pix {
		img.Pix[i] = uint8(i / 4 % 600 / 150 * 60)
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, nil); err != nil {
		t.Fatal(err)
	}
	logoPath := path + "/logo"
	e.do("PUT", logoPath, jb.Bytes(), append(bearer(adminToken), "Content-Type", "image/jpeg")...).want(t, 200, "").decode(t, &v)
	if l := v.CapturePage.Logo; l == nil || l.Width != 480 || l.Height != 120 || l.Bytes == 0 || len(l.SHA256) != 64 || l.UpdatedAt.IsZero() {
		t.Fatalf("logo %+v", l)
	}
	logo := v.CapturePage.Logo
	// Replacing the settings keeps the page; replacing the page keeps the logo.
	e.do("PUT", "/admin/v1/tenants/"+tc.TenantID+"/settings", `{}`, bearer(adminToken)...).want(t, 200, "")
	if got := get(); got.BrandName != "Acme Bank" || got.Logo == nil || got.Logo.SHA256 != logo.SHA256 {
		t.Fatalf("after PUT settings: %+v", got)
	}
	var v2 api.TenantView // decoding into v would merge the maps
	e.do("PUT", path, `{"brand_name": "Acme"}`, bearer(adminToken)...).want(t, 200, "").decode(t, &v2)
	if got := v2.CapturePage; got.BrandName != "Acme" || got.AccentColor != "#0b57d0" || len(got.Messages) != 0 || got.Logo == nil {
		t.Fatalf("after a PUT of the brand name only: %+v", got)
	}
	e.do("PUT", path, `{"brand_name": "Acme Bank", "accent_color": "#1a7f37", "messages": {"pt-PT": {"button.use_phone": "Usar o meu telemóvel"}, "en": {"welcome.title": "Verify with Acme"}}}`,
		bearer(adminToken)...).want(t, 200, "")
	before := get()

	for _, c := range []struct {
		body      string
		status    int
		code, msg string
	}{
		{`{"accent_color": "#777777"}`, 422, "tenant.insufficient_contrast", "#777777 contrasts 4.47:1 with the page background #ffffff and 4.47:1 with the button text #ffffff"},
		{`{"accent_color": "navy"}`, 400, "tenant.invalid_setting", `"capture_page.accent_color" must be a colour as #rrggbb`},
		{`{"brand_name": "` + strings.Repeat("x", 61) + `"}`, 400, "tenant.invalid_setting", "61 characters; at most 60"},
		{`{"messages": {"es": {"welcome.headline": "x"}}}`, 400, "tenant.invalid_message", `messages["es"]["welcome.headline"]: not a message key`},
		{`{"messages": {"es": {"capture.step": "Paso {i}"}}}`, 400, "tenant.invalid_message", "the text must keep exactly {i} {n}"},
		{`{"messages": {"es_ES": {"button.start": "x"}}}`, 400, "tenant.invalid_language", `messages["es_ES"]: not a language tag`},
		{`{"messages": {"it": {"button.start": "Inizia"}}}`, 400, "tenant.invalid_message", "must give every key"},
		{`{"messages": {"es": {"button.start": 3}}}`, 400, "request.invalid_field", "messages"},
		{`{"logo": "x"}`, 400, "request.unknown_field", `"logo"`},
	} {
		r := e.do("PUT", path, c.body, bearer(adminToken)...).want(t, c.status, c.code)
		if !strings.Contains(r.message(t), c.msg) {
			t.Errorf("%s: message %q does not say %q", c.body, r.message(t), c.msg)
		}
	}
	for _, c := range []struct {
		name, ct  string
		body      []byte
		status    int
		code, msg string
	}{
		{"svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 415, "tenant.logo_unsupported_type", "SVG"},
		{"multipart", "multipart/form-data; boundary=x", []byte("--x\r\n"), 415, "tenant.logo_unsupported_type", "not a multipart form"},
		{"empty", "image/png", nil, 400, "tenant.logo_invalid", "the body must be the logo image"},
		{"truncated", "image/jpeg", jb.Bytes()[:200], 400, "tenant.logo_invalid", "JPEG"},
	} {
		r := e.do("PUT", logoPath, c.body, append(bearer(adminToken), "Content-Type", c.ct)...).want(t, c.status, c.code)
		if !strings.Contains(r.message(t), c.msg) {
			t.Errorf("logo %s: message %q does not say %q", c.name, r.message(t), c.msg)
		}
	}
	if got := get(); !reflect.DeepEqual(got, before) {
		t.Fatalf("after refused changes: %+v, want %+v unchanged", got, before)
	}

	var v3 api.TenantView
	e.do("DELETE", logoPath, nil, bearer(adminToken)...).want(t, 200, "").decode(t, &v3)
	if v3.CapturePage.Logo != nil || v3.CapturePage.BrandName != "Acme Bank" {
		t.Fatalf("after DELETE logo: %+v", v3.CapturePage)
	}
	for _, m := range []string{"PUT", "DELETE"} {
		e.do(m, "/admin/v1/tenants/ten_nope/capture-page/logo", jb.Bytes(), append(bearer(adminToken), "Content-Type", "image/jpeg")...).want(t, 404, "tenant.not_found")
	}
	e.do("PUT", "/admin/v1/tenants/ten_nope/capture-page", `{}`, bearer(adminToken)...).want(t, 404, "tenant.not_found")
	e.do("PUT", path, `{}`).want(t, 401, "auth.admin_invalid")
	e.do("PUT", logoPath, jb.Bytes(), bearer(tc.APIKey)...).want(t, 401, "auth.admin_invalid")
}
