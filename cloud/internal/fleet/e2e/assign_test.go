package e2e

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"livegate.dev/cloud/internal/fleet/fleetapi"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/ota/sign"
)

// TestAssignReachesOfflineKiosk: an assign_session command sent while the
// kiosk has no session on the embedded broker (switched off since the
// cloud started) is dropped by the broker. The fleet must send it again
// when the kiosk's session comes online: the kiosk then runs the session
// once (one command id, handled once) and its result completes the
// session in the cloud. Before the fix the command was lost and the
// session stayed pending until it expired.
func TestAssignReachesOfflineKiosk(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys := newOTAKeys(t)
	roots := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(roots, sign.MarshalRootPublic(keys.root.Public()), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startOTACloud(t, roots, "")
	var tenant struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	c.do(t, "POST", "/admin/v1/tenants", map[string]string{"name": "branches", "mode": "live"}, 201, &tenant)
	var enr fleetapi.EnrollmentCreated
	c.do(t, "POST", "/admin/v1/devices/enrollments", map[string]string{"tenant_id": tenant.TenantID, "device_id": "kiosk-off"}, 201, &enr)
	cr, err := fsync.Enroll(ctx, c.client, c.url+"/api/v1/devices/enroll", enr.Token, true)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewSimKiosk(SimKioskConfig{Credentials: cr, BrokerURL: cr.BrokerURL, Dir: t.TempDir(), Roots: []ed25519.PublicKey{keys.root.Public()},
		Factory: keys.artifact(t, "1.0.0"), HTTP: c.client, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}

	// The integrator runs a session on the kiosk (flow 3) while it is off:
	// the broker takes the command (201) and drops it.
	var sess struct {
		SessionID string `json:"session_id"`
	}
	c.tenantDo(t, tenant.APIKey, "POST", "/api/v1/managed-session", map[string]string{"mode": "passive", "device_id": "kiosk-off"}, 201, &sess)
	result := func() string {
		var r struct {
			Status string `json:"status"`
		}
		c.tenantDo(t, tenant.APIKey, "GET", "/api/v1/session/"+sess.SessionID+"/result", nil, 200, &r)
		return r.Status
	}
	if st := result(); st != "pending" {
		t.Fatalf("session %s is %s before the kiosk ran it", sess.SessionID, st)
	}

	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }() // its session comes online: the command must reach it now
	t.Cleanup(func() {
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	waitFor(t, 60*time.Second, "the assigned session completed after the kiosk came online", func() bool {
		return result() == "completed"
	})
	took := time.Since(start)
	if cmds, runs := k.Assigned(sess.SessionID); cmds != 1 || runs != 1 {
		t.Fatalf("the kiosk got %d distinct assign commands and ran the session %d times (want 1, 1)", cmds, runs)
	}
	t.Logf("kiosk online → assigned session completed in %v", took.Round(time.Millisecond))
}

// tenantDo is do with a tenant's API key instead of the admin token.
func (c *otaCloud) tenantDo(t *testing.T, key, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, c.url+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := c.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, res.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
}
