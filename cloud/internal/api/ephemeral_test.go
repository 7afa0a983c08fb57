package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/webhook"
)

// Ephemeral devices (seed 004): POST /api/device/ephemeral, POST
// /api/sessions?workflowId=…, GET /api/sessions/{id}, the handoff pages
// /capture and /mobile; on bbolt and on PostgreSQL.

var ephemeralSuite = []struct {
	name string
	fn   func(t *testing.T, start starter)
}{
	{"Device", testEphemeralDevice},
	{"Sessions", testEphemeralSessions},
	{"Isolation", testEphemeralIsolation},
	{"Handoff", testEphemeralHandoff},
	{"ListByExternalUser", testListByExternalUser},
	{"Workflows", testWorkflows},
}

func TestEphemeralBolt(t *testing.T) {
	for _, tc := range ephemeralSuite {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, startWith(nil)) })
	}
}

func TestEphemeralPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	dsn, err := postgresServer(t).NewDatabase("ephemeral")
	if err != nil {
		t.Fatal(err)
	}
	start := startPostgres(dsn, "e")
	for _, tc := range ephemeralSuite {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, start) })
	}
}

// raw is the seed's Authorization header: the secret without Bearer.
func raw(secret string) []string { return []string{"Authorization", secret} }

func (e *env) ephemeral(key string, body any) api.EphemeralDevice {
	e.t.Helper()
	var d api.EphemeralDevice
	e.do("POST", "/api/device/ephemeral", body, raw(key)...).want(e.t, 201, "").decode(e.t, &d)
	return d
}

func (e *env) esession(token, workflow string, body any) api.EphemeralSession {
	e.t.Helper()
	var s api.EphemeralSession
	e.do("POST", "/api/sessions?workflowId="+url.QueryEscape(workflow), body, raw(token)...).want(e.t, 201, "").decode(e.t, &s)
	return s
}

func testEphemeralDevice(t *testing.T, start starter) {
	e := start(t)
	tc := e.tenant("test")
	// The seed's request: the key without Bearer; with Bearer too.
	d := e.ephemeral(tc.APIKey, `{ "ttl": 3600 }`)
	if !strings.HasPrefix(d.Authorization, "lgeph_") || !strings.HasPrefix(d.DeviceID, "eph_") ||
		!d.ExpiresAt.Equal(e.clk.Now().Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("device %+v", d)
	}
	var b api.EphemeralDevice
	e.do("POST", "/api/device/ephemeral", `{"ttl":60}`, bearer(tc.APIKey)...).want(t, 201, "").decode(t, &b)
	if b.DeviceID == d.DeviceID || !b.ExpiresAt.Equal(e.clk.Now().Add(time.Minute).Truncate(time.Second)) {
		t.Fatalf("second device %+v", b)
	}
	// No body: the default TTL.
	if n := e.ephemeral(tc.APIKey, nil); !n.ExpiresAt.Equal(e.clk.Now().Add(time.Hour).Truncate(time.Second)) {
		t.Fatalf("default TTL: %v", n.ExpiresAt)
	}
	var ro, eo api.TenantCreated
	e.do("POST", "/admin/v1/tenants", `{"name":"RO","mode":"test","scopes":["sessions:read","sessions:write"]}`, bearer(adminToken)...).want(t, 201, "").decode(t, &ro)
	e.do("POST", "/admin/v1/tenants", `{"name":"EO","mode":"live","scopes":["ephemeral_devices:write"]}`, bearer(adminToken)...).want(t, 201, "").decode(t, &eo)
	e.ephemeral(eo.APIKey, `{"ttl":86400}`)
	cases := []struct {
		name   string
		hdr    []string
		body   string
		status int
		code   string
	}{
		{"ttl below 60", raw(tc.APIKey), `{"ttl":59}`, 400, "request.invalid_field"},
		{"ttl above a day", raw(tc.APIKey), `{"ttl":86401}`, 400, "request.invalid_field"},
		{"ttl zero", raw(tc.APIKey), `{"ttl":0}`, 400, "request.invalid_field"},
		{"ttl a string", raw(tc.APIKey), `{"ttl":"3600"}`, 400, "request.invalid_field"},
		{"unknown field", raw(tc.APIKey), `{"ttl":3600,"x":1}`, 400, "request.unknown_field"},
		{"no credentials", nil, `{"ttl":3600}`, 401, "auth.missing"},
		{"unknown key", raw("iksk_test_nope"), `{"ttl":3600}`, 401, "auth.invalid"},
		{"a device's token", raw(d.Authorization), `{"ttl":3600}`, 401, "auth.invalid"},
		{"legacy key", raw(legacyKey), `{"ttl":3600}`, 403, "auth.tenant_key_required"},
		{"key without the permission", raw(ro.APIKey), `{"ttl":3600}`, 403, "auth.insufficient_scope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.with(t).do("POST", "/api/device/ephemeral", c.body, c.hdr...).want(t, c.status, c.code)
			if c.code == "auth.insufficient_scope" && !strings.Contains(r.message(t), "ephemeral_devices:write") {
				t.Fatalf("message %q", r.message(t))
			}
		})
	}
}

