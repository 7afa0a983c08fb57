package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
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
