package main

import (
	"bytes"
	"flag"
	"fmt"
	"image/jpeg"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var readmePath = flag.String("readme", "../../../README.md", "the README whose quickstart TestReadmeQuickstart runs")

// quickstartTest is the marker, in an HTML comment before the README's
// quickstart block, that says this test executes it (TestDocShellBlocks
// then leaves it alone).
const quickstartTest = "TestReadmeQuickstart"

// quickstartBlock returns the README's shell block marked as executed by
// TestReadmeQuickstart.
func quickstartBlock(t *testing.T, readme string) (shellBlock, error) {
	for _, b := range parseShellBlocks("README.md", readme) {
		if fate, test, err := fateOf(b, packageTests(t)); err == nil && fate == executedByAnother && test == quickstartTest {
			return b, nil
		}
	}
	return shellBlock{}, fmt.Errorf("no shell block marked <!-- Executed by %s … -->", quickstartTest)
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
// 8000 and 9000, the block made into a script by the rules of the docs'
// other shell blocks (newDocScript). The script must succeed, the cloud
// must answer no request with an error, the webhook receiver must print a
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
	block, err := quickstartBlock(t, string(raw))
	if err != nil {
		t.Fatalf("%s: %v", *readmePath, err)
	}
	script, err := newDocScript(t, []shellBlock{block})
	if err != nil {
		t.Fatalf("%s: %v", *readmePath, err)
	}
	script.build(t)
	start := time.Now()
	dir, out, err := script.run(t, 2*time.Minute)
	t.Logf("the quickstart ran in %v", time.Since(start).Round(10*time.Millisecond))
	if err != nil {
		t.Fatalf("the quickstart of %s failed: %v\n--- script\n%s--- output\n%s", *readmePath, err, numbered(script.text), out)
	}
	for _, p := range script.checkCurlStatuses(out) {
		t.Error(p)
	}
	for _, m := range docOutputProblems.FindAll(out, -1) {
		t.Errorf("%s", m)
	}

	// The script's exit status alone proves little (a curl without -f
	// succeeds on a 415); what an integrator should have seen:
	if !regexp.MustCompile(`event evt_\S+ session\.completed \(attempt \d+, signature verified\)`).Match(out) {
		t.Errorf("the webhook receiver printed no verified session.completed event\n--- output\n%s", string(out))
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
		t.Errorf("the quickstart downloaded no 480×600 JPEG photo\n--- output\n%s", string(out))
	}
}