func testEphemeralSessions(t *testing.T, start starter) {
	e := start(t)
	tc := e.tenant("test")
	d := e.ephemeral(tc.APIKey, `{"ttl":3600}`)
	// The seed's request.
	s := e.esession(d.Authorization, "liveness", `{ "metadata": { "externalUserId": "user_18422" }}`)
	if s.Status != "pending" || s.Flow != "liveness" || s.WorkflowID != "liveness" || s.ExternalUserID == nil ||
		*s.ExternalUserID != "user_18422" || s.ClientToken == nil || !strings.Contains(s.HostedURL, "/s/"+s.SessionID+"?t=") {
		t.Fatalf("session %+v", s)
	}
	// The tenant's API key sees it as a verification session.
	if v := e.vget(tc.APIKey, s.SessionID); v.Status != "pending" || v.Flow != "liveness" {
		t.Fatalf("tenant view %+v", v)
	}
	// Bearer works as well; no externalUserId gives null.
	var n api.EphemeralSession
	e.do("POST", "/api/sessions?workflowId=liveness", `{}`, bearer(d.Authorization)...).want(t, 201, "").decode(t, &n)
	if n.ExternalUserID != nil {
		t.Fatalf("externalUserId %v", *n.ExternalUserID)
	}
	// The decision comes through the one lifecycle (test-mode simulate).
	e.do("POST", "/api/v1/session/"+s.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...).want(t, 200, "")
	var got api.EphemeralSession
	e.do("GET", "/api/sessions/"+s.SessionID, nil, raw(d.Authorization)...).want(t, 200, "").decode(t, &got)
	if got.Status != "completed" || got.Decision == nil || *got.Decision != "approved" || got.ClientToken != nil || *got.ExternalUserID != "user_18422" {
		t.Fatalf("completed %+v", got)
	}
	// Idempotent retries agree; another device may not reuse the key.
	idem := []string{"Authorization", d.Authorization, "Idempotency-Key", "k1"}
	var i1, i2 api.EphemeralSession
	e.do("POST", "/api/sessions?workflowId=liveness", `{"metadata":{"externalUserId":"u"}}`, idem...).want(t, 201, "").decode(t, &i1)
	r := e.do("POST", "/api/sessions?workflowId=liveness", `{"metadata":{"externalUserId":"u"}}`, idem...).want(t, 201, "")
	r.decode(t, &i2)
	if i1.SessionID != i2.SessionID || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %s %s", i1.SessionID, i2.SessionID)
	}
	other := e.ephemeral(tc.APIKey, nil)
	e.do("POST", "/api/sessions?workflowId=liveness", `{"metadata":{"externalUserId":"u"}}`, "Authorization", other.Authorization, "Idempotency-Key", "k1").
		want(t, 409, "session.idempotency_conflict")

	long := strings.Repeat("x", 257)
	forged := d.Authorization[:len(d.Authorization)-2] + "AA"
	if forged == d.Authorization {
		forged = d.Authorization[:len(d.Authorization)-2] + "BB"
	}
	cases := []struct {
		name, query, body string
		hdr               []string
		status            int
		code              string
	}{
		{"no workflowId", "", `{}`, raw(d.Authorization), 400, "request.invalid_query"},
		{"unknown workflow", "?workflowId=wf_nope", `{}`, raw(d.Authorization), 404, "workflow.not_found"},
		{"facematch not run yet", "?workflowId=liveness%2Bfacematch", `{}`, raw(d.Authorization), 422, "session.flow_unavailable"},
		{"document not run yet", "?workflowId=liveness%2Bfacematch%2Bdocument", `{}`, raw(d.Authorization), 422, "session.flow_unavailable"},
		{"externalUserId a number", "?workflowId=liveness", `{"metadata":{"externalUserId":42}}`, raw(d.Authorization), 400, "request.invalid_field"},
		{"externalUserId empty", "?workflowId=liveness", `{"metadata":{"externalUserId":" "}}`, raw(d.Authorization), 400, "request.invalid_field"},
		{"externalUserId too long", "?workflowId=liveness", `{"metadata":{"externalUserId":"` + long + `"}}`, raw(d.Authorization), 400, "request.invalid_field"},
		{"metadata not an object", "?workflowId=liveness", `{"metadata":[1]}`, raw(d.Authorization), 400, "request.invalid_field"},
		{"unknown field", "?workflowId=liveness", `{"flow":"liveness"}`, raw(d.Authorization), 400, "request.unknown_field"},
		{"no credentials", "?workflowId=liveness", `{}`, nil, 401, "auth.missing"},
		{"the API key instead of the token", "?workflowId=liveness", `{}`, raw(tc.APIKey), 401, "ephemeral.token_required"},
		{"a forged signature", "?workflowId=liveness", `{}`, raw(forged), 401, "ephemeral.token_required"},
		{"claims of another tenant", "?workflowId=liveness", `{}`, raw("lgeph_eyJ0IjoidG50X25vcGUiLCJkIjoiZXBoX3giLCJrIjoiIiwieCI6OTk5OTk5OTk5OX0.AAAA"), 401, "ephemeral.token_required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.with(t).do("POST", "/api/sessions"+c.query, c.body, c.hdr...).want(t, c.status, c.code)
		})
	}
	// The token ends with its TTL (the injected clock moves past it).
	short := e.ephemeral(tc.APIKey, `{"ttl":60}`)
	ss := e.esession(short.Authorization, "liveness", nil)
	e.clk.Advance(59 * time.Second)
	e.do("GET", "/api/sessions/"+ss.SessionID, nil, raw(short.Authorization)...).want(t, 200, "")
	e.clk.Advance(time.Second)
	e.do("POST", "/api/sessions?workflowId=liveness", `{}`, raw(short.Authorization)...).want(t, 401, "ephemeral.token_expired")
	e.do("GET", "/api/sessions/"+ss.SessionID, nil, raw(short.Authorization)...).want(t, 401, "ephemeral.token_expired")
	// The tenant still reads it with its key.
	e.vget(tc.APIKey, ss.SessionID)

	// Revoking the key that made a device ends the device's token; a
	// rotated key's devices work through its grace period only.
	var rot api.KeyRotated
	e.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/keys/rotate", `{"grace_period_seconds":60}`, bearer(adminToken)...).want(t, 201, "").decode(t, &rot)
	old, fresh := e.ephemeral(tc.APIKey, nil), e.ephemeral(rot.APIKey, nil)
	olds := e.esession(old.Authorization, "liveness", nil)
	e.clk.Advance(time.Minute)
	e.do("GET", "/api/sessions/"+olds.SessionID, nil, raw(old.Authorization)...).want(t, 401, "ephemeral.token_required")
	e.esession(fresh.Authorization, "liveness", nil)
	e.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/keys/"+rot.KeyID+"/revoke", nil, bearer(adminToken)...).want(t, 200, "")
	e.do("POST", "/api/sessions?workflowId=liveness", `{}`, raw(fresh.Authorization)...).want(t, 401, "ephemeral.token_required")

	// A disabled tenant's devices stop too.
	dis := e.tenant("test")
	od := e.ephemeral(dis.APIKey, nil)
	e.esession(od.Authorization, "liveness", nil)
	if _, err := e.d.Store().UpdateTenant(context.Background(), dis.TenantID, func(t *core.Tenant) error { t.Disabled = true; return nil }); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/api/sessions?workflowId=liveness", `{}`, raw(od.Authorization)...).want(t, 401, "ephemeral.token_required")
}

