package api_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jackc/pgx/v5"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/webhook"
)

// Verification sessions (POST /v1/sessions and the routes under
// /v1/sessions/{id}), on bbolt and on PostgreSQL.

// vstore is a store the verification tests run on: how to start a server
// on it and how to read everything it holds, raw, for the at-rest checks.
type vstore struct {
	start starter
	// raw returns every byte the store holds for the server started with
	// the options o (after the test's requests).
	raw func(t *testing.T, o daemon.Options) []byte
}

var verificationSuite = []struct {
	name string
	fn   func(t *testing.T, vs vstore)
}{
	{"Create", testVerificationCreate},
	{"Idempotency", testVerificationIdempotency},
	{"Decisions", testVerificationDecisions},
	{"Cancel", testVerificationCancel},
	{"Report", testVerificationReport},
	{"Scopes", testVerificationScopes},
	{"Webhooks", testVerificationWebhooks},
	{"SubjectSealedAtRest", testVerificationSealed},
}

func TestVerificationBolt(t *testing.T) {
	vs := vstore{start: startWith(nil), raw: func(t *testing.T, o daemon.Options) []byte {
		b, err := os.ReadFile(filepath.Join(o.DataDir, "livegate.db"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}}
	for _, tc := range verificationSuite {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, vs) })
	}
}

func TestVerificationPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	dsn, err := postgresServer(t).NewDatabase("verification")
	if err != nil {
		t.Fatal(err)
	}
	start := startPostgres(dsn, "v")
	// raw: every row of every table of the server's schema, as text (bytea
	// columns come out in hex; the checks look for hex too).
	raw := func(t *testing.T, o daemon.Options) []byte {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, o.PostgresDSN)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
		if err != nil {
			t.Fatal(err)
		}
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(tables) < 4 {
			t.Fatalf("tables %v, %v", tables, err)
		}
		var out bytes.Buffer
		for _, tb := range tables {
			rows, err := conn.Query(ctx, fmt.Sprintf("SELECT t::text FROM %s t", pgx.Identifier{tb}.Sanitize()))
			if err != nil {
				t.Fatal(err)
			}
			texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range texts {
				out.WriteString(s + "\n")
			}
		}
		return out.Bytes()
	}
	for _, tc := range verificationSuite {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, vstore{start: start, raw: raw}) })
	}
}

// vsession creates a verification session and returns its view.
func (e *env) vsession(key string, body any) lifecycle.Verification {
	e.t.Helper()
	var v lifecycle.Verification
	e.do("POST", "/v1/sessions", body, bearer(key)...).want(e.t, 201, "").decode(e.t, &v)
	return v
}

func (e *env) vget(key, id string) lifecycle.Verification {
	e.t.Helper()
	var v lifecycle.Verification
	e.do("GET", "/v1/sessions/"+id, nil, bearer(key)...).want(e.t, 200, "").decode(e.t, &v)
	return v
}

