package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/receipt"
	"livegate.dev/cloud/internal/store"
)

var deletionSuite = []struct {
	name string
	fn   func(t *testing.T, start starter)
}{
	{"RedactEverySurface", testRedactSurfaces},
	{"RedactScopesAndRefusals", testRedactScopes},
	{"RetentionSweep", testRetentionSweep},
	{"MatchesOpenAPI", testDeletionSchemas},
}

func TestDeletionBolt(t *testing.T) {
	for _, tc := range deletionSuite {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, startWith(nil)) })
	}
}

func TestDeletionPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	dsn, err := postgresServer(t).NewDatabase("deletion")
	if err != nil {
		t.Fatal(err)
	}
	start := startPostgres(dsn, "d")
	for _, tc := range deletionSuite {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, start) })
	}
}

// testDeletionSchemas: the answers of the deletion routes, errors
// included, and the session.redacted event match the OpenAPI document.
func testDeletionSchemas(t *testing.T, start starter) {
	e := start(t)
	check := schemaChecker(t, e)
	rcv := newReceiver(t)
	tc := e.tenant("test")
	key := bearer(tc.APIKey)
	sc := e.session(tc.APIKey, map[string]any{"user_id": "u", "mode": "passive", "webhook_url": rcv.url()})
	check("POST", "/api/v1/session/{id}/redact", e.do("POST", "/api/v1/session/"+sc.SessionID+"/redact", "", key...))
	check("POST", "/api/v1/session/{id}/redact", e.do("POST", "/api/v1/session/"+sc.SessionID+"/redact", `{"scope":"x"}`, key...))
	check("POST", "/api/v1/session/{id}/redact", e.do("POST", "/api/v1/session/ses_nope/redact", "", key...))
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", `{"verdict":"pass"}`, key...).want(t, 200, "")
	r := e.do("POST", "/api/v1/session/"+sc.SessionID+"/redact", `{"scope":"biometrics","reason":"ticket 1"}`, key...)
	check("POST", "/api/v1/session/{id}/redact", r.want(t, 200, ""))
	var rec core.DeletionReceipt
	r.decode(t, &rec)
	check("POST", "/v1/liveness/sessions/{id}/redact", e.do("POST", "/v1/liveness/sessions/"+sc.SessionID+"/redact", "", key...).want(t, 200, ""))
	check("POST", "/api/v1/session/{id}/redact", e.do("POST", "/api/v1/session/"+sc.SessionID+"/redact", "", key...).want(t, 200, ""))
	check("POST", "/v1/liveness/sessions/{id}/redact", e.do("POST", "/v1/liveness/sessions/ses_nope/redact", "", key...).want(t, 404, "session.not_found"))

	v := e.vsession(tc.APIKey, map[string]any{"flow": "liveness", "reference": "r"})
	check("POST", "/v1/sessions/{id}/redact", e.do("POST", "/v1/sessions/"+v.SessionID+"/redact", "", key...).want(t, 409, "session.not_finished"))
	check("POST", "/v1/sessions/{id}/redact", e.do("POST", "/v1/sessions/"+v.SessionID+"/redact", "", bearer(legacyKey)...))
	e.do("POST", "/api/v1/session/"+v.SessionID+"/simulate", `{"verdict":"retry"}`, key...).want(t, 200, "")
	check("POST", "/v1/sessions/{id}/redact", e.do("POST", "/v1/sessions/"+v.SessionID+"/redact", "", key...).want(t, 200, ""))

	dev := e.ephemeral(tc.APIKey, `{"ttl":3600}`)
	es := e.esession(dev.Authorization, "liveness", `{"metadata":{"externalUserId":"x"}}`)
	check("POST", "/api/sessions/{id}/redact", e.do("POST", "/api/sessions/"+es.SessionID+"/redact", "", raw(dev.Authorization)...).want(t, 409, "session.not_finished"))
	check("POST", "/api/sessions/{id}/redact", e.do("POST", "/api/sessions/"+es.SessionID+"/redact", "", raw(tc.APIKey)...))
	e.do("POST", "/api/v1/session/"+es.SessionID+"/cancel", "", key...).want(t, 200, "")
	check("POST", "/api/sessions/{id}/redact", e.do("POST", "/api/sessions/"+es.SessionID+"/redact", "", raw(dev.Authorization)...).want(t, 200, ""))

	check("GET", "/v1/deletion-receipts", e.do("GET", "/v1/deletion-receipts", nil, key...).want(t, 200, ""))
	check("GET", "/v1/deletion-receipts", e.do("GET", "/v1/deletion-receipts?limit=1", nil, key...).want(t, 200, ""))
	check("GET", "/v1/deletion-receipts", e.do("GET", "/v1/deletion-receipts?after=-1", nil, key...).want(t, 400, "request.invalid_query"))
	check("GET", "/v1/deletion-receipts", e.do("GET", "/v1/deletion-receipts", nil).want(t, 401, "auth.missing"))
	check("GET", "/v1/deletion-receipts/{id}", e.do("GET", "/v1/deletion-receipts/"+rec.ID, nil, key...).want(t, 200, ""))
	check("GET", "/v1/deletion-receipts/{id}", e.do("GET", "/v1/deletion-receipts/del_nope", nil, key...).want(t, 404, "deletion.receipt_not_found"))
	check("GET", "/v1/deletion-keys", e.do("GET", "/v1/deletion-keys", nil).want(t, 200, ""))
	sp := "/admin/v1/tenants/" + tc.TenantID + "/settings"
	check("PUT", "/admin/v1/tenants/{id}/settings", e.do("PUT", sp, `{"retention":{"biometric_days":7,"data_days":90}}`, bearer(adminToken)...).want(t, 200, ""))
	check("PUT", "/admin/v1/tenants/{id}/settings", e.do("PUT", sp, `{"retention":{"data_days":0}}`, bearer(adminToken)...).want(t, 400, "tenant.invalid_setting"))
	// The session.redacted event matches the documented webhook body.
	doc, err := openapi3.NewLoader().LoadFromData(e.do("GET", "/openapi.json", nil).body)
	if err != nil {
		t.Fatal(err)
	}
	for {
		d := rcv.next(t)
		if d.event(t).Type != core.EventSessionRedacted {
			continue
		}
		var body any
		if err := json.Unmarshal(d.body, &body); err != nil {
			t.Fatal(err)
		}
		schema := doc.Webhooks["session.redacted"].Post.RequestBody.Value.Content.Get("application/json").Schema.Value
		if err := schema.VisitJSON(body, openapi3.EnableJSONSchema2020()); err != nil {
			t.Fatalf("session.redacted does not match its documented body: %v\n%s", err, d.body)
		}
		// Either of the session's two redactions may be delivered first.
		if !strings.Contains(string(d.body), `"receipt_id":"del_`) || !strings.Contains(string(d.body), sc.SessionID) {
			t.Fatalf("session.redacted lacks its receipt: %s", d.body)
		}
		return
	}
}