// testEphemeralIsolation: a device's sessions are visible to its token and
// its tenant's keys only.
func testEphemeralIsolation(t *testing.T, start starter) {
	e := start(t)
	tc, other := e.tenant("test"), e.tenant("test")
	a, b := e.ephemeral(tc.APIKey, nil), e.ephemeral(tc.APIKey, nil)
	x := e.ephemeral(other.APIKey, nil)
	sa := e.esession(a.Authorization, "liveness", `{"metadata":{"externalUserId":"ua"}}`)
	v := e.vsession(tc.APIKey, `{"flow":"liveness"}`)
	e.do("GET", "/api/sessions/"+sa.SessionID, nil, raw(a.Authorization)...).want(t, 200, "")
	for _, c := range []struct{ name, token, id string }{
		{"another device of the tenant", b.Authorization, sa.SessionID},
		{"another tenant's device", x.Authorization, sa.SessionID},
		{"a session not started by a device", a.Authorization, v.SessionID},
		{"a missing session", a.Authorization, "ses_nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.with(t).do("GET", "/api/sessions/"+c.id, nil, raw(c.token)...).want(t, 404, "session.not_found")
			e.with(t).do("GET", "/mobile?authorization="+url.QueryEscape(c.token)+"&sessionId="+c.id, nil).want(t, 404, "session.not_found")
		})
	}
	e.do("GET", "/v1/sessions/"+sa.SessionID, nil, bearer(other.APIKey)...).want(t, 404, "session.not_found")
	e.vget(tc.APIKey, sa.SessionID)
}