// keysOf lists the keys of a JSON object, sorted.
func keysOf(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var seedFields = []string{"checks", "clientToken", "decision", "decisionReasons", "expiresAt", "flow", "hostedUrl", "sessionId", "status"}

func testVerificationCreate(t *testing.T, vs vstore) {
	e := vs.start(t)
	tc := e.tenant("test")
	r := e.do("POST", "/v1/sessions", `{"flow": "liveness", "reference": "signup_18422",
		"subject": {"firstName": "Tapiwa", "lastName": "Moyo", "idNumber": "AB123", "dateOfBirth": "1990-04-01"},
		"redirectUrl": "http://localhost:3000/verify/done", "metadata": {"order": 42}}`, bearer(tc.APIKey)...).want(t, 201, "")
	if got := keysOf(t, r.body); !slices.Equal(got, seedFields) {
		t.Fatalf("201 fields %v, want exactly %v", got, seedFields)
	}
	for _, want := range []string{`"decision":null`, `"decisionReasons":[]`, `"checks":[]`, `"status":"pending"`, `"flow":"liveness"`} {
		if !bytes.Contains(r.body, []byte(want)) {
			t.Fatalf("201 %s lacks %s", r.body, want)
		}
	}
	var v lifecycle.Verification
	r.decode(t, &v)
	if !strings.HasPrefix(v.SessionID, "ses_") || v.ClientToken == nil || !strings.HasPrefix(*v.ClientToken, "lgct_") {
		t.Fatalf("created %+v", v)
	}
	if want := lifecycle.HostedURL(e.d.URL(), v.SessionID, *v.ClientToken); v.HostedURL != want {
		t.Fatalf("hostedUrl %s, want %s", v.HostedURL, want)
	}
	if loc := r.header.Get("Location"); loc != "/v1/sessions/"+v.SessionID {
		t.Fatalf("Location %q", loc)
	}
	if !v.ExpiresAt.Equal(e.clk.Now().Add(e.d.Sessions().TTL())) {
		t.Fatalf("expiresAt %v", v.ExpiresAt)
	}
	// The hosted URL opens the page, as the capture page's link.
	e.do("GET", strings.TrimPrefix(v.HostedURL, e.d.URL()), nil).want(t, 200, "")
	// While pending, GET shows the same.
	if g := e.vget(tc.APIKey, v.SessionID); g.ClientToken == nil || *g.ClientToken != *v.ClientToken || g.HostedURL != v.HostedURL || g.Status != "pending" {
		t.Fatalf("get %+v", g)
	}

	// At the end the page sends the user to redirectUrl with sessionId
	// (camelCase, as the rest of this surface) in its query.
	var sim struct {
		RedirectTo string `json:"redirect_to"`
	}
	e.do("POST", "/api/v1/session/"+v.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &sim)
	if want := "http://localhost:3000/verify/done?sessionId=" + v.SessionID; sim.RedirectTo != want {
		t.Fatalf("redirect_to %q, want %q", sim.RedirectTo, want)
	}
	if page := e.do("GET", strings.TrimPrefix(v.HostedURL, e.d.URL()), nil).want(t, 200, ""); !strings.Contains(string(page.body), "sessionId="+v.SessionID) {
		t.Fatalf("completed page has no redirect with sessionId: %s", page.body)
	}

	legacy := e.do("POST", "/v1/sessions", `{"flow":"liveness"}`, bearer(legacyKey)...)
	legacy.want(t, 403, "auth.tenant_key_required")
	cases := []struct {
		name, body string
		status     int
		code, msg  string
	}{
		{"no flow", `{}`, 400, "request.missing_field", "flow"},
		{"facematch", `{"flow":"liveness+facematch"}`, 422, "session.flow_unavailable", "facematch"},
		{"document", `{"flow":"liveness+facematch+document"}`, 422, "session.flow_unavailable", "document"},
		{"unknown flow", `{"flow":"selfie"}`, 400, "request.invalid_field", "selfie"},
		{"flow type", `{"flow":1}`, 400, "request.invalid_field", "flow"},
		{"snake case", `{"flow":"liveness","redirect_url":"https://app.example.com/"}`, 400, "request.unknown_field", "redirect_url"},
		{"no last name", `{"flow":"liveness","subject":{"firstName":"A"}}`, 400, "request.missing_field", "subject.lastName"},
		{"blank first name", `{"flow":"liveness","subject":{"firstName":" ","lastName":"B"}}`, 400, "request.missing_field", "subject.firstName"},
		{"long name", `{"flow":"liveness","subject":{"firstName":"` + strings.Repeat("x", 201) + `","lastName":"B"}}`, 400, "request.invalid_field", "subject.firstName"},
		{"control char", `{"flow":"liveness","subject":{"firstName":"A\u0007","lastName":"B"}}`, 400, "request.invalid_field", "subject.firstName"},
		{"subject field", `{"flow":"liveness","subject":{"firstName":"A","lastName":"B","nick":"C"}}`, 400, "request.unknown_field", "nick"},
		{"bad birth date", `{"flow":"liveness","subject":{"firstName":"A","lastName":"B","dateOfBirth":"01/04/1990"}}`, 400, "request.invalid_field", "dateOfBirth"},
		{"future birth date", `{"flow":"liveness","subject":{"firstName":"A","lastName":"B","dateOfBirth":"2030-01-01"}}`, 400, "request.invalid_field", "future"},
		{"long reference", `{"flow":"liveness","reference":"` + strings.Repeat("r", 257) + `"}`, 400, "request.invalid_field", "reference"},
		{"metadata array", `{"flow":"liveness","metadata":[1]}`, 400, "request.invalid_field", "metadata"},
		{"private redirect", `{"flow":"liveness","redirectUrl":"https://10.0.0.1/"}`, 400, "url.host_not_allowed", "redirectUrl"},
		{"plain webhook", `{"flow":"liveness","webhookUrl":"http://app.example.com/"}`, 400, "url.scheme_not_allowed", "webhookUrl"},
		{"bad mode", `{"flow":"liveness","mode":"lazy"}`, 400, "request.invalid_field", "mode"},
		{"not json", `{"flow":`, 400, "request.invalid_json", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.with(t).do("POST", "/v1/sessions", c.body, bearer(tc.APIKey)...).want(t, c.status, c.code)
			if !strings.Contains(r.message(t), c.msg) {
				t.Fatalf("message %q does not name %q", r.message(t), c.msg)
			}
		})
	}
	e.do("POST", "/v1/sessions", `{"flow":"liveness"}`).want(t, 401, "auth.missing")
	e.do("POST", "/v1/sessions", `{"flow":"liveness"}`, bearer("iksk_test_nope")...).want(t, 401, "auth.invalid")
	e.do("GET", "/v1/sessions/ses_missing", nil, bearer(tc.APIKey)...).want(t, 404, "session.not_found")
	e.do("GET", "/v1/sessions/"+v.SessionID+"/report", nil, bearer(legacyKey)...).want(t, 403, "auth.tenant_key_required")
	// Another tenant's key sees nothing.
	other := e.tenant("test")
	for _, p := range []string{"GET /v1/sessions/" + v.SessionID, "GET /v1/sessions/" + v.SessionID + "/report", "POST /v1/sessions/" + v.SessionID + "/cancel"} {
		m, path, _ := strings.Cut(p, " ")
		e.do(m, path, nil, bearer(other.APIKey)...).want(t, 404, "session.not_found")
	}
}

