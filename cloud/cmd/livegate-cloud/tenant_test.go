package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/core"
)

func runTenant(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := tenantCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// TestOfflineTenantCLI creates a tenant and rotates its key on the bbolt
// file of a stopped server, then starts the server on it: the key works.
// While the server runs, the CLI refuses (the file is locked).
func TestOfflineTenantCLI(t *testing.T) {
	data := t.TempDir()
	t.Setenv("LIVEGATE_MASTER_KEY", "")
	out, err := runTenant(t, "create", "--data", data, "--name", "Offline Co", "--mode", "test")
	if err != nil {
		t.Fatal(err)
	}
	var tc api.TenantCreated
	if err := json.Unmarshal([]byte(out), &tc); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if !strings.HasPrefix(tc.APIKey, "iksk_test_") || !strings.HasPrefix(tc.WebhookSecret, "whsec_") {
		t.Fatalf("created %+v", tc)
	}
	out, err = runTenant(t, "rotate-key", "--data", data, "--tenant", tc.TenantID, "--grace", "1h")
	if err != nil {
		t.Fatal(err)
	}
	var kr api.KeyRotated
	if err := json.Unmarshal([]byte(out), &kr); err != nil || kr.APIKey == tc.APIKey {
		t.Fatalf("rotated %q: %v", out, err)
	}
	if _, err := runTenant(t, "create", "--data", data, "--name", "x", "--mode", "sandbox"); err == nil {
		t.Fatal("invalid mode accepted")
	}
	out, err = runTenant(t, "list", "--data", data)
	if err != nil || !strings.Contains(out, tc.TenantID) || strings.Contains(out, "sealed") || strings.Contains(out, "whsec_") {
		t.Fatalf("list: %v\n%s", err, out)
	}

	d, err := daemon.Start(context.Background(), daemon.Options{Addr: "127.0.0.1:0", DataDir: data,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	for _, key := range []string{tc.APIKey, kr.APIKey} {
		req, _ := http.NewRequest("POST", "http://"+d.Addr().String()+"/api/v1/managed-session", strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("key made offline: status %d", resp.StatusCode)
		}
	}
	start := time.Now()
	_, err = runTenant(t, "list", "--data", data)
	if err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("CLI on a running server's data: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("lock wait too long")
	}
}

// TestOfflineTenantScopes: tenant create and rotate-key take --scopes as the
// admin API takes "scopes" (a list of known scopes, none twice; left out,
// every scope), and the server started on the file enforces them.
func TestOfflineTenantScopes(t *testing.T) {
	data := t.TempDir()
	t.Setenv("LIVEGATE_MASTER_KEY", "")
	t.Setenv("LIVEGATE_SCOPES", "") // restored after the test
	os.Unsetenv("LIVEGATE_SCOPES")  // --scopes reads it when not given
	create := func(args ...string) api.TenantCreated {
		t.Helper()
		out, err := runTenant(t, append([]string{"create", "--data", data, "--name", "Scoped Co", "--mode", "test"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		var tc api.TenantCreated
		if err := json.Unmarshal([]byte(out), &tc); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		return tc
	}
	all := create()
	if !slices.Equal(all.Scopes, core.Scopes) {
		t.Fatalf("no --scopes: scopes %v, want every scope", all.Scopes)
	}
	reader := create("--scopes", "sessions:read")
	if !slices.Equal(reader.Scopes, []string{"sessions:read"}) {
		t.Fatalf("--scopes sessions:read: scopes %v", reader.Scopes)
	}
	out, err := runTenant(t, "rotate-key", "--data", data, "--tenant", reader.TenantID, "--grace", "1h", "--scopes", "sessions:write")
	if err != nil {
		t.Fatal(err)
	}
	var writer api.KeyRotated
	if err := json.Unmarshal([]byte(out), &writer); err != nil || !slices.Equal(writer.Scopes, []string{"sessions:write"}) {
		t.Fatalf("rotate-key --scopes sessions:write: %q %v", out, err)
	}
	out, err = runTenant(t, "rotate-key", "--data", data, "--tenant", all.TenantID, "--scopes", "sessions:read,sessions:write")
	var both api.KeyRotated
	if err != nil || json.Unmarshal([]byte(out), &both) != nil || !slices.Equal(both.Scopes, []string{"sessions:read", "sessions:write"}) {
		t.Fatalf("rotate-key with both scopes: %q %v", out, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "--data", data, "--name", "x", "--scopes", "sessions:admin"}, `--scopes is "sessions:admin": want one of sessions:read, sessions:write, ephemeral_devices:write`},
		{[]string{"create", "--data", data, "--name", "x", "--scopes", ""}, "--scopes must name at least one scope"},
		{[]string{"rotate-key", "--data", data, "--tenant", all.TenantID, "--scopes", "sessions:read,sessions:read"}, `--scopes names "sessions:read" twice`},
	} {
		if _, err := runTenant(t, c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
	out, err = runTenant(t, "list", "--data", data)
	if err != nil || strings.Count(out, `"name": "x"`) != 0 {
		t.Fatalf("a refused --scopes created a tenant: %v\n%s", err, out)
	}

	d, err := daemon.Start(context.Background(), daemon.Options{Addr: "127.0.0.1:0", DataDir: data,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	for _, c := range []struct {
		key    string
		status int
		code   string
	}{{reader.APIKey, 403, "auth.insufficient_scope"}, {writer.APIKey, 201, ""}, {both.APIKey, 201, ""}} {
		req, _ := http.NewRequest("POST", "http://"+d.Addr().String()+"/v1/sessions", strings.NewReader(`{"flow":"liveness"}`))
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.code) {
			t.Fatalf("POST /v1/sessions with a key made offline: %d %s, want %d %s", resp.StatusCode, body, c.status, c.code)
		}
	}
}