func testEphemeralHandoff(t *testing.T, start starter) {
	e := start(t)
	tc := e.tenant("test")
	d := e.ephemeral(tc.APIKey, `{"ttl":600}`)
	s := e.esession(d.Authorization, "liveness", `{"metadata":{"externalUserId":"u1"}}`)
	// handoffUrl is the seed's construction, on the server's public URL.
	pub := s.HostedURL[:strings.Index(s.HostedURL, "/s/")]
	mobile := pub + "/mobile?authorization=" + url.QueryEscape(d.Authorization) + "&sessionId=" + s.SessionID
	if want := pub + "/capture?url=" + url.QueryEscape(mobile); s.HandoffURL != want {
		t.Fatalf("handoffUrl %s, want %s", s.HandoffURL, want)
	}
	// The desktop page: the QR code and the button, the link escaped.
	p := e.do("GET", strings.TrimPrefix(s.HandoffURL, pub), nil).want(t, 200, "")
	body := string(p.body)
	if !strings.HasPrefix(p.header.Get("Content-Type"), "text/html") || !strings.Contains(body, "<svg") ||
		!strings.Contains(body, `href="`+strings.ReplaceAll(mobile, "&", "&amp;")+`"`) || p.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("capture page %v\n%s", p.header, body)
	}
	// The phone's link opens the hosted page of that session.
	m := e.do("GET", strings.TrimPrefix(mobile, pub), nil).want(t, 303, "")
	loc := m.header.Get("Location")
	if !strings.HasPrefix(loc, pub+"/s/"+s.SessionID+"?t=") || loc != s.HostedURL {
		t.Fatalf("Location %s, hosted %s", loc, s.HostedURL)
	}
	e.do("GET", strings.TrimPrefix(loc, pub), nil, "Accept", "text/html").want(t, 200, "")

	bad := []struct{ name, url string }{
		{"empty", ""},
		{"another host", "https://evil.example/mobile?authorization=x&sessionId=y"},
		{"another path", pub + "/s/" + s.SessionID + "?authorization=x&sessionId=y"},
		{"no sessionId", pub + "/mobile?authorization=x"},
		{"no authorization", pub + "/mobile?sessionId=" + s.SessionID},
		{"javascript", "javascript:alert(1)//" + pub + "/mobile?authorization=x&sessionId=y"},
		{"credentials in the URL", strings.Replace(mobile, "://", "://u:p@", 1)},
	}
	for _, c := range bad {
		t.Run("capture "+c.name, func(t *testing.T) {
			e.with(t).do("GET", "/capture?url="+url.QueryEscape(c.url), nil).want(t, 400, "handoff.invalid_link")
		})
	}
	// The link names one session: another one of the device is refused in
	// its place only by its own id; a link moved to another device's
	// session is a missing one.
	other := e.esession(e.ephemeral(tc.APIKey, nil).Authorization, "liveness", nil)
	e.do("GET", "/mobile?authorization="+url.QueryEscape(d.Authorization)+"&sessionId="+other.SessionID, nil).want(t, 404, "session.not_found")
	e.do("GET", "/mobile?authorization="+url.QueryEscape(d.Authorization), nil).want(t, 400, "request.invalid_query")
	e.do("GET", "/mobile?sessionId="+s.SessionID, nil).want(t, 401, "auth.missing")
	// The desktop page checks the link's token and session as /mobile does.
	moved := pub + "/mobile?authorization=" + url.QueryEscape(d.Authorization) + "&sessionId=" + other.SessionID
	e.do("GET", "/capture?url="+url.QueryEscape(moved), nil).want(t, 404, "session.not_found")
	forged := pub + "/mobile?authorization=lgeph_x.y&sessionId=" + s.SessionID
	e.do("GET", "/capture?url="+url.QueryEscape(forged), nil).want(t, 401, "ephemeral.token_required")

	// The desktop follows the phone: each reload says where it is.
	page := func(h string) string {
		t.Helper()
		r := e.do("GET", strings.TrimPrefix(h, pub), nil).want(t, 200, "")
		return string(r.body)
	}
	f := e.esession(d.Authorization, "liveness", nil)
	refresh := `<meta http-equiv="refresh" content="3">`
	if p := page(f.HandoffURL); !strings.Contains(p, refresh) || !strings.Contains(p, "<svg") {
		t.Fatalf("pending page %s", p)
	}
	if _, err := e.d.Sessions().Start(context.Background(), f.SessionID); err != nil {
		t.Fatal(err)
	}
	if p := page(f.HandoffURL); !strings.Contains(p, refresh) || strings.Contains(p, "<svg") || !strings.Contains(p, `data-status="in_progress"`) {
		t.Fatalf("in-progress page %s", p)
	}
	e.do("POST", "/api/v1/session/"+f.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...).want(t, 200, "")
	if p := page(f.HandoffURL); strings.Contains(p, refresh) || !strings.Contains(p, `data-status="completed"`) {
		t.Fatalf("completed page %s", p)
	}

	// A finished session: 409 on the phone, the end on the desktop; past
	// the token's TTL: 401.
	e.do("POST", "/v1/sessions/"+s.SessionID+"/cancel", nil, bearer(tc.APIKey)...).want(t, 200, "")
	e.do("GET", strings.TrimPrefix(mobile, pub), nil).want(t, 409, "session.already_finished")
	if p := page(s.HandoffURL); strings.Contains(p, refresh) || !strings.Contains(p, `data-status="cancelled"`) {
		t.Fatalf("cancelled page %s", p)
	}
	s2 := e.esession(d.Authorization, "liveness", nil)
	e.clk.Advance(10 * time.Minute)
	e.do("GET", "/mobile?authorization="+url.QueryEscape(d.Authorization)+"&sessionId="+s2.SessionID, nil).want(t, 401, "ephemeral.token_expired")
	e.do("GET", strings.TrimPrefix(s2.HandoffURL, pub), nil).want(t, 401, "ephemeral.token_expired")
}