// receiptKey fetches the receipt verification key the server publishes.
func (e *env) receiptKey() ed25519.PublicKey {
	e.t.Helper()
	var keys api.DeletionKeys
	e.do("GET", "/v1/deletion-keys", nil).want(e.t, 200, "").decode(e.t, &keys)
	if len(keys.Keys) != 1 || keys.Keys[0].Algorithm != "Ed25519" {
		e.t.Fatalf("keys %+v", keys)
	}
	pub, err := base64.RawURLEncoding.DecodeString(keys.Keys[0].PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize || receipt.KeyID(pub) != keys.Keys[0].KeyID {
		e.t.Fatalf("key %+v: %v", keys.Keys[0], err)
	}
	return pub
}

// redact calls a redact route and checks the receipt it answers.
func (e *env) redact(path, body string, hdr ...string) (*core.DeletionReceipt, []byte) {
	e.t.Helper()
	r := e.do("POST", path, body, hdr...).want(e.t, 200, "")
	var rec core.DeletionReceipt
	r.decode(e.t, &rec)
	if err := receipt.Verify(e.receiptKey(), &rec); err != nil {
		e.t.Fatalf("receipt %s does not verify: %v", r.body, err)
	}
	return &rec, r.body
}

// nextOfType waits for the next delivery of event type typ, skipping others.
func nextOfType(t *testing.T, rcv *receiver, typ string) event {
	t.Helper()
	for {
		ev := rcv.next(t).event(t)
		if ev.Type == typ {
			return ev
		}
	}
}

func testRedactSurfaces(t *testing.T, start starter) {
	e := start(t)
	rcv := newReceiver(t)
	tc := e.tenant("test")
	key := bearer(tc.APIKey)

	// Managed session (seed 000–002 surface): personal data, a photo, webhooks.
	sc := e.session(tc.APIKey, map[string]any{"user_id": "user_del_1", "mode": "passive", "webhook_url": rcv.url(),
		"metadata": map[string]any{"email": "ada@example.com"}})
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", `{"verdict":"pass"}`, key...).want(t, 200, "")
	if ev := nextOfType(t, rcv, "session.completed"); !strings.Contains(string(ev.Data), "ada@example.com") {
		t.Fatalf("completed event %s", ev.Data)
	}
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/photo", nil, key...).want(t, 200, "")
	rec, body := e.redact("/api/v1/session/"+sc.SessionID+"/redact", `{"reason":"erasure request #4411"}`, key...)
	if rec.SessionID != sc.SessionID || rec.TenantID != tc.TenantID || rec.By != tc.KeyID || rec.Scope != core.ScopeAll ||
		rec.Reason != "erasure request #4411" || rec.Status != core.StatusCompleted || rec.Verdict == nil || *rec.Verdict != core.VerdictPass ||
		rec.Seq != 1 || rec.PrevHash != receipt.Genesis || !e.clk.Now().Equal(rec.At) {
		t.Fatalf("receipt %s", body)
	}
	for _, want := range []string{core.DeletedPhoto, core.DeletedUserID, core.DeletedMetadata, core.DeletedWebhookData} {
		if !strings.Contains(string(body), `"`+want+`"`) {
			t.Fatalf("receipt does not list %s: %s", want, body)
		}
	}
	ev := nextOfType(t, rcv, "session.redacted")
	var red struct {
		SessionID string          `json:"session_id"`
		Verdict   string          `json:"verdict"`
		UserID    string          `json:"user_id"`
		Metadata  json.RawMessage `json:"metadata"`
		Redaction struct {
			ReceiptID string `json:"receipt_id"`
			Scope     string `json:"scope"`
		} `json:"redaction"`
	}
	if err := json.Unmarshal(ev.Data, &red); err != nil || red.SessionID != sc.SessionID || red.Verdict != "pass" || red.UserID != "" ||
		red.Metadata != nil || red.Redaction.ReceiptID != rec.ID || red.Redaction.Scope != "all" {
		t.Fatalf("redacted event %s (%v)", ev.Data, err)
	}
	// Idempotent: the same receipt, byte for byte, and no second event.
	e.clk.Advance(time.Minute)
	if _, again := e.redact("/api/v1/session/"+sc.SessionID+"/redact", `{"reason":"again"}`, key...); !bytes.Equal(again, body) {
		t.Fatalf("second redaction answered\n%s\nnot\n%s", again, body)
	}
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/photo", nil, key...).want(t, 404, "session.photo_unavailable")
	var res lifecycle.Result
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, key...).want(t, 200, "").decode(t, &res)
	if res.UserID != "" || res.Metadata != nil || res.Verdict == nil || *res.Verdict != core.VerdictPass || res.PhotoAvailable {
		t.Fatalf("tombstone %+v", res)
	}
	// The outbox keeps no personal data either.
	ds, err := e.d.Store().ListDeliveries(context.Background(), store.DeliveryFilter{SessionID: sc.SessionID})
	if err != nil || len(ds) < 2 {
		t.Fatalf("deliveries %d, %v", len(ds), err)
	}
	redactedEvents := 0
	for _, d := range ds {
		if bytes.Contains(d.Body, []byte("ada@example.com")) || bytes.Contains(d.Body, []byte("user_del_1")) {
			t.Fatalf("delivery %s %s still holds personal data: %s", d.ID, d.Type, d.Body)
		}
		if d.Type == core.EventSessionRedacted {
			redactedEvents++
		}
	}
	if redactedEvents != 1 {
		t.Fatalf("%d session.redacted events for one redaction asked twice", redactedEvents)
	}

	// Verification session (/v1/sessions): the camelCase event.
	v := e.vsession(tc.APIKey, map[string]any{"flow": "liveness", "reference": "signup_77", "webhookUrl": rcv.url(),
		"subject":  map[string]any{"firstName": "Ada", "lastName": "Lovelace"},
		"metadata": map[string]any{"externalUserId": "ext_del_2"}})
	e.do("POST", "/api/v1/session/"+v.SessionID+"/simulate", `{"verdict":"pass"}`, key...).want(t, 200, "")
	vrec, _ := e.redact("/v1/sessions/"+v.SessionID+"/redact", "", key...)
	if vrec.Seq != 2 || vrec.PrevHash != rec.Hash || !strings.Contains(strings.Join(vrec.Deleted, ","), core.DeletedSubject) {
		t.Fatalf("verification receipt %+v", vrec)
	}
	ev = nextOfType(t, rcv, "session.redacted")
	var vred struct {
		SessionID string `json:"sessionId"`
		Decision  string `json:"decision"`
		Reference string `json:"reference"`
		Redaction struct {
			ReceiptID string `json:"receiptId"`
			DeletedBy string `json:"deletedBy"`
		} `json:"redaction"`
	}
	if err := json.Unmarshal(ev.Data, &vred); err != nil || vred.SessionID != v.SessionID || vred.Decision != "approved" ||
		vred.Reference != "" || vred.Redaction.ReceiptID != vrec.ID || vred.Redaction.DeletedBy != tc.KeyID {
		t.Fatalf("verification redacted event %s (%v)", ev.Data, err)
	}
	var rep map[string]any
	e.do("GET", "/v1/sessions/"+v.SessionID+"/report", nil, key...).want(t, 200, "").decode(t, &rep)
	if s, _ := json.Marshal(rep); strings.Contains(string(s), "Lovelace") || strings.Contains(string(s), "signup_77") {
		t.Fatalf("report after redaction %s", s)
	}

	// Ephemeral device session (/api/sessions), with the device's token;
	// its external user is no longer found.
	dev := e.ephemeral(tc.APIKey, `{"ttl":3600}`)
	es := e.esession(dev.Authorization, "liveness", `{"metadata":{"externalUserId":"ext_del_3"}}`)
	var list api.SessionList
	e.do("GET", "/v1/sessions?externalUserId=ext_del_3", nil, key...).want(t, 200, "").decode(t, &list)
	if len(list.Sessions) != 1 {
		t.Fatalf("sessions of ext_del_3 before: %+v", list)
	}
	e.do("POST", "/api/sessions/"+es.SessionID+"/redact", "", raw(dev.Authorization)...).want(t, 409, "session.not_finished")
	e.do("POST", "/api/v1/session/"+es.SessionID+"/simulate", `{"verdict":"fail"}`, key...).want(t, 200, "")
	erec, _ := e.redact("/api/sessions/"+es.SessionID+"/redact", "", raw(dev.Authorization)...)
	if erec.By != dev.DeviceID || erec.Seq != 3 || erec.Verdict == nil || *erec.Verdict != core.VerdictFail {
		t.Fatalf("ephemeral receipt %+v", erec)
	}
	e.do("GET", "/v1/sessions?externalUserId=ext_del_3", nil, key...).want(t, 200, "").decode(t, &list)
	if len(list.Sessions) != 0 {
		t.Fatalf("sessions of ext_del_3 after: %+v", list)
	}

	// The trail: three receipts, chained, each fetchable.
	var trail api.DeletionReceiptList
	e.do("GET", "/v1/deletion-receipts", nil, key...).want(t, 200, "").decode(t, &trail)
	if len(trail.Receipts) != 3 || trail.NextAfter != nil {
		t.Fatalf("trail %+v", trail)
	}
	if err := receipt.VerifyChain(e.receiptKey(), nil, trail.Receipts); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/v1/deletion-receipts?after=1&limit=1", nil, key...).want(t, 200, "").decode(t, &trail)
	if len(trail.Receipts) != 1 || trail.Receipts[0].ID != vrec.ID || trail.NextAfter == nil || *trail.NextAfter != 2 {
		t.Fatalf("page %+v", trail)
	}
	e.do("GET", "/v1/deletion-receipts/"+erec.ID, nil, key...).want(t, 200, "")
	// Another tenant sees none of it.
	other := e.tenant("test")
	e.do("GET", "/v1/deletion-receipts/"+erec.ID, nil, bearer(other.APIKey)...).want(t, 404, "deletion.receipt_not_found")
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/redact", "", bearer(other.APIKey)...).want(t, 404, "session.not_found")
	e.do("POST", "/v1/sessions/"+v.SessionID+"/redact", "", bearer(other.APIKey)...).want(t, 404, "session.not_found")
	e.do("GET", "/v1/deletion-receipts", nil, bearer(other.APIKey)...).want(t, 200, "").decode(t, &trail)
	if len(trail.Receipts) != 0 {
		t.Fatalf("other tenant's trail %+v", trail)
	}
}