func testVerificationIdempotency(t *testing.T, vs vstore) {
	e := vs.start(t)
	tc := e.tenant("test")
	body := `{"flow":"liveness","reference":"r1","subject":{"firstName":"Ada","lastName":"Lovelace"}}`
	idem := []string{"Idempotency-Key", "signup-1"}
	a := e.do("POST", "/v1/sessions", body, append(bearer(tc.APIKey), idem...)...).want(t, 201, "")
	b := e.do("POST", "/v1/sessions", body, append(bearer(tc.APIKey), idem...)...).want(t, 201, "")
	if !bytes.Equal(a.body, b.body) || b.header.Get("Idempotent-Replayed") != "true" || a.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("replay differs:\n%s\n%s\n%v", a.body, b.body, b.header)
	}
	for _, other := range []string{
		`{"flow":"liveness","reference":"r1","subject":{"firstName":"Ada","lastName":"Byron"}}`,
		`{"flow":"liveness","reference":"r2","subject":{"firstName":"Ada","lastName":"Lovelace"}}`,
		`{"flow":"liveness","reference":"r1"}`,
	} {
		e.do("POST", "/v1/sessions", other, append(bearer(tc.APIKey), idem...)...).want(t, 409, "session.idempotency_conflict")
	}
	// Another key of the same tenant with the same body and key: the same
	// session; another tenant: its own.
	c := e.do("POST", "/v1/sessions", body, append(bearer(e.tenant("test").APIKey), idem...)...).want(t, 201, "")
	var va, vc lifecycle.Verification
	a.decode(t, &va)
	c.decode(t, &vc)
	if va.SessionID == vc.SessionID {
		t.Fatal("two tenants share a session through one Idempotency-Key")
	}
}

func testVerificationDecisions(t *testing.T, vs vstore) {
	e := vs.start(t)
	tc := e.tenant("test")
	review := func(v string) {
		e.do("PUT", "/admin/v1/tenants/"+tc.TenantID+"/settings", v, bearer(adminToken)...).want(t, 200, "")
	}
	cases := []struct {
		name, settings, simulate string
		decision, reason, status string
		score                    float64
	}{
		{"pass", `{}`, `{"verdict":"pass","confidence":0.97}`, "approved", "liveness_pass", "pass", 0.97},
		{"pass at threshold", `{}`, `{"verdict":"pass","confidence":0.70}`, "approved", "liveness_pass", "pass", 0.70},
		{"fail", `{}`, `{"verdict":"fail","confidence":0.12}`, "declined", "liveness_fail", "fail", 0.12},
		{"retry is review", `{}`, `{"verdict":"retry","confidence":0.55}`, "review", "liveness_retry", "retry", 0.55},
		{"grey zone", `{"verification":{"liveness_review_below":0.9}}`, `{"verdict":"pass","confidence":0.8}`, "review", "liveness_grey_zone", "pass", 0.8},
		{"above grey zone", `{"verification":{"liveness_review_below":0.9}}`, `{"verdict":"pass","confidence":0.9}`, "approved", "liveness_pass", "pass", 0.9},
		{"grey zone fail", `{"verification":{"liveness_review_below":0.9}}`, `{"verdict":"fail"}`, "declined", "liveness_fail", "fail", 0.12},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.with(t)
			review(c.settings)
			v := e.vsession(tc.APIKey, `{"flow":"liveness","mode":"passive"}`)
			review(`{}`) // the rule in force at creation decides
			e.do("POST", "/api/v1/session/"+v.SessionID+"/simulate", c.simulate, bearer(tc.APIKey)...).want(t, 200, "")
			r := e.do("GET", "/v1/sessions/"+v.SessionID, nil, bearer(tc.APIKey)...).want(t, 200, "")
			if got := keysOf(t, r.body); !slices.Equal(got, seedFields) {
				t.Fatalf("fields %v", got)
			}
			var g lifecycle.Verification
			r.decode(t, &g)
			if g.Status != "completed" || g.Decision == nil || *g.Decision != c.decision || !slices.Equal(g.DecisionReasons, []string{c.reason}) {
				t.Fatalf("decision %+v, want %s %s", g, c.decision, c.reason)
			}
			if len(g.Checks) != 1 || g.Checks[0] != (lifecycle.VerificationCheck{Type: "liveness", Status: c.status, Score: c.score}) {
				t.Fatalf("checks %+v", g.Checks)
			}
			if g.ClientToken != nil || g.HostedURL != e.d.URL()+"/s/"+v.SessionID || !bytes.Contains(r.body, []byte(`"clientToken":null`)) {
				t.Fatalf("terminal session still shows its client token: %s", r.body)
			}
		})
	}
	for _, bad := range []string{`{"verification":{"liveness_review_below":0.5}}`, `{"verification":{"liveness_review_below":1.5}}`} {
		e.do("PUT", "/admin/v1/tenants/"+tc.TenantID+"/settings", bad, bearer(adminToken)...).want(t, 400, "tenant.invalid_setting")
	}
	var tv api.TenantView
	e.do("PUT", "/admin/v1/tenants/"+tc.TenantID+"/settings", `{"verification":{"liveness_review_below":0.85}}`, bearer(adminToken)...).
		want(t, 200, "").decode(t, &tv)
	if p := tv.Settings.Verification.LivenessReviewBelow; p == nil || *p != 0.85 {
		t.Fatalf("settings %+v", tv.Settings)
	}
	// Expired: terminal without a decision.
	v := e.vsession(tc.APIKey, `{"flow":"liveness"}`)
	e.clk.Advance(e.d.Sessions().TTL())
	if g := e.vget(tc.APIKey, v.SessionID); g.Status != "expired" || g.Decision != nil || len(g.DecisionReasons) != 0 || g.ClientToken != nil {
		t.Fatalf("expired %+v", g)
	}
}