// testListByExternalUser: GET /v1/sessions?externalUserId=… lists one
// user's verification sessions of the key's tenant, newest first.
func testListByExternalUser(t *testing.T, start starter) {
	e := start(t)
	tc, other := e.tenant("test"), e.tenant("test")
	a, b := e.ephemeral(tc.APIKey, nil), e.ephemeral(tc.APIKey, nil)
	first := e.esession(a.Authorization, "liveness", `{"metadata":{"externalUserId":"u 1/é"}}`)
	e.clk.Advance(time.Second)
	second := e.esession(b.Authorization, "liveness", `{"metadata":{"externalUserId":"u 1/é"}}`)
	e.esession(a.Authorization, "liveness", `{"metadata":{"externalUserId":"u2"}}`)
	e.esession(e.ephemeral(other.APIKey, nil).Authorization, "liveness", `{"metadata":{"externalUserId":"u 1/é"}}`)
	e.session(tc.APIKey, map[string]string{"user_id": "u 1/é"}) // not a verification session
	list := func(q string) api.SessionList {
		var l api.SessionList
		e.do("GET", "/v1/sessions?"+q, nil, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &l)
		return l
	}
	l := list("externalUserId=" + url.QueryEscape("u 1/é"))
	if len(l.Sessions) != 2 || l.Sessions[0].SessionID != second.SessionID || l.Sessions[1].SessionID != first.SessionID ||
		l.Sessions[0].ExternalUserID != "u 1/é" || l.Sessions[0].ClientToken != nil || strings.Contains(l.Sessions[0].HostedURL, "?t=") {
		t.Fatalf("list %+v", l)
	}
	if l := list("externalUserId=" + url.QueryEscape("u 1/é") + "&limit=1"); len(l.Sessions) != 1 || l.Sessions[0].SessionID != second.SessionID {
		t.Fatalf("limit 1: %+v", l)
	}
	if l := list("externalUserId=nobody"); len(l.Sessions) != 0 {
		t.Fatalf("nobody: %+v", l)
	}
	// Past their TTL, the list shows them expired.
	e.clk.Advance(24 * time.Hour)
	if l := list("externalUserId=u2"); len(l.Sessions) != 1 || l.Sessions[0].Status != "expired" {
		t.Fatalf("expired: %+v", l)
	}
	var wo api.KeyRotated
	e.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/keys/rotate", `{"grace_period_seconds":3600,"scopes":["sessions:write"]}`, bearer(adminToken)...).
		want(t, 201, "").decode(t, &wo)
	for _, c := range []struct {
		name, q string
		hdr     []string
		status  int
		code    string
	}{
		{"no externalUserId", "", bearer(tc.APIKey), 400, "request.invalid_query"},
		{"externalUserId too long", "externalUserId=" + strings.Repeat("x", 257), bearer(tc.APIKey), 400, "request.invalid_query"},
		{"limit zero", "externalUserId=u2&limit=0", bearer(tc.APIKey), 400, "request.invalid_query"},
		{"limit above 100", "externalUserId=u2&limit=101", bearer(tc.APIKey), 400, "request.invalid_query"},
		{"limit not a number", "externalUserId=u2&limit=x", bearer(tc.APIKey), 400, "request.invalid_query"},
		{"no key", "externalUserId=u2", nil, 401, "auth.missing"},
		{"a device's token", "externalUserId=u2", bearer(a.Authorization), 401, "auth.invalid"},
		{"a key without sessions:read", "externalUserId=u2", bearer(wo.APIKey), 403, "auth.insufficient_scope"},
		{"the legacy key", "externalUserId=u2", bearer(legacyKey), 403, "auth.tenant_key_required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.with(t).do("GET", "/v1/sessions?"+c.q, nil, c.hdr...).want(t, c.status, c.code)
		})
	}
}

