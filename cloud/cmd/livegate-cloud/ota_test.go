package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/fleet/e2e"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/ota/sign"
)

// buildOTATool builds livegate-ota next to the livegate-cloud binary.
func buildOTATool(t *testing.T) string {
	t.Helper()
	return buildTool(t, "livegate-ota")
}

// TestOTAPushRollout runs OTA through the shipped binaries: `livegate-cloud
// serve --dev --tls-addr … --mqtt-addr … --ota-roots …` serving HTTPS
// itself with the local CA it generates, four sim kiosks enrolled over
// HTTPS running the kiosk's update agent and trusting only that CA, and
// `livegate-ota keygen`, `sign` and `push --rollout --follow --ca`: a
// release that fails its health check aborts the rollout (push exits
// non-zero and names the rolled-back devices), a good one completes on
// every device.
func TestOTAPushRollout(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs both binaries")
	}
	cloudBin, otaBin := buildBinary(t), buildOTATool(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	const token = "kill-test-admin" // what startServe gives the daemon
	tool := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(otaBin, args...)
		cmd.Env = append(os.Environ(), "LIVEGATE_ADMIN_TOKEN="+token)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if err != nil {
			err = fmt.Errorf("livegate-ota %s: %w\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String(), err
	}
	mustTool := func(args ...string) string {
		t.Helper()
		out, err := tool(args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	// Keys and three signed releases, made with the release tool.
	mustTool("keygen", "root", "-o", p("root"))
	mustTool("keygen", "signing", "--root", p("root.key"), "--serial", "1", "-o", p("k1"))
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		os.WriteFile(p("rootfs-"+v), bytes.Repeat([]byte("rootfs "+v+"\n"), 20_000), 0o644)
		min := "1.0.0"
		if v == "1.0.0" {
			min = "0.0.0"
		}
		mustTool("sign", "--key", p("k1.key"), "--cert", p("k1.cert"), "--payload", p("rootfs-"+v), "--kind", "firmware",
			"--version", v, "--board", "sim", "--arch", "amd64", "--min-version", min, "-o", p(v+".lgota"))
	}
	rootPEM, err := os.ReadFile(p("root.pub"))
	if err != nil {
		t.Fatal(err)
	}
	roots, err := sign.ParseRootPublic(rootPEM)
	if err != nil {
		t.Fatal(err)
	}
	factory, _ := os.ReadFile(p("1.0.0.lgota"))

	// The cloud serves HTTPS itself (no proxy); the devices, the admin and
	// the release tool (push --ca) trust the CA it printed and nothing else.
	srv := startServe(t, cloudBin, p("data"), "--tls-addr", "127.0.0.1:0", "--mqtt-addr", "127.0.0.1:0", "--ota-roots", p("root.pub"))
	if srv.caFile == "" || !strings.HasPrefix(srv.publicURL, "https://") {
		t.Fatalf("serve --dev --tls-addr printed no CA (%q) or an http public URL (%q)", srv.caFile, srv.publicURL)
	}
	hc := caClient(t, srv.caFile)
	cloudURL := srv.publicURL

	admin := func(method, path string, body any, out any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, cloudURL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if res.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, data)
		}
		if out != nil {
			json.Unmarshal(data, out)
		}
	}
	var tenant struct {
		TenantID string `json:"tenant_id"`
	}
	admin("POST", "/admin/v1/tenants", map[string]string{"name": "branches", "mode": "live"}, &tenant)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 4
	kiosks := make([]*e2e.SimKiosk, n)
	for i := range n {
		id := fmt.Sprintf("branch-kiosk-%d", i)
		var enr struct {
			Token string `json:"token"`
		}
		admin("POST", "/admin/v1/devices/enrollments", map[string]string{"tenant_id": tenant.TenantID, "device_id": id}, &enr)
		cr, err := fsync.Enroll(ctx, hc, cloudURL+"/api/v1/devices/enroll", enr.Token, true)
		if err != nil {
			t.Fatal(err)
		}
		k, err := e2e.NewSimKiosk(e2e.SimKioskConfig{Credentials: cr, BrokerURL: cr.BrokerURL, Dir: filepath.Join(dir, id), Roots: roots,
			Factory: factory, HTTP: hc, Bad: map[string]bool{"1.1.0": true}})
		if err != nil {
			t.Fatal(err)
		}
		kiosks[i] = k
		done := make(chan error, 1)
		go func() { done <- k.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()
	}
	// Every kiosk is registered online on 1.0.0 before a rollout picks its devices.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var list struct {
			Devices []struct {
				Status          string `json:"status"`
				FirmwareVersion string `json:"firmware_version"`
			} `json:"devices"`
		}
		admin("GET", "/admin/v1/devices", nil, &list)
		online := 0
		for _, d := range list.Devices {
			if d.Status == "online" && d.FirmwareVersion == "1.0.0" {
				online++
			}
		}
		if online == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kiosks not online: %+v", list.Devices)
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}

	push := func(file string) (string, error) {
		return tool("-q", "push", p(file), "--url", cloudURL, "--ca", srv.caFile, "--rollout", "--stages", "100",
			"--abort-failures", "1", "--report-timeout", "2m", "--follow", "--poll", "50ms")
	}
	out, err := push("1.1.0.lgota")
	if err == nil || !strings.Contains(out, "aborted") || !strings.Contains(out, "rolled_back") {
		t.Fatalf("push of a release failing its health check: %v\n%s", err, out)
	}
	// push returns on the abort; the other kiosks told may still be
	// installing. Wait for every kiosk's final answer.
	deadline = time.Now().Add(60 * time.Second)
	for {
		var list struct {
			Rollouts []struct {
				Counts map[string]int `json:"counts"`
			} `json:"rollouts"`
		}
		admin("GET", "/admin/v1/rollouts", nil, &list)
		if len(list.Rollouts) == 1 && list.Rollouts[0].Counts["rolled_back"] == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kiosks did not all roll back: %+v", list.Rollouts)
		}
		time.Sleep(50 * time.Millisecond) // polling with a deadline
	}
	for i, k := range kiosks {
		if k.Running() != "1.0.0" {
			t.Fatalf("kiosk %d runs %s after the rollback", i, k.Running())
		}
		for !k.Settled() { // the final answer is out; the agent forgets it next
			if time.Now().After(deadline) {
				t.Fatalf("kiosk %d keeps its pending update", i)
			}
			time.Sleep(20 * time.Millisecond) // polling with a deadline
		}
	}
	start := time.Now()
	out, err = push("1.2.0.lgota")
	if err != nil || !strings.Contains(out, "completed") || !strings.Contains(out, fmt.Sprintf("succeeded %d", n)) {
		t.Fatalf("push of a good release: %v\n%s", err, out)
	}
	took := time.Since(start)
	for i, k := range kiosks {
		if k.Running() != "1.2.0" || k.Restarts() < 1 {
			t.Fatalf("kiosk %d runs %s (%d restarts)", i, k.Running(), k.Restarts())
		}
	}
	// Pushing the same artifact again uses the stored release.
	if out := mustTool("-q", "push", p("1.2.0.lgota"), "--url", cloudURL, "--ca", srv.caFile); !strings.Contains(out, "firmware 1.2.0") {
		t.Fatalf("second push: %s", out)
	}
	t.Logf("push --rollout --follow of a good release to %d kiosks: upload → completed in %v", n, took.Round(time.Millisecond))
}