func testRedactScopes(t *testing.T, start starter) {
	e := start(t)
	tc := e.tenant("test")
	key := bearer(tc.APIKey)
	sc := e.session(tc.APIKey, map[string]any{"user_id": "user_scope", "mode": "passive"})
	path := "/api/v1/session/" + sc.SessionID + "/redact"
	for _, c := range []struct {
		name, body string
		hdr        []string
		status     int
		code       string
	}{
		{"pending", "", key, 409, "session.not_finished"},
		{"no key", "", nil, 401, "auth.missing"},
		{"bad scope", `{"scope":"everything"}`, key, 400, "request.invalid_field"},
		{"reason not ASCII", `{"reason":"Löschung"}`, key, 400, "request.invalid_field"},
		{"reason too long", `{"reason":"` + strings.Repeat("x", 201) + `"}`, key, 400, "request.invalid_field"},
		{"unknown field", `{"why":"x"}`, key, 400, "request.unknown_field"},
		{"missing session", "", key, 404, "session.not_found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := path
			if c.name == "missing session" {
				p = "/api/v1/session/ses_nope/redact"
			}
			e.with(t).do("POST", p, c.body, c.hdr...).want(t, c.status, c.code)
		})
	}
	readOnly := e.rotateKey(tc.TenantID, `{"grace_period_seconds":3600,"scopes":["sessions:read"]}`)
	e.do("POST", path, "", bearer(readOnly)...).want(t, 403, "auth.insufficient_scope")

	e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", `{"verdict":"pass"}`, key...).want(t, 200, "")
	bio, _ := e.redact(path, `{"scope":"biometrics"}`, key...)
	if bio.Scope != core.ScopeBiometrics || strings.Contains(strings.Join(bio.Deleted, ","), core.DeletedUserID) {
		t.Fatalf("biometrics receipt %+v", bio)
	}
	var res lifecycle.Result
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, key...).want(t, 200, "").decode(t, &res)
	if res.UserID != "user_scope" || res.PhotoAvailable {
		t.Fatalf("after biometrics %+v", res)
	}
	if again, _ := e.redact(path, `{"scope":"biometrics"}`, key...); again.ID != bio.ID {
		t.Fatalf("second biometrics redaction made %s", again.ID)
	}
	all, _ := e.redact(path, "", key...)
	if all.ID == bio.ID || all.Scope != core.ScopeAll || all.Seq != bio.Seq+1 {
		t.Fatalf("all after biometrics %+v", all)
	}
	// all covers biometrics.
	if again, _ := e.redact(path, `{"scope":"biometrics"}`, key...); again.ID != all.ID {
		t.Fatalf("biometrics after all made %s", again.ID)
	}
}

