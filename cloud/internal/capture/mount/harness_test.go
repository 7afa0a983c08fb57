package mount

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jackc/pgx/v5"

	"livegate.dev/cloud/internal/api/daemon"
)

// mounted is a real daemon serving these routes, for tests that go through
// HTTP and check the answers against the OpenAPI document.
type mounted struct {
	t    *testing.T
	d    *daemon.Daemon
	o    daemon.Options
	base string
	doc  *openapi3.T
}

// startMounted starts a daemon with o (its address, data directory, admin
// token "adm" and master key set here) and the routes of opts (DataDir and
// ModelSets 1 set here); it stops with the test.
func startMounted(t *testing.T, o daemon.Options, opts Options) *mounted {
	t.Helper()
	dir := t.TempDir()
	o.Addr, o.DataDir, o.AdminToken, o.MasterKeyHex = "127.0.0.1:0", dir, "adm", strings.Repeat("cd", 32)
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.DataDir, opts.ModelSets = dir, 1
	o.Routes = Routes(opts)
	d, err := daemon.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	return &mounted{t: t, d: d, o: o, base: "http://" + d.Addr().String()}
}

// do sends a request, with bearer as the Authorization bearer when set and
// body as JSON when set.
func (m *mounted) do(method, path, bearer, body string) (int, []byte) {
	m.t.Helper()
	st, b, _ := m.doHeader(method, path, bearer, body, nil)
	return st, b
}

// doHeader is do with more request headers, returning the response's.
func (m *mounted) doHeader(method, path, bearer, body string, hdr map[string]string) (int, []byte, http.Header) {
	m.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, m.base+path, r)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// tenant creates a tenant of mode ("test" or "live") and returns its id and
// API key.
func (m *mounted) tenant(mode string) (id, key string) {
	m.t.Helper()
	st, b := m.do("POST", "/admin/v1/tenants", "adm", `{"name":"acme","mode":"`+mode+`"}`)
	var tc struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	if json.Unmarshal(b, &tc); st != 201 || tc.APIKey == "" {
		m.t.Fatalf("tenant: %d %s", st, b)
	}
	return tc.TenantID, tc.APIKey
}

// consent records the user's consent on session id's hosted page (token
// tok, already query-escaped) as the page does: the text's hash read from
// the page in language lang.
func (m *mounted) consent(id, tok, lang string) (text string, sha string) {
	m.t.Helper()
	st, b := m.do("GET", "/s/"+id+"?t="+tok+"&lang="+lang, "", "")
	h := regexp.MustCompile(`"sha256":"([0-9a-f]{64})"`).FindSubmatch(b)
	if st != 200 || h == nil {
		m.t.Fatalf("page: %d %.300s", st, b)
	}
	if st, b := m.do("POST", "/s/"+id+"/consent?t="+tok, "", `{"language":"`+lang+`","text_sha256":"`+string(h[1])+`"}`); st != 200 {
		m.t.Fatalf("consent: %d %s", st, b)
	}
	return string(b), string(h[1])
}

// match checks an answer against the OpenAPI document the server serves:
// the route and status are documented, code (when set) is among the
// status's x-error-codes, and a JSON body fits the schema.
func (m *mounted) match(method, path string, st int, body []byte, code string) {
	m.t.Helper()
	if m.doc == nil {
		_, spec := m.do("GET", "/openapi.json", "", "")
		doc, err := openapi3.NewLoader().LoadFromData(spec)
		if err != nil {
			m.t.Fatal(err)
		}
		if err := doc.Validate(context.Background(), openapi3.EnableMultiError()); err != nil {
			m.t.Fatalf("OpenAPI document: %v", err)
		}
		m.doc = doc
	}
	op := m.doc.Paths.Find(path).GetOperation(method)
	if op == nil {
		m.t.Fatalf("%s %s is not documented", method, path)
	}
	ref := op.Responses.Status(st)
	if ref == nil {
		m.t.Fatalf("%s %s: status %d is not documented", method, path, st)
	}
	if codes, _ := ref.Value.Extensions["x-error-codes"].([]any); code != "" && !slices.Contains(codes, any(code)) {
		m.t.Fatalf("%s %s %d: %s is not documented (%v)", method, path, st, code, codes)
	}
	if ct := ref.Value.Content.Get("application/json"); ct != nil && len(body) > 0 {
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			m.t.Fatal(err)
		}
		if err := ct.Schema.Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			m.t.Fatalf("%s %s %d: %v\n%s", method, path, st, err, body)
		}
	}
}

// raw returns every byte the store holds: the bbolt file, or every row of
// every table of the PostgreSQL schema as text (bytea in hex, JSON as
// written), for the checks of what is kept in clear.
func (m *mounted) raw() []byte {
	m.t.Helper()
	if m.o.PostgresDSN == "" {
		b, err := os.ReadFile(filepath.Join(m.o.DataDir, "livegate.db"))
		if err != nil {
			m.t.Fatal(err)
		}
		return b
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, m.o.PostgresDSN)
	if err != nil {
		m.t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")
	if err != nil {
		m.t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		m.t.Fatalf("tables %v, %v", tables, err)
	}
	var out bytes.Buffer
	for _, tb := range tables {
		rows, err := conn.Query(ctx, fmt.Sprintf("SELECT t::text FROM %s t", pgx.Identifier{tb}.Sanitize()))
		if err != nil {
			m.t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			m.t.Fatal(err)
		}
		for _, s := range texts {
			out.WriteString(s + "\n")
		}
	}
	return out.Bytes()
}