func testVerificationCancel(t *testing.T, vs vstore) {
	e := vs.start(t)
	tc := e.tenant("test")
	v := e.vsession(tc.APIKey, `{"flow":"liveness"}`)
	var c lifecycle.Verification
	e.do("POST", "/v1/sessions/"+v.SessionID+"/cancel", nil, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &c)
	if c.Status != "cancelled" || c.ClientToken != nil || c.Decision != nil {
		t.Fatalf("cancelled %+v", c)
	}
	e.do("POST", "/v1/sessions/"+v.SessionID+"/cancel", nil, bearer(tc.APIKey)...).want(t, 409, "session.already_finished")
	// The hosted page no longer serves it.
	if r := e.do("GET", strings.TrimPrefix(v.HostedURL, e.d.URL()), nil); r.status < 400 {
		t.Fatalf("hosted page of a cancelled session: %d", r.status)
	}
	done := e.vsession(tc.APIKey, `{"flow":"liveness"}`)
	e.do("POST", "/api/v1/session/"+done.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...).want(t, 200, "")
	e.do("POST", "/v1/sessions/"+done.SessionID+"/cancel", nil, bearer(tc.APIKey)...).want(t, 409, "session.already_finished")
	inProgress := e.vsession(tc.APIKey, `{"flow":"liveness"}`)
	if _, err := e.d.Sessions().Start(context.Background(), inProgress.SessionID); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/v1/sessions/"+inProgress.SessionID+"/cancel", nil, bearer(tc.APIKey)...).want(t, 200, "")
	expired := e.vsession(tc.APIKey, `{"flow":"liveness"}`)
	e.clk.Advance(e.d.Sessions().TTL())
	e.do("POST", "/v1/sessions/"+expired.SessionID+"/cancel", nil, bearer(tc.APIKey)...).want(t, 409, "session.already_finished")
}

