package mount

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/pgtest"
)

// TestMountedConsent: a verification session's capture WebSocket is refused
// with 403 consent.required until the page has recorded the user's consent,
// then upgrades; the report shows the record (the tenant's text and policy
// link, the language, the hash, the time); a managed session's WebSocket
// does not require it. On bbolt and on PostgreSQL.
func TestMountedConsent(t *testing.T) {
	t.Run("bbolt", func(t *testing.T) {
		testMountedConsent(t, daemon.Options{})
	})
	t.Run("postgres", func(t *testing.T) {
		srv := pgtest.Start(t)
		testMountedConsent(t, daemon.Options{Store: daemon.StorePostgres, PostgresDSN: srv.DSN()})
	})
}

func testMountedConsent(t *testing.T, o daemon.Options) {
	md := startMounted(t, o, Options{})
	do, match := md.do, md.match
	d := md.d
	var tc struct{ TenantID, APIKey string }
	tc.TenantID, tc.APIKey = md.tenant("test")
	const text = "Acme films your face to check that you are present."
	if st, b := do("PUT", "/admin/v1/tenants/"+tc.TenantID+"/capture-page", "adm",
		`{"policy_url":"https://acme.example/privacy","messages":{"fr":{"consent.text":"`+text+`"}}}`); st != 200 || !strings.Contains(string(b), `"policy_url":"https://acme.example/privacy"`) {
		t.Fatalf("capture page: %d %s", st, b)
	}
	st, b := do("POST", "/v1/sessions", tc.APIKey, `{"flow":"liveness","mode":"passive"}`)
	var vs struct {
		SessionID   string `json:"sessionId"`
		ClientToken string `json:"clientToken"`
	}
	if json.Unmarshal(b, &vs); st != 201 {
		t.Fatalf("session: %d %s", st, b)
	}
	id, tok := vs.SessionID, url.QueryEscape(vs.ClientToken)
	report := func() map[string]any {
		t.Helper()
		st, b := do("GET", "/v1/sessions/"+id+"/report", tc.APIKey, "")
		var r map[string]any
		if err := json.Unmarshal(b, &r); st != 200 || err != nil {
			t.Fatalf("report: %d %s", st, b)
		}
		return r
	}
	if r := report(); r["consent"] != nil {
		t.Fatalf("consent before the user agreed: %v", r["consent"])
	}

	// Before consent: refused over HTTP and at the WebSocket handshake.
	ws := "ws://" + d.Addr().String() + "/api/v1/session/" + id + "/ws?token=" + tok
	if st, b := do("GET", "/api/v1/session/"+id+"/ws?token="+tok, "", ""); st != 403 || !strings.Contains(string(b), `"code":"consent.required"`) || !strings.Contains(string(b), `"request_id"`) {
		t.Fatalf("capture before consent over HTTP: %d %s", st, b)
	}
	if _, resp, err := websocket.DefaultDialer.Dial(ws, nil); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("WebSocket before consent: %v %v", err, resp)
	}

	// The page in French shows the tenant's text; its hash is recorded.
	st, b = do("GET", "/s/"+id+"?t="+tok+"&lang=fr", "", "")
	m := regexp.MustCompile(`"sha256":"([0-9a-f]{64})"`).FindSubmatch(b)
	if st != 200 || m == nil || !strings.Contains(string(b), text) {
		t.Fatalf("page: %d %.300s", st, b)
	}
	// The OpenAPI document describes the route; its answers match it.
	match("GET", "/api/v1/session/{id}/ws", 403, nil, "consent.required")
	st, b = do("POST", "/s/"+id+"/consent?t="+tok, "", `{"language":"fr","text_sha256":"`+strings.Repeat("0", 64)+`"}`)
	if st != 409 || !strings.Contains(string(b), `"code":"consent.text_changed"`) {
		t.Fatalf("consent to another text: %d %s", st, b)
	}
	match("POST", "/s/{id}/consent", st, b, "consent.text_changed")
	before := time.Now().UTC().Add(-time.Second)
	st, b = do("POST", "/s/"+id+"/consent?t="+tok, "", `{"language":"fr","text_sha256":"`+string(m[1])+`"}`)
	if st != 200 {
		t.Fatalf("consent: %d %s", st, b)
	}
	match("POST", "/s/{id}/consent", st, b, "")
	conn, _, err := websocket.DefaultDialer.Dial(ws, nil)
	if err != nil {
		t.Fatalf("WebSocket after consent: %v", err)
	}
	conn.Close()
	c, _ := report()["consent"].(map[string]any)
	if c == nil {
		t.Fatal("the report has no consent")
	}
	given, _ := time.Parse(time.RFC3339Nano, c["givenAt"].(string))
	txt, _ := c["text"].(string)
	if c["language"] != "fr" || c["textSha256"] != string(m[1]) || c["policyUrl"] != "https://acme.example/privacy" ||
		!strings.HasPrefix(txt, text+"\n\n") || given.Before(before) {
		t.Fatalf("report consent %v", c)
	}

	// A managed session's WebSocket keeps the seeds' protocol: no consent needed.
	st, b = do("POST", "/api/v1/managed-session", tc.APIKey, `{"mode":"passive"}`)
	var ms struct {
		SessionID   string `json:"session_id"`
		ClientToken string `json:"client_token"`
	}
	if json.Unmarshal(b, &ms); st != 201 || ms.ClientToken == "" {
		t.Fatalf("managed session: %d %s", st, b)
	}
	conn, _, err = websocket.DefaultDialer.Dial("ws://"+d.Addr().String()+"/api/v1/session/"+ms.SessionID+"/ws?token="+url.QueryEscape(ms.ClientToken), nil)
	if err != nil {
		t.Fatalf("managed session's WebSocket: %v", err)
	}
	conn.Close()
}