// testWorkflows: a tenant's workflows, defined through the admin API, name
// the flow and settings of the sessions started with them.
func testWorkflows(t *testing.T, start starter) {
	e := start(t)
	tc, other := e.tenant("test"), e.tenant("test")
	admin := bearer(adminToken)
	path := "/admin/v1/tenants/" + tc.TenantID + "/workflows"
	var got api.WorkflowsBody
	e.do("GET", path, nil, admin...).want(t, 200, "").decode(t, &got)
	if len(got.Workflows) != 0 {
		t.Fatalf("initial %+v", got)
	}
	e.do("PUT", path, `{"workflows": {"signup": {"flow": "liveness", "mode": "passive", "livenessReviewBelow": 0.99}, "kyc-2.v1": {"flow": "liveness"}}}`, admin...).
		want(t, 200, "").decode(t, &got)
	if len(got.Workflows) != 2 || got.Workflows["signup"].Mode != "passive" || *got.Workflows["signup"].LivenessReviewBelow != 0.99 {
		t.Fatalf("put %+v", got)
	}
	d := e.ephemeral(tc.APIKey, nil)
	s := e.esession(d.Authorization, "signup", `{"metadata":{"externalUserId":"u"}}`)
	if s.WorkflowID != "signup" || s.Flow != "liveness" {
		t.Fatalf("session %+v", s)
	}
	sess, err := e.d.Sessions().Get(context.Background(), s.SessionID)
	if err != nil || sess.Mode != "passive" || sess.ReviewBelow != 0.99 || sess.Workflow != "signup" {
		t.Fatalf("stored %+v %v", sess, err)
	}
	// The workflow's grey zone: a pass at 0.95 goes to review.
	e.do("POST", "/api/v1/session/"+s.SessionID+"/simulate", `{"verdict":"pass","confidence":0.95}`, bearer(tc.APIKey)...).want(t, 200, "")
	var done api.EphemeralSession
	e.do("GET", "/api/sessions/"+s.SessionID, nil, raw(d.Authorization)...).want(t, 200, "").decode(t, &done)
	if done.Decision == nil || *done.Decision != "review" || done.WorkflowID != "signup" {
		t.Fatalf("decision %+v", done)
	}
	if k := e.esession(d.Authorization, "kyc-2.v1", nil); k.WorkflowID != "kyc-2.v1" {
		t.Fatalf("second workflow %+v", k)
	}
	// Another tenant's device does not see this tenant's workflows.
	e.do("POST", "/api/sessions?workflowId=signup", `{}`, raw(e.ephemeral(other.APIKey, nil).Authorization)...).want(t, 404, "workflow.not_found")
	// A workflow's webhookUrl gets its sessions' signed events, with the
	// external user id in metadata.
	rcv := newReceiver(t)
	e.do("PUT", path, `{"workflows": {"hooked": {"flow": "liveness", "webhookUrl": "`+rcv.url()+`"}}}`, admin...).want(t, 200, "")
	h := e.esession(d.Authorization, "hooked", `{"metadata":{"externalUserId":"u-hook"}}`)
	e.do("POST", "/api/v1/session/"+h.SessionID+"/simulate", `{"verdict":"fail"}`, bearer(tc.APIKey)...).want(t, 200, "")
	dl := rcv.next(t)
	if err := webhook.Verify(dl.header.Get("Livegate-Signature"), dl.body, []byte(tc.WebhookSecret), 0, e.clk.Now()); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if ev := dl.event(t); ev.Type != "session.completed" || !bytes.Contains(ev.Data, []byte(`"sessionId":"`+h.SessionID)) ||
		!bytes.Contains(ev.Data, []byte(`"externalUserId":"u-hook"`)) || !bytes.Contains(ev.Data, []byte(`"decision":"declined"`)) ||
		bytes.Contains(dl.body, []byte("lgeph_")) || bytes.Contains(dl.body, []byte("lgct_")) {
		t.Fatalf("event %s %s", ev.Type, ev.Data)
	}
	// {} removes them.
	e.do("PUT", path, `{"workflows": {}}`, admin...).want(t, 200, "")
	e.do("POST", "/api/sessions?workflowId=signup", `{}`, raw(d.Authorization)...).want(t, 404, "workflow.not_found")

	many := map[string]any{}
	for i := range 51 {
		many["w"+strings.Repeat("x", i%3)+string(rune('a'+i%26))+string(rune('a'+i/26))] = map[string]string{"flow": "liveness"}
	}
	manyJSON, _ := json.Marshal(map[string]any{"workflows": many})
	for _, c := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"no workflows field", `{}`, 400, "request.missing_field"},
		{"no flow", `{"workflows": {"a": {}}}`, 400, "request.missing_field"},
		{"unknown flow", `{"workflows": {"a": {"flow": "face"}}}`, 400, "request.invalid_field"},
		{"facematch not run yet", `{"workflows": {"a": {"flow": "liveness+facematch"}}}`, 422, "session.flow_unavailable"},
		{"bad mode", `{"workflows": {"a": {"flow": "liveness", "mode": "fast"}}}`, 400, "request.invalid_field"},
		{"review zero", `{"workflows": {"a": {"flow": "liveness", "livenessReviewBelow": 0}}}`, 400, "request.invalid_field"},
		{"review above one", `{"workflows": {"a": {"flow": "liveness", "livenessReviewBelow": 1.5}}}`, 400, "request.invalid_field"},
		{"id with a space", `{"workflows": {"a b": {"flow": "liveness"}}}`, 400, "request.invalid_field"},
		{"id starting with a dash", `{"workflows": {"-a": {"flow": "liveness"}}}`, 400, "request.invalid_field"},
		{"id too long", `{"workflows": {"` + strings.Repeat("a", 65) + `": {"flow": "liveness"}}}`, 400, "request.invalid_field"},
		{"a flow's name", `{"workflows": {"liveness": {"flow": "liveness"}}}`, 400, "request.invalid_field"},
		{"51 workflows", string(manyJSON), 400, "request.invalid_field"},
		{"unknown field", `{"workflows": {"a": {"flow": "liveness", "x": 1}}}`, 400, "request.unknown_field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e.with(t).do("PUT", path, c.body, admin...).want(t, c.status, c.code)
		})
	}
	e.do("PUT", "/admin/v1/tenants/ten_nope/workflows", `{"workflows": {}}`, admin...).want(t, 404, "tenant.not_found")
	for _, c := range []struct{ name, url, code string }{
		{"webhook to a private address", "https://10.0.0.1/hook", "url.host_not_allowed"},
		{"webhook to cloud metadata", "https://metadata.example.com/hook", "url.host_not_allowed"},
		{"webhook not https", "ftp://hooks.example.com/hook", "url.scheme_not_allowed"},
		{"webhook unresolvable", "https://nowhere.example.com/hook", "url.host_unresolvable"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.with(t).do("PUT", path, `{"workflows": {"a": {"flow": "liveness", "webhookUrl": "`+c.url+`"}}}`, admin...).want(t, 400, c.code)
			if !strings.Contains(r.message(t), `workflows[\"a\"].webhookUrl`) && !strings.Contains(r.message(t), `workflows["a"].webhookUrl`) {
				t.Fatalf("message %q", r.message(t))
			}
		})
	}
	e.do("PUT", path, `{"workflows": {}}`, bearer(tc.APIKey)...).want(t, 401, "auth.admin_invalid")
	// Nothing refused was stored.
	got = api.WorkflowsBody{}
	e.do("GET", path, nil, admin...).want(t, 200, "").decode(t, &got)
	if len(got.Workflows) != 0 {
		t.Fatalf("after refusals %+v", got)
	}
}

