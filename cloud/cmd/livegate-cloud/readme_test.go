package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image/jpeg"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var readmePath = flag.String("readme", "../../../README.md", "the README whose quickstart TestReadmeQuickstart runs")

// quickstartMarker opens the HTML comment that marks the README's executed
// block: the first ```sh block after it is the quickstart.
const quickstartMarker = "<!-- Executed by TestReadmeQuickstart"

// quickstartBlock returns the lines of the README's marked shell block.
func quickstartBlock(readme string) ([]string, error) {
	i := strings.Index(readme, quickstartMarker)
	if i < 0 {
		return nil, fmt.Errorf("no block marked %q", quickstartMarker)
	}
	m := regexp.MustCompile("(?s)\n```sh\n(.*?)\n```").FindStringSubmatch(readme[i:])
	if m == nil {
		return nil, errors.New("no ```sh block after the marker")
	}
	return strings.Split(m[1], "\n"), nil
}

// quickstartPorts are the ports the README uses, for the server and for the
// webhook receiver; the test moves each to a free loopback port.
var quickstartPorts = regexp.MustCompile(`\b(localhost|127\.0\.0\.1):(8000|9000)\b`)

// quickstartScript turns the README's block into the script the test runs:
// `make build` is left out (the test builds the binary into ./bin), ports
// 8000 and 9000 become the given ones, and every livegate-cloud process the
// block starts must listen on one of those loopback ports, so nothing else
// of the machine is touched.
func quickstartScript(lines []string, server, receiver int) (string, error) {
	var b strings.Builder
	// Errors stop the script; the processes the block started in the
	// background are stopped (SIGTERM) and reaped before bash exits.
	b.WriteString("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true; wait' EXIT\n")
	listens := regexp.MustCompile(`--addr 127\.0\.0\.1:(\d+)\b`)
	for _, l := range lines {
		if strings.TrimSpace(l) == "make build" {
			continue
		}
		l = quickstartPorts.ReplaceAllStringFunc(l, func(s string) string {
			host, port, _ := strings.Cut(s, ":")
			if port == "8000" {
				return host + ":" + strconv.Itoa(server)
			}
			return host + ":" + strconv.Itoa(receiver)
		})
		if strings.Contains(l, "livegate-cloud serve") || strings.Contains(l, "livegate-cloud webhook-listen") {
			m := listens.FindStringSubmatch(l)
			if m == nil || (m[1] != strconv.Itoa(server) && m[1] != strconv.Itoa(receiver)) {
				return "", fmt.Errorf("%q must listen with --addr 127.0.0.1:8000 (server) or 127.0.0.1:9000 (webhook receiver), so the test can move it to a free loopback port", l)
			}
		}
		b.WriteString(l + "\n")
	}
	return b.String(), nil
}

// freeLoopbackPort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestReadmeQuickstart runs the quickstart block of README.md with bash, as
// an integrator pasting it on a fresh clone would: the server it starts is
// the binary this test builds, on a throwaway data directory (the script
// runs in an empty working directory) and free loopback ports in place of
// 8000 and 9000. The script must succeed, the webhook receiver must print a
// signed session.completed event, and the photo it downloads must be the
// 480×600 JPEG. Run it on another README with -args -readme <path>.
func TestReadmeQuickstart(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the quickstart needs %s: %v", tool, err)
		}
	}
	raw, err := os.ReadFile(*readmePath)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := quickstartBlock(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", *readmePath, err)
	}
	script, err := quickstartScript(lines, freeLoopbackPort(t), freeLoopbackPort(t))
	if err != nil {
		t.Fatalf("%s: %v", *readmePath, err)
	}

	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(buildBinary(t), filepath.Join(dir, "bin", "livegate-cloud")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "quickstart.sh"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "quickstart.sh")
	cmd.Dir = dir
	// The integrator's environment, without LIVEGATE_* variables that would
	// configure the server beyond what the README says.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LIVEGATE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group: on timeout the whole group (bash, the server,
	// the receiver) is stopped, not bash alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err = cmd.Run()
	t.Logf("the quickstart ran in %v", time.Since(start).Round(10*time.Millisecond))
	if err != nil {
		t.Fatalf("the quickstart of %s failed: %v\n--- script\n%s--- output\n%s", *readmePath, err, script, out.String())
	}

	// The script's exit status alone proves little (a curl without -f
	// succeeds on a 415); what an integrator should have seen:
	if !regexp.MustCompile(`event evt_\S+ session\.completed \(attempt \d+, signature verified\)`).Match(out.Bytes()) {
		t.Errorf("the webhook receiver printed no verified session.completed event\n--- output\n%s", out.String())
	}
	var photos []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".jpg") || strings.Contains(p, string(filepath.Separator)+"audit"+string(filepath.Separator)) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if img, err := jpeg.Decode(bytes.NewReader(b)); err == nil && img.Bounds().Dx() == 480 && img.Bounds().Dy() == 600 {
			photos = append(photos, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(photos) == 0 {
		t.Errorf("the quickstart downloaded no 480×600 JPEG photo\n--- output\n%s", out.String())
	}
}