// rotateKey adds a key to tenant id with the rotate body and returns it.
func (e *env) rotateKey(id, body string) string {
	e.t.Helper()
	var k api.KeyRotated
	e.do("POST", "/admin/v1/tenants/"+id+"/keys/rotate", body, bearer(adminToken)...).want(e.t, 201, "").decode(e.t, &k)
	return k.APIKey
}

// noBackgroundRetention keeps the daemon's own retention pass from firing
// as the test moves the fake clock: the test runs the passes itself.
func noBackgroundRetention(o *daemon.Options) { o.RetentionInterval = 100 * 365 * 24 * time.Hour }

func testRetentionSweep(t *testing.T, start starter) {
	e := start(t, noBackgroundRetention)
	tc := e.tenant("test")
	key := bearer(tc.APIKey)
	sp := "/admin/v1/tenants/" + tc.TenantID + "/settings"
	e.do("PUT", sp, `{"retention":{"biometric_days":0}}`, bearer(adminToken)...).want(t, 400, "tenant.invalid_setting")
	e.do("PUT", sp, `{"retention":{"data_days":1096}}`, bearer(adminToken)...).want(t, 400, "tenant.invalid_setting")
	var tv api.TenantView
	e.do("GET", "/admin/v1/tenants/"+tc.TenantID, nil, bearer(adminToken)...).want(t, 200, "").decode(t, &tv)
	if tv.Settings.Retention != (api.RetentionView{BiometricDays: core.DefaultBiometricDays, DataDays: core.DefaultDataDays}) {
		t.Fatalf("default retention %+v", tv.Settings.Retention)
	}
	e.do("PUT", sp, `{"retention":{"biometric_days":1,"data_days":3}}`, bearer(adminToken)...).want(t, 200, "").decode(t, &tv)
	if tv.Settings.Retention != (api.RetentionView{BiometricDays: 1, DataDays: 3}) {
		t.Fatalf("retention %+v", tv.Settings.Retention)
	}
	// A tenant on the defaults keeps its data through the same days.
	keep := e.tenant("test")
	ks := e.session(keep.APIKey, map[string]any{"user_id": "kept", "mode": "passive"})
	e.do("POST", "/api/v1/session/"+ks.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(keep.APIKey)...).want(t, 200, "")

	sc := e.session(tc.APIKey, map[string]any{"user_id": "swept", "mode": "passive"})
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", `{"verdict":"pass"}`, key...).want(t, 200, "")
	sweep := func() int {
		t.Helper()
		n, err := e.d.Sessions().SweepRetention(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	sweep()
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/photo", nil, key...).want(t, 200, "")

	e.clk.Advance(24*time.Hour + time.Second)
	sweep()
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/photo", nil, key...).want(t, 404, "session.photo_unavailable")
	var res lifecycle.Result
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, key...).want(t, 200, "").decode(t, &res)
	if res.UserID != "swept" {
		t.Fatalf("personal data deleted with the biometrics: %+v", res)
	}
	e.clk.Advance(2 * 24 * time.Hour)
	sweep()
	res = lifecycle.Result{}
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, key...).want(t, 200, "").decode(t, &res)
	if res.UserID != "" || res.Verdict == nil || *res.Verdict != core.VerdictPass {
		t.Fatalf("after data_days %+v", res)
	}
	if n := sweep(); n != 0 {
		t.Fatalf("a sweep with nothing due redacted %d", n)
	}
	var trail api.DeletionReceiptList
	e.do("GET", "/v1/deletion-receipts", nil, key...).want(t, 200, "").decode(t, &trail)
	if len(trail.Receipts) != 2 || trail.Receipts[0].Scope != core.ScopeBiometrics || trail.Receipts[1].Scope != core.ScopeAll ||
		trail.Receipts[0].By != core.DeletedByRetention || trail.Receipts[1].Reason != "retention: data_days=3" {
		t.Fatalf("trail %+v", trail.Receipts)
	}
	if err := receipt.VerifyChain(e.receiptKey(), nil, trail.Receipts); err != nil {
		t.Fatal(err)
	}
	e.do("GET", "/api/v1/session/"+ks.SessionID+"/photo", nil, bearer(keep.APIKey)...).want(t, 200, "")
}

