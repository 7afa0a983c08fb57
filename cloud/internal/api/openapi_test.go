package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/lifecycle"
	"livegate.dev/cloud/internal/core"
)

func TestOpenAPIDocument(t *testing.T) {
	e := startWith(nil)(t)
	r := e.do("GET", "/openapi.json", nil).want(t, 200, "")

	// kin-openapi parses and validates it as OpenAPI 3.1.
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.body)
	if err != nil {
		t.Fatalf("loading: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
		t.Fatalf("validate: %v", err)
	}

	// Every route Fiber serves is documented, and every documented route is served.
	served := map[string]bool{}
	for _, rt := range e.d.Server().App().GetRoutes(true) {
		if rt.Method == http.MethodHead || rt.Method == "USE" {
			continue
		}
		p := rt.Path
		for _, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, ":") {
				p = strings.Replace(p, seg, "{"+seg[1:]+"}", 1)
			}
		}
		served[rt.Method+" "+p] = true
		item := doc.Paths.Find(p)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("route %s %s is not in the OpenAPI document", rt.Method, p)
		}
	}
	documented := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented++
			if !served[method+" "+path] {
				t.Errorf("documented %s %s is not served", method, path)
			}
			if op.Summary == "" || op.OperationID == "" {
				t.Errorf("%s %s lacks summary or operationId", method, path)
			}
			if op.Responses.Len() < 2 && path != "/healthz" {
				t.Errorf("%s %s documents %d responses", method, path, op.Responses.Len())
			}
		}
	}
	if documented < 20 {
		t.Fatalf("only %d operations documented", documented)
	}

	// Error codes: every code named by a response is registered, and the
	// ErrorCode enum lists the whole registry.
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	named := 0
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if codes, ok := x["x-error-codes"].([]any); ok {
				for _, c := range codes {
					named++
					if _, ok := apierr.Lookup(c.(string)); !ok {
						t.Errorf("response names unregistered code %v", c)
					}
				}
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(raw["paths"])
	if named == 0 {
		t.Fatal("no error codes documented on responses")
	}
	enum := doc.Components.Schemas["ErrorCode"].Value.Enum
	if len(enum) != len(apierr.Codes()) {
		t.Fatalf("ErrorCode enum has %d codes, registry %d", len(enum), len(apierr.Codes()))
	}

	// The rendered pages show every route and every code, without external assets.
	page := string(e.do("GET", "/docs/api", nil).want(t, 200, "").body)
	for path, item := range doc.Paths.Map() {
		if !strings.Contains(page, path) {
			t.Errorf("/docs/api does not show %s", path)
		}
		// Every operation has a try-it panel; a JSON body is prefilled from
		// the document's example.
		for method, op := range item.Operations() {
			if !strings.Contains(page, `<details class="try" id="try-`+op.OperationID+`">`) {
				t.Errorf("/docs/api has no try-it panel for %s %s", method, path)
			}
			if rb := op.RequestBody; rb != nil && rb.Value.Content.Get("application/json").Example == nil {
				t.Errorf("%s %s: the request body has no example", method, path)
			}
		}
	}
	codes := string(e.do("GET", "/docs/reference/error-codes", nil).want(t, 200, "").body)
	for _, c := range apierr.Codes() {
		if !strings.Contains(codes, `id="`+c.ID+`"`) || !strings.Contains(codes, http.StatusText(c.Status)) {
			t.Errorf("error-code page lacks %s (%d)", c.ID, c.Status)
		}
	}
	limits := string(e.do("GET", "/docs/reference/rate-limits", nil).want(t, 200, "").body)
	for _, p := range []string{page, codes, limits} {
		if strings.Contains(p, "<script src") || strings.Contains(p, `<link rel="stylesheet" href="http`) || strings.Contains(p, "cdn") ||
			strings.Contains(p, "<style>") || strings.Contains(p, "<script>") {
			t.Error("docs page loads external assets, or has a style or script without the CSP nonce")
		}
	}
}