// TestEphemeralMatchesSchemas: the answers of the ephemeral routes match
// the OpenAPI document, errors included.
func TestEphemeralMatchesSchemas(t *testing.T) {
	e := startWith(nil)(t)
	check := schemaChecker(t, e)
	tc := e.tenant("test")
	r := e.do("POST", "/api/device/ephemeral", `{"ttl":3600}`, raw(tc.APIKey)...)
	check("POST", "/api/device/ephemeral", r)
	var d api.EphemeralDevice
	r.decode(t, &d)
	check("POST", "/api/device/ephemeral", e.do("POST", "/api/device/ephemeral", `{"ttl":1}`, raw(tc.APIKey)...))
	check("POST", "/api/device/ephemeral", e.do("POST", "/api/device/ephemeral", `{}`, raw(legacyKey)...))
	r = e.do("POST", "/api/sessions?workflowId=liveness", `{"metadata":{"externalUserId":"u"}}`, raw(d.Authorization)...)
	check("POST", "/api/sessions", r)
	var s api.EphemeralSession
	r.decode(t, &s)
	check("POST", "/api/sessions", e.do("POST", "/api/sessions?workflowId=nope", `{}`, raw(d.Authorization)...))
	check("POST", "/api/sessions", e.do("POST", "/api/sessions?workflowId=liveness%2Bfacematch", `{}`, raw(d.Authorization)...))
	check("POST", "/api/sessions", e.do("POST", "/api/sessions?workflowId=liveness", `{}`, raw(tc.APIKey)...))
	check("GET", "/api/sessions/{id}", e.do("GET", "/api/sessions/"+s.SessionID, nil, raw(d.Authorization)...))
	check("GET", "/api/sessions/{id}", e.do("GET", "/api/sessions/ses_nope", nil, raw(d.Authorization)...))
	check("GET", "/capture", e.do("GET", s.HandoffURL[strings.Index(s.HandoffURL, "/capture"):], nil))
	check("GET", "/capture", e.do("GET", "/capture?url=https%3A%2F%2Fevil.example%2F", nil))
	check("GET", "/capture", e.do("GET", "/capture?url="+url.QueryEscape(s.HandoffURL[:strings.Index(s.HandoffURL, "/capture")]+"/mobile?authorization=lgeph_x.y&sessionId="+s.SessionID), nil))
	q := "?authorization=" + url.QueryEscape(d.Authorization) + "&sessionId="
	check("GET", "/mobile", e.do("GET", "/mobile"+q+s.SessionID, nil))
	check("GET", "/mobile", e.do("GET", "/mobile"+q+"ses_nope", nil))
	e.do("POST", "/api/v1/session/"+s.SessionID+"/simulate", `{"verdict":"fail"}`, bearer(tc.APIKey)...).want(t, 200, "")
	check("GET", "/api/sessions/{id}", e.do("GET", "/api/sessions/"+s.SessionID, nil, raw(d.Authorization)...))
	check("GET", "/mobile", e.do("GET", "/mobile"+q+s.SessionID, nil))
	check("GET", "/v1/sessions", e.do("GET", "/v1/sessions?externalUserId=u", nil, bearer(tc.APIKey)...))
	wp := "/admin/v1/tenants/" + tc.TenantID + "/workflows"
	check("PUT", "/admin/v1/tenants/{id}/workflows", e.do("PUT", wp, `{"workflows": {"signup": {"flow": "liveness", "mode": "passive", "livenessReviewBelow": 0.85}}}`, bearer(adminToken)...))
	check("PUT", "/admin/v1/tenants/{id}/workflows", e.do("PUT", wp, `{"workflows": {"a": {"flow": "liveness+facematch"}}}`, bearer(adminToken)...))
	check("GET", "/admin/v1/tenants/{id}/workflows", e.do("GET", wp, nil, bearer(adminToken)...))
	check("POST", "/api/sessions", e.do("POST", "/api/sessions?workflowId=signup", `{}`, raw(d.Authorization)...))
	check("GET", "/v1/sessions", e.do("GET", "/v1/sessions?externalUserId=u&limit=0", nil, bearer(tc.APIKey)...))
}