// TestRetentionRunsOnTheClock: the daemon's own retention pass runs every
// RetentionInterval of the service clock — nothing calls it here.
func TestRetentionRunsOnTheClock(t *testing.T) {
	e := startWith(nil)(t, func(o *daemon.Options) { o.RetentionInterval = time.Hour })
	tc := e.tenant("test")
	key := bearer(tc.APIKey)
	e.do("PUT", "/admin/v1/tenants/"+tc.TenantID+"/settings", `{"retention":{"biometric_days":1}}`, bearer(adminToken)...).want(t, 200, "")
	sc := e.session(tc.APIKey, map[string]any{"mode": "passive"})
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", `{"verdict":"pass"}`, key...).want(t, 200, "")
	e.clk.Advance(24*time.Hour + time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for e.do("GET", "/api/v1/session/"+sc.SessionID+"/photo", nil, key...).status == 200 {
		if time.Now().After(deadline) {
			t.Fatal("the retention pass did not run after its interval")
		}
		e.clk.Advance(time.Hour) // the pass waits on the clock from its last run
		time.Sleep(10 * time.Millisecond)
	}
	var trail api.DeletionReceiptList
	e.do("GET", "/v1/deletion-receipts", nil, key...).want(t, 200, "").decode(t, &trail)
	if len(trail.Receipts) != 1 || trail.Receipts[0].By != core.DeletedByRetention {
		t.Fatalf("trail %+v", trail.Receipts)
	}
}
