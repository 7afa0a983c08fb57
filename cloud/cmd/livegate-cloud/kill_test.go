package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"livegate.dev/cloud/internal/webhook"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

// buildBinary builds livegate-cloud once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "livegate-cloud-test-")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "livegate-cloud")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

type proc struct {
	cmd     *exec.Cmd
	base    string
	done    chan struct{}
	waitErr error
	mu      sync.Mutex
	msgs    []string // log messages seen

	// With --tls-addr: the HTTPS base URL, the public URL, and with --dev
	// the generated CA's file and SHA-256 fingerprint, as logged.
	tlsBase, publicURL string
	caFile, caSHA256   string
	newCA              bool
}

// startServe runs `livegate-cloud serve` on 127.0.0.1:0 and waits for its
// "serving" log line to learn the address (and the HTTPS address and
// development CA, when extra has --tls-addr).
func startServe(t *testing.T, bin, data string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--dev", "--log-level", "info",
		"--webhook-backoff-base", "200ms", "--webhook-backoff-cap", "1s", "--webhook-max-attempts", "1000"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "LIVEGATE_ADMIN_TOKEN=kill-test-admin")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec struct {
				Msg, Addr string
				PublicURL string `json:"public_url"`
				TLSAddr   string `json:"tls_addr"`
				CAFile    string `json:"ca_file"`
				CASHA256  string `json:"ca_sha256"`
				NewCA     bool   `json:"new_ca"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			p.mu.Lock()
			p.msgs = append(p.msgs, rec.Msg)
			p.mu.Unlock()
			if rec.CAFile != "" { // logged before "serving"
				p.caFile, p.caSHA256, p.newCA = rec.CAFile, rec.CASHA256, rec.NewCA
			}
			if rec.Msg == "livegate-cloud serving" {
				p.publicURL = rec.PublicURL
				if rec.TLSAddr != "" {
					p.tlsBase = "https://" + rec.TLSAddr
				}
				addr <- rec.Addr
			}
		}
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	select {
	case a := <-addr:
		p.base = "http://" + a
	case <-p.done:
		t.Fatal("server exited before serving")
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start within 30 s")
	}
	return p
}

func post(base, path, key, body string) (int, []byte, error) {
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// TestKill9 kills the server (SIGKILL) while sessions are being created,
// with completed sessions' webhooks queued for a receiver that is down, then
// restarts it: every session that got a 201 exists, and every queued webhook
// is delivered once the receiver is up.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()

	// The receiver's port, reserved now, listened on only after the restart.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hookAddr := ln.Addr().String()
	ln.Close()
	hookURL := "http://" + hookAddr + "/hook"

	p := startServe(t, bin, data)
	code, body, err := post(p.base, "/admin/v1/tenants", "kill-test-admin", `{"name":"kill","mode":"test"}`)
	if err != nil || code != 201 {
		t.Fatalf("tenant: %d %s %v", code, body, err)
	}
	var tenant struct {
		APIKey        string `json:"api_key"`
		WebhookSecret string `json:"webhook_secret"`
	}
	json.Unmarshal(body, &tenant)

	// Sessions completed (simulated) before the kill: their webhooks are queued.
	queued := map[string]bool{}
	for i := 0; i < 10; i++ {
		code, body, err := post(p.base, "/api/v1/managed-session", tenant.APIKey, `{"webhook_url":"`+hookURL+`"}`)
		if err != nil || code != 201 {
			t.Fatalf("create: %d %s %v", code, body, err)
		}
		var sc struct {
			SessionID string `json:"session_id"`
		}
		json.Unmarshal(body, &sc)
		verdict := []string{"pass", "fail", "retry"}[i%3]
		if code, body, err := post(p.base, "/api/v1/session/"+sc.SessionID+"/simulate", tenant.APIKey, `{"verdict":"`+verdict+`"}`); err != nil || code != 200 {
			t.Fatalf("simulate: %d %s %v", code, body, err)
		}
		queued[sc.SessionID] = true
	}

	// Sessions being created by 16 clients when the kill comes.
	type created struct{ id, token string }
	var mu sync.Mutex
	var acked []created
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				code, body, err := post(p.base, "/api/v1/managed-session", tenant.APIKey, `{"user_id":"k9"}`)
				if err != nil || code != 201 {
					continue
				}
				var sc struct {
					SessionID string `json:"session_id"`
					Token     string `json:"token"`
				}
				json.Unmarshal(body, &sc)
				mu.Lock()
				acked = append(acked, created{sc.SessionID, sc.Token})
				mu.Unlock()
			}
		}()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 300 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	stop()
	wg.Wait()
	mu.Lock()
	t.Logf("killed with %d sessions acknowledged (201) under load and %d webhooks queued", len(acked), len(queued))
	mu.Unlock()

	// Restart on the same data, receiver up.
	var rmu sync.Mutex
	got := map[string]bool{}
	bad := []string{}
	rl, err := net.Listen("tcp", hookAddr)
	if err != nil {
		t.Fatalf("re-listen on %s: %v", hookAddr, err)
	}
	all := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rmu.Lock()
		defer rmu.Unlock()
		if err := webhook.Verify(r.Header.Get("Livegate-Signature"), b, []byte(tenant.WebhookSecret), 0, time.Now()); err != nil {
			bad = append(bad, err.Error())
		}
		var ev struct {
			Type string
			Data struct {
				SessionID string `json:"session_id"`
			}
		}
		json.Unmarshal(b, &ev)
		if ev.Type == "session.completed" && queued[ev.Data.SessionID] && !got[ev.Data.SessionID] {
			got[ev.Data.SessionID] = true
			if len(got) == len(queued) {
				close(all)
			}
		}
		w.WriteHeader(204)
	})}
	go srv.Serve(rl)
	defer srv.Close()

	p2 := startServe(t, bin, data)
	for _, c := range acked {
		resp, err := http.Get(p2.base + "/api/v1/session/" + c.id + "/result?token=" + url.QueryEscape(c.token))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(c.id)) {
			t.Fatalf("session %s got 201 before the kill but reads %d %s after restart", c.id, resp.StatusCode, b)
		}
	}
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		rmu.Lock()
		defer rmu.Unlock()
		t.Fatalf("%d of %d queued webhooks delivered after restart", len(got), len(queued))
	}
	rmu.Lock()
	defer rmu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("bad signatures: %v", bad)
	}
}

// TestSIGTERMShutsDownCleanly: SIGTERM drains and exits 0, logging "stopped".
func TestSIGTERMShutsDownCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	p := startServe(t, bin, t.TempDir())
	resp, err := http.Get(p.base + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("no exit within 30 s of SIGTERM")
	}
	if p.waitErr != nil {
		t.Fatalf("exit after SIGTERM: %v", p.waitErr)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if last := p.msgs[len(p.msgs)-1]; last != "stopped" {
		t.Fatalf("last log message %q, want \"stopped\" (all: %v)", last, p.msgs)
	}
}