// TestResponsesMatchSchemas checks real responses against the document's
// schemas (JSON Schema 2020-12), success and error alike.
func TestResponsesMatchSchemas(t *testing.T) {
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
		mt := ref.Value.Content.Get("application/json")
		if mt == nil {
			t.Fatalf("%s %s %d: no JSON schema", method, path, r.status)
		}
		var v any
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatal(err)
		}
		if err := mt.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Fatalf("%s %s %d: body does not match its schema: %v\n%s", method, path, r.status, err, r.body)
		}
	}
	tcr := e.do("POST", "/admin/v1/tenants", `{"name":"Acme","mode":"test"}`, bearer(adminToken)...)
	check("POST", "/admin/v1/tenants", tcr)
	var tc struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	tcr.decode(t, &tc)
	sr := e.do("POST", "/api/v1/managed-session", `{"user_id":"u","metadata":{"a":1}}`, bearer(tc.APIKey)...)
	check("POST", "/api/v1/managed-session", sr)
	var sc struct {
		SessionID string `json:"session_id"`
	}
	sr.decode(t, &sc)
	id := sc.SessionID
	check("GET", "/api/v1/session/{id}/result", e.do("GET", "/api/v1/session/"+id+"/result", nil, bearer(tc.APIKey)...))
	check("GET", "/api/v1/session/{id}/photo", e.do("GET", "/api/v1/session/"+id+"/photo", nil, bearer(tc.APIKey)...))
	check("GET", "/v1/liveness/sessions/{id}", e.do("GET", "/v1/liveness/sessions/"+id, nil, bearer(tc.APIKey)...))
	check("POST", "/api/v1/session/{id}/simulate", e.do("POST", "/api/v1/session/"+id+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...))
	check("GET", "/api/v1/session/{id}/result", e.do("GET", "/api/v1/session/"+id+"/result", nil, bearer(tc.APIKey)...))
	check("GET", "/v1/liveness/sessions/{id}", e.do("GET", "/v1/liveness/sessions/"+id, nil, bearer(tc.APIKey)...))
	check("POST", "/v1/liveness/sessions", e.do("POST", "/v1/liveness/sessions", `{"mode":"passive"}`, bearer(tc.APIKey)...))
	// A test-mode session with a fixed challenge list, on both surfaces.
	fixed := e.do("POST", "/api/v1/managed-session", `{"mode":"active","challenges":["blink","nod"]}`, bearer(tc.APIKey)...)
	check("POST", "/api/v1/managed-session", fixed)
	var fc struct {
		SessionID string `json:"session_id"`
	}
	fixed.decode(t, &fc)
	check("GET", "/api/v1/session/{id}/result", e.do("GET", "/api/v1/session/"+fc.SessionID+"/result", nil, bearer(tc.APIKey)...))
	check("GET", "/v1/liveness/sessions/{id}", e.do("GET", "/v1/liveness/sessions/"+fc.SessionID, nil, bearer(tc.APIKey)...))
	check("POST", "/v1/liveness/sessions", e.do("POST", "/v1/liveness/sessions", `{"challenges":["smile"]}`, bearer(tc.APIKey)...))
	check("POST", "/api/v1/session", e.do("POST", "/api/v1/session", nil))
	check("GET", "/admin/v1/tenants", e.do("GET", "/admin/v1/tenants", nil, bearer(adminToken)...))
	check("GET", "/admin/v1/tenants/{id}/keys", e.do("GET", "/admin/v1/tenants/"+tc.TenantID+"/keys", nil, bearer(adminToken)...))
	check("POST", "/admin/v1/tenants/{id}/keys/rotate", e.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/keys/rotate", `{"grace_period_seconds":60}`, bearer(adminToken)...))
	check("POST", "/admin/v1/tenants/{id}/webhook-secret/rotate", e.do("POST", "/admin/v1/tenants/"+tc.TenantID+"/webhook-secret/rotate", nil, bearer(adminToken)...))
	check("GET", "/admin/v1/deliveries", e.do("GET", "/admin/v1/deliveries", nil, bearer(adminToken)...))
	check("GET", "/healthz", e.do("GET", "/healthz", nil))
	// A webhook body matches the documented event.
	if len(doc.Webhooks) != 6 || doc.Webhooks["session.completed"] == nil || doc.Webhooks["session.in_progress"] == nil ||
		doc.Webhooks["session.redacted"] == nil ||
		doc.Webhooks["verification_session_event"] == nil {
		t.Fatalf("webhooks documented: %v", doc.Webhooks)
	}
	rcv := newReceiver(t)
	ws := e.session(tc.APIKey, map[string]string{"webhook_url": rcv.url()})
	e.do("POST", "/api/v1/session/"+ws.SessionID+"/simulate", `{"verdict":"retry"}`, bearer(tc.APIKey)...).want(t, 200, "")
	d := rcv.next(t)
	var ev any
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatal(err)
	}
	hook := doc.Webhooks["session.completed"].Post
	if err := hook.RequestBody.Value.Content.Get("application/json").Schema.Value.VisitJSON(ev, openapi3.EnableJSONSchema2020()); err != nil {
		t.Fatalf("webhook body does not match the documented event: %v\n%s", err, d.body)
	}
	for _, p := range hook.Parameters {
		if p.Value.Required && d.header.Get(p.Value.Name) == "" {
			t.Fatalf("webhook lacks documented header %s", p.Value.Name)
		}
	}

	// session.in_progress, and a result listing audit frames, match too.
	ip := e.session(tc.APIKey, map[string]string{"webhook_url": rcv.url()})
	if _, err := e.d.Sessions().Start(context.Background(), ip.SessionID); err != nil {
		t.Fatal(err)
	}
	d = rcv.next(t)
	if err := json.Unmarshal(d.body, &ev); err != nil {
		t.Fatal(err)
	}
	if err := doc.Webhooks["session.in_progress"].Post.RequestBody.Value.Content.Get("application/json").Schema.Value.VisitJSON(ev, openapi3.EnableJSONSchema2020()); err != nil {
		t.Fatalf("in_progress webhook body does not match the documented event: %v\n%s", err, d.body)
	}
	check("GET", "/api/v1/session/{id}/result", e.do("GET", "/api/v1/session/"+ip.SessionID+"/result", nil, bearer(tc.APIKey)...))
	now := e.clk.Now().UTC()
	if _, err := e.d.Sessions().Complete(context.Background(), ip.SessionID, lifecycle.Outcome{Confidence: 0.9, AuditFrames: []core.AuditFrame{
		{Index: 0, Why: "best", CapturedAt: now, Boxes: [][4]float64{{1, 2, 3, 4}}, ExpiresAt: now.Add(time.Hour)},
		{Index: 1, Why: "last", CapturedAt: now, Boxes: [][4]float64{}, ExpiresAt: now.Add(time.Hour)}}}); err != nil {
		t.Fatal(err)
	}
	rcv.next(t)
	check("GET", "/api/v1/session/{id}/result", e.do("GET", "/api/v1/session/"+ip.SessionID+"/result", nil, bearer(tc.APIKey)...))
	check("GET", "/v1/liveness/sessions/{id}", e.do("GET", "/v1/liveness/sessions/"+ip.SessionID, nil, bearer(tc.APIKey)...))

	// Errors: the documented envelope with a registered code.
	check("GET", "/api/v1/session/{id}/result", e.do("GET", "/api/v1/session/"+id+"/result", nil))
	check("POST", "/api/v1/managed-session", e.do("POST", "/api/v1/managed-session", `{"x":1}`, bearer(tc.APIKey)...))
	check("POST", "/api/v1/managed-session", e.do("POST", "/api/v1/managed-session", `{"webhook_url":"https://10.0.0.1/"}`, bearer(tc.APIKey)...))
	check("POST", "/api/v1/session/{id}/simulate", e.do("POST", "/api/v1/session/"+id+"/simulate", `{"verdict":"pass"}`, bearer(tc.APIKey)...))
	live := e.do("POST", "/admin/v1/tenants", `{"name":"Live","mode":"live"}`, bearer(adminToken)...)
	var lc struct {
		APIKey string `json:"api_key"`
	}
	live.decode(t, &lc)
	check("POST", "/api/v1/managed-session", e.do("POST", "/api/v1/managed-session", `{"challenges":["blink"]}`, bearer(lc.APIKey)...).want(t, 403, "auth.test_key_required"))
	check("POST", "/api/v1/managed-session", e.do("POST", "/api/v1/managed-session", `{"challenges":["wink"]}`, bearer(tc.APIKey)...).want(t, 400, "request.invalid_field"))
}