func testVerificationReport(t *testing.T, vs vstore) {
	e := vs.start(t)
	tc := e.tenant("test")
	v := e.vsession(tc.APIKey, `{"flow":"liveness","reference":"signup_7","metadata":{"order":7},
		"subject":{"firstName":"Grace","lastName":"Hopper","idNumber":"X1","dateOfBirth":"1906-12-09"}}`)
	var rep api.VerificationReport
	e.do("GET", "/v1/sessions/"+v.SessionID+"/report", nil, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &rep)
	if rep.Status != "pending" || rep.Decision != nil || rep.StartedAt != nil || rep.EndedAt != nil || rep.Attempts != 0 ||
		len(rep.Checks) != 1 || rep.Checks[0].Status != nil || rep.Checks[0].Score != nil || rep.Reference != "signup_7" ||
		string(rep.Metadata) != `{"order":7}` || rep.Subject == nil || *rep.Subject != (api.VerificationSubject{FirstName: "Grace", LastName: "Hopper", IDNumber: "X1", DateOfBirth: "1906-12-09"}) {
		t.Fatalf("pending report %+v", rep)
	}
	if !bytes.Contains(e.do("GET", "/v1/sessions/"+v.SessionID+"/report", nil, bearer(tc.APIKey)...).body, []byte(`"consent":null`)) {
		t.Fatal("a report before consent does not show consent null")
	}
	// The consent the hosted page records (POST /s/{id}/consent, tested
	// with the page in internal/web and internal/capture/mount).
	consented := e.clk.Now().UTC()
	if _, err := e.d.Sessions().RecordConsent(context.Background(), v.SessionID, core.Consent{Language: "fr", Text: "Texte\n\nJ'accepte",
		TextSHA256: "ab12", PolicyURL: "https://acme.example/privacy"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.Sessions().Start(context.Background(), v.SessionID); err != nil {
		t.Fatal(err)
	}
	started := e.clk.Now().UTC()
	e.clk.Advance(5_000_000_000)
	e.do("POST", "/api/v1/session/"+v.SessionID+"/simulate", `{"verdict":"fail"}`, bearer(tc.APIKey)...).want(t, 200, "")
	e.do("GET", "/v1/sessions/"+v.SessionID+"/report", nil, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &rep)
	lc := rep.Checks[0]
	if rep.Status != "completed" || rep.Decision == nil || *rep.Decision != "declined" || !slices.Equal(rep.DecisionReasons, []string{"liveness_fail"}) ||
		rep.StartedAt == nil || !rep.StartedAt.Equal(started) || rep.CompletedAt == nil || !rep.CompletedAt.Equal(started.Add(5_000_000_000)) ||
		rep.EndedAt == nil || !rep.EndedAt.Equal(*rep.CompletedAt) || rep.Attempts != 1 || !rep.Simulated || !rep.Test {
		t.Fatalf("report %+v", rep)
	}
	if lc.Type != "liveness" || lc.Status == nil || *lc.Status != "fail" || lc.Score == nil || *lc.Score != 0.12 || lc.Mode != "active" ||
		len(lc.Layers) != 7 || lc.Layers[0].Name != "challenges" || !slices.Equal(lc.Reasons, []string{"planar_motion", "spoof_suspected"}) ||
		lc.Captures == nil {
		t.Fatalf("liveness check %+v", lc)
	}
	if c := rep.Consent; c == nil || !c.GivenAt.Equal(consented) || c.Language != "fr" || c.Text != "Texte\n\nJ'accepte" || c.TextSHA256 != "ab12" ||
		c.PolicyURL == nil || *c.PolicyURL != "https://acme.example/privacy" {
		t.Fatalf("report consent %+v", rep.Consent)
	}
	// A finished session takes no consent.
	if _, err := e.d.Sessions().RecordConsent(context.Background(), v.SessionID, core.Consent{Language: "en"}); err == nil {
		t.Fatal("consent recorded on a completed session")
	}
	// Sessions of the other routes read as flow liveness, without a subject.
	ms := e.session(tc.APIKey, map[string]string{"mode": "passive"})
	rep = api.VerificationReport{}
	e.do("GET", "/v1/sessions/"+ms.SessionID+"/report", nil, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &rep)
	if rep.Flow != "liveness" || rep.Subject != nil || rep.Checks[0].Mode != "passive" {
		t.Fatalf("managed session's report %+v", rep)
	}
}

func testVerificationScopes(t *testing.T, vs vstore) {
	e := vs.start(t)
	var ro api.TenantCreated
	e.do("POST", "/admin/v1/tenants", `{"name":"RO","mode":"test","scopes":["sessions:read"]}`, bearer(adminToken)...).want(t, 201, "").decode(t, &ro)
	if !slices.Equal(ro.Scopes, []string{"sessions:read"}) {
		t.Fatalf("created scopes %v", ro.Scopes)
	}
	r := e.do("POST", "/v1/sessions", `{"flow":"liveness"}`, bearer(ro.APIKey)...).want(t, 403, "auth.insufficient_scope")
	if !strings.Contains(r.message(t), "sessions:write") {
		t.Fatalf("message %q", r.message(t))
	}
	// A write-only key made by rotation (the read key stays for an hour).
	var rot api.KeyRotated
	e.do("POST", "/admin/v1/tenants/"+ro.TenantID+"/keys/rotate", `{"grace_period_seconds":3600,"scopes":["sessions:write"]}`, bearer(adminToken)...).
		want(t, 201, "").decode(t, &rot)
	if !slices.Equal(rot.Scopes, []string{"sessions:write"}) {
		t.Fatalf("rotated scopes %v", rot.Scopes)
	}
	v := e.vsession(rot.APIKey, `{"flow":"liveness"}`)
	cases := []struct {
		key, method, path string
		status            int
		code              string
	}{
		{ro.APIKey, "GET", "/v1/sessions/" + v.SessionID, 200, ""},
		{ro.APIKey, "GET", "/v1/sessions/" + v.SessionID + "/report", 200, ""},
		{ro.APIKey, "POST", "/v1/sessions/" + v.SessionID + "/cancel", 403, "auth.insufficient_scope"},
		{rot.APIKey, "GET", "/v1/sessions/" + v.SessionID, 403, "auth.insufficient_scope"},
		{rot.APIKey, "GET", "/v1/sessions/" + v.SessionID + "/report", 403, "auth.insufficient_scope"},
		{rot.APIKey, "GET", "/v1/sessions/ses_missing", 403, "auth.insufficient_scope"}, // scope before lookup
		{rot.APIKey, "POST", "/v1/sessions/" + v.SessionID + "/cancel", 200, ""},
	}
	for _, c := range cases {
		e.do(c.method, c.path, nil, bearer(c.key)...).want(t, c.status, c.code)
	}
	var kl api.KeyList
	e.do("GET", "/admin/v1/tenants/"+ro.TenantID+"/keys", nil, bearer(adminToken)...).want(t, 200, "").decode(t, &kl)
	got := map[string][]string{}
	for _, k := range kl.Keys {
		got[k.KeyID] = k.Scopes
	}
	if !slices.Equal(got[ro.KeyID], []string{"sessions:read"}) || !slices.Equal(got[rot.KeyID], []string{"sessions:write"}) {
		t.Fatalf("key scopes %v", got)
	}
	// Keys made without a list have every scope, and rotation without one
	// makes such a key.
	all := e.tenant("test")
	if !slices.Equal(all.Scopes, []string{"sessions:read", "sessions:write", "ephemeral_devices:write", "galleries:read", "galleries:write"}) {
		t.Fatalf("default scopes %v", all.Scopes)
	}
	w := e.vsession(all.APIKey, `{"flow":"liveness"}`)
	e.vget(all.APIKey, w.SessionID)
	e.do("POST", "/admin/v1/tenants/"+all.TenantID+"/keys/rotate", nil, bearer(adminToken)...).want(t, 201, "").decode(t, &rot)
	if !slices.Equal(rot.Scopes, []string{"sessions:read", "sessions:write", "ephemeral_devices:write", "galleries:read", "galleries:write"}) {
		t.Fatalf("rotated default scopes %v", rot.Scopes)
	}
	for _, bad := range []string{`{"scopes":[]}`, `{"scopes":["admin"]}`, `{"scopes":["sessions:read","sessions:read"]}`, `{"scopes":"sessions:read"}`} {
		e.do("POST", "/admin/v1/tenants/"+all.TenantID+"/keys/rotate", bad, bearer(adminToken)...).want(t, 400, "request.invalid_field")
		e.do("POST", "/admin/v1/tenants", `{"name":"X","mode":"test",`+strings.TrimPrefix(bad, "{"), bearer(adminToken)...).want(t, 400, "request.invalid_field")
	}
	// The other session routes check the same scopes; a session token
	// needs none.
	fresh := e.tenant("test")
	sc := e.session(fresh.APIKey, nil)
	read, write := ro.APIKey, ""
	e.do("POST", "/admin/v1/tenants/"+ro.TenantID+"/keys/rotate", `{"grace_period_seconds":3600,"scopes":["sessions:write"]}`, bearer(adminToken)...).
		want(t, 201, "").decode(t, &rot)
	write = rot.APIKey
	own := e.session(write, nil)
	others := []struct {
		key, method, path, body string
		status                  int
		code                    string
	}{
		{read, "POST", "/api/v1/managed-session", "", 403, "auth.insufficient_scope"},
		{read, "POST", "/v1/liveness/sessions", "", 403, "auth.insufficient_scope"},
		{read, "GET", "/api/v1/session/" + own.SessionID + "/result", "", 200, ""},
		{read, "GET", "/v1/liveness/sessions/" + own.SessionID, "", 200, ""},
		{read, "POST", "/api/v1/session/" + own.SessionID + "/simulate", `{"verdict":"pass"}`, 403, "auth.insufficient_scope"},
		{read, "POST", "/api/v1/session/" + own.SessionID + "/cancel", "", 403, "auth.insufficient_scope"},
		{write, "GET", "/api/v1/session/" + own.SessionID + "/result", "", 403, "auth.insufficient_scope"},
		{write, "GET", "/api/v1/session/" + own.SessionID + "/photo", "", 403, "auth.insufficient_scope"},
		{write, "GET", "/v1/liveness/sessions/" + own.SessionID, "", 403, "auth.insufficient_scope"},
		{"", "GET", "/api/v1/session/" + own.SessionID + "/result?token=" + own.Token, "", 200, ""},
		{write, "POST", "/api/v1/session/" + own.SessionID + "/simulate", `{"verdict":"pass"}`, 200, ""},
		{fresh.APIKey, "GET", "/api/v1/session/" + sc.SessionID + "/result", "", 200, ""},
		{fresh.APIKey, "POST", "/api/v1/session/" + sc.SessionID + "/cancel", "", 200, ""},
	}
	for _, c := range others {
		var hdr []string
		if c.key != "" {
			hdr = bearer(c.key)
		}
		var body any
		if c.body != "" {
			body = c.body
		}
		e.do(c.method, c.path, body, hdr...).want(t, c.status, c.code)
	}
}

func testVerificationWebhooks(t *testing.T, vs vstore) {
	e := vs.start(t)
	tc := e.tenant("test")
	rcv := newReceiver(t)
	v := e.vsession(tc.APIKey, map[string]any{"flow": "liveness", "reference": "signup_9", "metadata": map[string]int{"order": 9},
		"webhookUrl": rcv.url(), "subject": map[string]string{"firstName": "Hedy", "lastName": "Lamarr"}})
	if _, err := e.d.Sessions().Start(context.Background(), v.SessionID); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/api/v1/session/"+v.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...).want(t, 200, "")
	for _, want := range []struct{ typ, status, decision string }{
		{"session.in_progress", "in_progress", "null"}, {"session.completed", "completed", `"approved"`}} {
		d := rcv.next(t)
		if err := webhook.Verify(d.header.Get("Livegate-Signature"), d.body, []byte(tc.WebhookSecret), 0, e.clk.Now()); err != nil {
			t.Fatalf("signature: %v", err)
		}
		ev := d.event(t)
		if ev.Type != want.typ || d.header.Get("Livegate-Event-Type") != want.typ {
			t.Fatalf("event %s, want %s", ev.Type, want.typ)
		}
		wantKeys := append(slices.Clone(seedFields), "metadata", "reference")
		sort.Strings(wantKeys)
		if got := keysOf(t, ev.Data); !slices.Equal(got, wantKeys) {
			t.Fatalf("data fields %v, want %v", got, wantKeys)
		}
		var data map[string]json.RawMessage
		json.Unmarshal(ev.Data, &data)
		if string(data["sessionId"]) != `"`+v.SessionID+`"` || string(data["status"]) != `"`+want.status+`"` ||
			string(data["decision"]) != want.decision || string(data["clientToken"]) != "null" ||
			string(data["reference"]) != `"signup_9"` || string(data["metadata"]) != `{"order":9}` {
			t.Fatalf("data %s", ev.Data)
		}
		if bytes.Contains(d.body, []byte("Hedy")) || bytes.Contains(d.body, []byte("lgct_")) {
			t.Fatalf("webhook carries the subject or a token: %s", d.body)
		}
	}
	c := e.vsession(tc.APIKey, map[string]any{"flow": "liveness", "webhookUrl": rcv.url()})
	e.do("POST", "/v1/sessions/"+c.SessionID+"/cancel", nil, bearer(tc.APIKey)...).want(t, 200, "")
	if ev := rcv.next(t).event(t); ev.Type != "session.cancelled" || !bytes.Contains(ev.Data, []byte(`"status":"cancelled"`)) {
		t.Fatalf("cancel event %s %s", ev.Type, ev.Data)
	}
	// Sessions of the other routes keep their own shape.
	ms := e.session(tc.APIKey, map[string]string{"webhook_url": rcv.url()})
	e.do("POST", "/api/v1/session/"+ms.SessionID+"/cancel", nil, bearer(tc.APIKey)...).want(t, 200, "")
	if ev := rcv.next(t).event(t); !bytes.Contains(ev.Data, []byte(`"session_id":"`+ms.SessionID)) {
		t.Fatalf("managed session event %s", ev.Data)
	}
}

func testVerificationSealed(t *testing.T, vs vstore) {
	var opts daemon.Options
	e := vs.start(t, func(o *daemon.Options) { opts = *o })
	tc := e.tenant("test")
	rcv := newReceiver(t)
	const first, last, idn, ref = "Zebedee", "Quixotic-Marchbanks", "ZQ998877", "reference_sealed_check"
	body := map[string]any{"flow": "liveness", "reference": ref, "webhookUrl": rcv.url(),
		"subject": map[string]string{"firstName": first, "lastName": last, "idNumber": idn, "dateOfBirth": "1971-02-03"}}
	v := e.vsession(tc.APIKey, body)
	// Idempotent and plain creations, a completion and its webhook: every
	// path that writes the session.
	e.do("POST", "/v1/sessions", body, append(bearer(tc.APIKey), "Idempotency-Key", "k1")...).want(t, 201, "")
	e.do("POST", "/v1/sessions", body, append(bearer(tc.APIKey), "Idempotency-Key", "k1")...).want(t, 201, "")
	e.do("POST", "/api/v1/session/"+v.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...).want(t, 200, "")
	rcv.next(t)
	var rep api.VerificationReport
	e.do("GET", "/v1/sessions/"+v.SessionID+"/report", nil, bearer(tc.APIKey)...).want(t, 200, "").decode(t, &rep)
	if rep.Subject == nil || rep.Subject.LastName != last {
		t.Fatalf("report subject %+v", rep.Subject)
	}
	raw := vs.raw(t, opts)
	found := func(s string) bool {
		return bytes.Contains(raw, []byte(s)) || bytes.Contains(raw, []byte(hex.EncodeToString([]byte(s))))
	}
	if !found(ref) || !found(v.SessionID) {
		t.Fatal("the raw store does not show the session's reference: the check reads the wrong data")
	}
	for _, s := range []string{first, last, idn, "1971-02-03"} {
		if found(s) {
			t.Errorf("the store holds %q in clear", s)
		}
	}
}

// TestVerificationMatchesSchemas checks the verification routes' answers,
// success and error, and their webhook against the OpenAPI document.
func TestVerificationMatchesSchemas(t *testing.T) {
	e := startWith(nil)(t)
	doc, err := openapi3.NewLoader().LoadFromData(e.do("GET", "/openapi.json", nil).body)
	if err != nil {
		t.Fatal(err)
	}
	check := func(method, path string, r resp) {
		t.Helper()
		op := doc.Paths.Find(path).GetOperation(method)
		ref := op.Responses.Status(r.status)
		if ref == nil {
			t.Fatalf("%s %s: status %d is not documented", method, path, r.status)
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		if err := ref.Value.Content.Get("application/json").Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Fatalf("%s %s %d: body does not match its schema: %v\n%s", method, path, r.status, err, r.body)
		}
		if r.status >= 400 {
			var env struct {
				Detail struct{ Code string } `json:"detail"`
			}
			json.Unmarshal(r.body, &env)
			codes, _ := ref.Value.Extensions["x-error-codes"].([]any)
			if !slices.Contains(codes, any(env.Detail.Code)) {
				t.Fatalf("%s %s %d: code %s is not documented on the response (%v)", method, path, r.status, env.Detail.Code, codes)
			}
		}
	}
	tc := e.tenant("test")
	key := bearer(tc.APIKey)
	r := e.do("POST", "/v1/sessions", `{"flow":"liveness","reference":"r","subject":{"firstName":"A","lastName":"B"},"metadata":{"a":1}}`, key...)
	check("POST", "/v1/sessions", r)
	var v lifecycle.Verification
	r.decode(t, &v)
	id := v.SessionID
	check("GET", "/v1/sessions/{id}", e.do("GET", "/v1/sessions/"+id, nil, key...))
	check("GET", "/v1/sessions/{id}/report", e.do("GET", "/v1/sessions/"+id+"/report", nil, key...))
	if _, err := e.d.Sessions().RecordConsent(context.Background(), id, core.Consent{Language: "en", Text: "t", TextSHA256: "00"}); err != nil {
		t.Fatal(err)
	}
	check("GET", "/v1/sessions/{id}/report", e.do("GET", "/v1/sessions/"+id+"/report", nil, key...))
	e.do("POST", "/api/v1/session/"+id+"/simulate", `{"verdict":"retry"}`, key...).want(t, 200, "")
	check("GET", "/v1/sessions/{id}", e.do("GET", "/v1/sessions/"+id, nil, key...))
	check("GET", "/v1/sessions/{id}/report", e.do("GET", "/v1/sessions/"+id+"/report", nil, key...))
	check("POST", "/v1/sessions/{id}/cancel", e.do("POST", "/v1/sessions/"+id+"/cancel", nil, key...))
	c := e.vsession(tc.APIKey, `{"flow":"liveness"}`)
	check("POST", "/v1/sessions/{id}/cancel", e.do("POST", "/v1/sessions/"+c.SessionID+"/cancel", nil, key...))
	// Errors.
	check("POST", "/v1/sessions", e.do("POST", "/v1/sessions", `{"flow":"liveness+facematch"}`, key...))
	check("POST", "/v1/sessions", e.do("POST", "/v1/sessions", `{}`, key...))
	check("POST", "/v1/sessions", e.do("POST", "/v1/sessions", `{"flow":"liveness"}`, bearer(legacyKey)...))
	check("POST", "/v1/sessions", e.do("POST", "/v1/sessions", `{"flow":"liveness","redirectUrl":"https://10.0.0.1/"}`, key...))
	check("GET", "/v1/sessions/{id}", e.do("GET", "/v1/sessions/ses_nope", nil, key...))
	check("GET", "/v1/sessions/{id}/report", e.do("GET", "/v1/sessions/"+id+"/report", nil))
	var ro api.TenantCreated
	e.do("POST", "/admin/v1/tenants", `{"name":"RO","mode":"test","scopes":["sessions:read"]}`, bearer(adminToken)...).want(t, 201, "").decode(t, &ro)
	check("POST", "/v1/sessions", e.do("POST", "/v1/sessions", `{"flow":"liveness"}`, bearer(ro.APIKey)...))
	check("POST", "/admin/v1/tenants/{id}/keys/rotate", e.do("POST", "/admin/v1/tenants/"+ro.TenantID+"/keys/rotate", `{"scopes":["sessions:write"]}`, bearer(adminToken)...))
	check("GET", "/admin/v1/tenants/{id}/keys", e.do("GET", "/admin/v1/tenants/"+ro.TenantID+"/keys", nil, bearer(adminToken)...))

	// The webhooks match the documented verification event.
	rcv := newReceiver(t)
	w := e.vsession(tc.APIKey, map[string]any{"flow": "liveness", "webhookUrl": rcv.url(), "reference": "r", "metadata": map[string]int{"a": 1}})
	if _, err := e.d.Sessions().Start(context.Background(), w.SessionID); err != nil {
		t.Fatal(err)
	}
	e.do("POST", "/api/v1/session/"+w.SessionID+"/simulate", `{"verdict":"fail"}`, key...).want(t, 200, "")
	schema := doc.Webhooks["verification_session_event"].Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	for range 2 {
		var ev any
		if err := json.Unmarshal(rcv.next(t).body, &ev); err != nil {
			t.Fatal(err)
		}
		if err := schema.VisitJSON(ev, openapi3.EnableJSONSchema2020()); err != nil {
			t.Fatalf("webhook body does not match the documented verification event: %v\n%v", err, ev)
		}
	}
}

// TestVerificationSubjectAcrossRestartAndReplicas: the tenant's data key is
// kept (sealed) in the store, so a restarted server, and another replica
// sharing the master key, open the subject of a session created before.
func TestVerificationSubjectAcrossRestartAndReplicas(t *testing.T) {
	report := func(e *env, key, id string) api.VerificationReport {
		t.Helper()
		var rep api.VerificationReport
		e.do("GET", "/v1/sessions/"+id+"/report", nil, bearer(key)...).want(t, 200, "").decode(t, &rep)
		return rep
	}
	body := `{"flow":"liveness","subject":{"firstName":"Mary","lastName":"Somerville"}}`
	t.Run("bbolt restart", func(t *testing.T) {
		dir := t.TempDir()
		a := startWith(nil)(t, func(o *daemon.Options) { o.DataDir = dir })
		tc := a.tenant("test")
		v := a.vsession(tc.APIKey, body)
		ctx, cancel := contextWithTimeout()
		defer cancel()
		if err := a.d.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		b := startWith(nil)(t, func(o *daemon.Options) { o.DataDir = dir })
		if s := report(b, tc.APIKey, v.SessionID).Subject; s == nil || s.LastName != "Somerville" {
			t.Fatalf("subject after restart %+v", s)
		}
		// A second session after the restart uses the same key.
		w := b.vsession(tc.APIKey, body)
		if s := report(b, tc.APIKey, w.SessionID).Subject; s == nil || s.FirstName != "Mary" {
			t.Fatalf("subject %+v", s)
		}
	})
	t.Run("two PostgreSQL replicas", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts a PostgreSQL server")
		}
		dsn, err := postgresServer(t).NewDatabase("verification_replicas")
		if err != nil {
			t.Fatal(err)
		}
		const master = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
		shared := func(t testing.TB, o *daemon.Options) {
			// Replicas share the public URL, as behind one load balancer.
			o.Store, o.PostgresDSN, o.MasterKeyHex, o.PublicURL = daemon.StorePostgres, dsn, master, "https://verify.example.com"
		}
		a := startWith(shared)(t)
		b := startWith(shared)(t, func(o *daemon.Options) { o.Clock = a.clk })
		tc := a.tenant("test")
		// A makes the tenant's data key with its first session; B finds it
		// in the store, and each opens the other's sessions.
		va, vb := a.vsession(tc.APIKey, body), b.vsession(tc.APIKey, body)
		for _, c := range []struct {
			e  *env
			id string
		}{{a, vb.SessionID}, {b, va.SessionID}, {a, va.SessionID}, {b, vb.SessionID}} {
			if s := report(c.e, tc.APIKey, c.id).Subject; s == nil || s.LastName != "Somerville" {
				t.Fatalf("subject of %s %+v", c.id, s)
			}
		}
		// Idempotent replays on either replica compare the same digest.
		idem := append(bearer(tc.APIKey), "Idempotency-Key", "same")
		r1 := a.do("POST", "/v1/sessions", body, idem...).want(t, 201, "")
		r2 := b.do("POST", "/v1/sessions", body, idem...).want(t, 201, "")
		if !bytes.Equal(r1.body, r2.body) || r2.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay on the other replica:\n%s\n%s", r1.body, r2.body)
		}
	})
}
