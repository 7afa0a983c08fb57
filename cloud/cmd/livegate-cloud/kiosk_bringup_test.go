package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"livegate.dev/cloud/internal/webhook"
	"livegate.dev/models/assets"
)

// buildKiosk builds livegate-kiosk next to the livegate-cloud binary.
func buildKiosk(t *testing.T) string {
	t.Helper()
	return buildTool(t, "livegate-kiosk")
}

// TestKioskBringUp walks the sim-board bring-up of docs/kiosk.md with the
// shipped binaries: the cloud with its embedded broker and --dev, a
// tenant and a device enrollment whose webhook goes to a local receiver,
// `livegate-kiosk enroll` with the one-time token, `livegate-kiosk run`
// from the config it wrote, `livegate-kiosk walkup`; the session the
// kiosk decided is then in the cloud's session API and its signed
// session.completed webhook arrives.
func TestKioskBringUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs both binaries with the liveness models")
	}
	if _, err := assets.Model("face_landmark.onnx"); err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("models missing (LIVEGATE_SKIP_MEDIA=1): %v", err)
		}
		t.Fatalf("%v (run make setup)", err)
	}
	t0 := time.Now()
	cloudBin, kioskBin := buildBinary(t), buildKiosk(t)
	t.Logf("binaries built in %s", time.Since(t0).Round(time.Millisecond))
	start := time.Now()
	dir := t.TempDir()
	const admin = "kill-test-admin" // what startServe gives the daemon

	// The integrator's webhook receiver.
	events := make(chan []byte, 4)
	var secret string
	var smu sync.Mutex
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		smu.Lock()
		err := webhook.Verify(r.Header.Get("Livegate-Signature"), b, []byte(secret), 0, time.Now())
		smu.Unlock()
		if err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(400)
			return
		}
		events <- b
		w.WriteHeader(204)
	}))
	defer hooks.Close()

	// Step 1 (cloud): serve with the fleet's embedded broker.
	srv := startServe(t, cloudBin, filepath.Join(dir, "cloud"), "--mqtt-addr", "127.0.0.1:0")
	call := func(method, path, bearer string, body any, want int, out any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = strings.NewReader(string(b))
		}
		req, _ := http.NewRequest(method, srv.base+path, rd)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bearer)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, data, want)
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
		}
	}

	// Step 2 (cloud admin): a tenant, and an enrollment token for the device.
	var tenant struct {
		TenantID      string `json:"tenant_id"`
		APIKey        string `json:"api_key"`
		WebhookSecret string `json:"webhook_secret"`
	}
	call("POST", "/admin/v1/tenants", admin, map[string]string{"name": "acme", "mode": "test"}, 201, &tenant)
	smu.Lock()
	secret = tenant.WebhookSecret
	smu.Unlock()
	var enr struct {
		Token string `json:"token"`
	}
	call("POST", "/admin/v1/devices/enrollments", admin, map[string]string{"tenant_id": tenant.TenantID, "device_id": "lobby-1",
		"webhook_url": hooks.URL + "/hooks/livegate"}, 201, &enr) // loopback http://: accepted with --dev

	// Step 3 (kiosk): enroll with the token; the config and credentials are written.
	cfg := filepath.Join(dir, "etc", "kiosk.yaml")
	techAddr := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
	kiosk := func(args ...string) *exec.Cmd {
		cmd := exec.Command(kioskBin, args...)
		cmd.Env = append(os.Environ(), "LIVEGATE_ENROLL_TOKEN="+enr.Token)
		return cmd
	}
	out, err := kiosk("enroll", "--cloud", srv.base, "--board", "sim", "--config", cfg, "--data", filepath.Join(dir, "var"),
		"--technician-listen", techAddr).CombinedOutput()
	if err != nil {
		t.Fatalf("livegate-kiosk enroll: %v\n%s", err, out)
	}
	t.Logf("livegate-kiosk enroll:\n%s", out)
	if strings.Contains(string(out), enr.Token) {
		t.Fatal("enroll printed the token")
	}

	// Step 4 (kiosk): run the daemon from the written config.
	d := kiosk("run", "--config", cfg)
	stderr, err := d.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var lmu sync.Mutex
	var logLines []string
	ready := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stderr)
		running, connected, signalled := false, false, false
		for sc.Scan() {
			l := sc.Text()
			lmu.Lock()
			logLines = append(logLines, l)
			lmu.Unlock()
			running = running || strings.Contains(l, `msg="kiosk running"`)
			connected = connected || strings.Contains(l, `msg="mqtt connected"`)
			if running && connected && !signalled {
				close(ready)
				signalled = true
			}
		}
		d.Wait()
	}()
	daemonLog := func() string { lmu.Lock(); defer lmu.Unlock(); return strings.Join(logLines, "\n") }
	t.Cleanup(func() {
		d.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			d.Process.Kill()
			<-exited
		}
	})
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("the kiosk daemon exited:\n%s", daemonLog())
	case <-time.After(30 * time.Second):
		t.Fatalf("the kiosk daemon did not run and connect within 30 s:\n%s", daemonLog())
	}
	t.Logf("cloud up, kiosk enrolled, running and connected %s after the start", time.Since(start).Round(time.Millisecond))

	// Step 5 (technician): a walk-up on the sim board.
	w0 := time.Now()
	out, err = kiosk("walkup", "--config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("livegate-kiosk walkup: %v\n%s\ndaemon:\n%s", err, out, daemonLog())
	}
	t.Logf("livegate-kiosk walkup (%s):\n%s", time.Since(w0).Round(time.Millisecond), out)
	m := regexp.MustCompile(`session (lobby-1-[0-9a-f]+): (pass|fail|retry),`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("walkup printed no decided session:\n%s", out)
	}
	id, verdict := m[1], m[2]

	// Step 6 (integrator): the session is in the cloud, and its webhook came.
	var res struct {
		Status  string `json:"status"`
		Verdict string `json:"verdict"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("GET", srv.base+"/api/v1/session/"+id+"/result", nil)
		req.Header.Set("Authorization", "Bearer "+tenant.APIKey)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode == 200 {
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatal(err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s not in the cloud after 20 s: %d %s\ndaemon:\n%s", id, r.StatusCode, b, daemonLog())
		}
		time.Sleep(100 * time.Millisecond) // polling the API with a deadline
	}
	if res.Status != "completed" || res.Verdict != verdict {
		t.Fatalf("cloud result %+v, kiosk said %s", res, verdict)
	}
	select {
	case b := <-events:
		var ev struct {
			Type string `json:"type"`
			Data struct {
				SessionID string `json:"session_id"`
				Verdict   string `json:"verdict"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &ev); err != nil || ev.Type != "session.completed" || ev.Data.SessionID != id || ev.Data.Verdict != verdict {
			t.Fatalf("webhook %s (%v)", b, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no session.completed webhook within 20 s")
	}
	t.Logf("bring-up: session %s (%s) reached the cloud and its webhook; %s from the cloud's start", id, verdict, time.Since(start).Round(time.Millisecond))
}
