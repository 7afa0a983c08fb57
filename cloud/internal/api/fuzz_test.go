package api_test

import (
	"encoding/json"
	"testing"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/api/openapi"
)

// FuzzRequestBodies posts arbitrary bodies to every JSON-decoding route of a
// real server: the answer is a success or a 4xx envelope with a registered
// code — never a 5xx, never a non-envelope error.
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"user_id":"u1","mode":"passive"}`, `{"mode":"active","metadata":{"k":[1,{"x":null}]}}`,
		`{"redirect_url":"https://hooks.example.com/x"}`, `{"webhook_url":"http://127.0.0.1:1/x"}`,
		`{"redirect_url":"https://0x7f.1/"}`, `{"verdict":"pass","confidence":0.9}`, `{"verdict":"retry","confidence":-0}`,
		`{"name":"Acme","mode":"test"}`, `{"grace_period_seconds":3600}`, `{"grace_period_seconds":1e30}`,
		`{"user_id":"\ud800"}`, `{"metadata":"x"}`, `[]`, `null`, `{"a":}`, `{"user_id":"u"}{}`, "\x00", `{"confidence":1e400}`,
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(3))
	}
	e := startWith(nil)(f)
	tc := e.tenant("test")
	rotTenant := e.tenant("live")
	routes := []struct {
		method, path string
		hdr          []string
	}{
		{"POST", "/api/v1/managed-session", bearer(tc.APIKey)},
		{"POST", "/api/v1/session", nil},
		{"POST", "/v1/liveness/sessions", bearer(tc.APIKey)},
		{"POST", "/api/v1/session/{sim}/simulate", bearer(tc.APIKey)},
		{"POST", "/admin/v1/tenants", bearer(adminToken)},
		{"POST", "/admin/v1/tenants/" + rotTenant.TenantID + "/webhook-secret/rotate", bearer(adminToken)},
	}
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		e := e.with(t)
		rt := routes[int(which)%len(routes)]
		path := rt.path
		if path == "/api/v1/session/{sim}/simulate" {
			path = "/api/v1/session/" + e.session(tc.APIKey, nil).SessionID + "/simulate"
		}
		r := e.do(rt.method, path, body, rt.hdr...)
		if r.status < 400 {
			if !json.Valid(r.body) {
				t.Fatalf("%s: %d with invalid JSON body", path, r.status)
			}
			return
		}
		if r.status >= 500 {
			t.Fatalf("%s with %q: %d %s", path, body, r.status, r.body)
		}
		var env openapi.Envelope
		if err := json.Unmarshal(r.body, &env); err != nil {
			t.Fatalf("%s: error body is not the envelope: %s", path, r.body)
		}
		c, ok := apierr.Lookup(env.Detail.Code)
		if !ok || c.Status != r.status || env.Detail.Message == "" {
			t.Fatalf("%s: envelope %+v with status %d", path, env.Detail, r.status)
		}
	})
}
