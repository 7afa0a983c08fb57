package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/sign"
)

// run executes the tool in-process and returns its stdout and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(append([]string{"-q"}, args...))
	err := cmd.Execute()
	return out.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, args...)
	if err != nil {
		t.Fatalf("livegate-ota %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TestLifecycle walks a release engineer's year: keys, signing, checks,
// publishing, then rotating the signing key and revoking the old one.
func TestLifecycle(t *testing.T) {
	d := t.TempDir()
	p := func(name string) string { return filepath.Join(d, name) }
	payload := bytes.Repeat([]byte("rootfs "), 100_000)
	os.WriteFile(p("rootfs.img"), payload, 0o644)

	mustRun(t, "keygen", "root", "-o", p("root"))
	if st, _ := os.Stat(p("root.key")); st.Mode().Perm() != 0o600 {
		t.Fatalf("root.key mode %v", st.Mode().Perm())
	}
	if _, err := run(t, "keygen", "root", "-o", p("root")); err == nil {
		t.Fatal("keygen overwrote an existing root key")
	}
	mustRun(t, "keygen", "signing", "--root", p("root.key"), "--serial", "1", "-o", p("k1"))
	signArgs := func(key, version, out string, extra ...string) []string {
		return append([]string{"sign", "--key", p(key + ".key"), "--cert", p(key + ".cert"), "--payload", p("rootfs.img"),
			"--kind", "firmware", "--version", version, "--board", "sim", "--arch", "amd64", "--min-version", "1.0.0", "-o", p(out)}, extra...)
	}
	mustRun(t, signArgs("k1", "1.1.0", "a110.lgota")...)

	tests := []struct {
		name string
		args []string
		want error // nil: accepted
	}{
		{"signature only", []string{"verify", "--roots", p("root.pub"), p("a110.lgota")}, nil},
		{"fits device", []string{"verify", "--roots", p("root.pub"), "--kind", "firmware", "--board", "sim", "--arch", "amd64", "--current", "1.0.0", p("a110.lgota")}, nil},
		{"wrong board", []string{"verify", "--roots", p("root.pub"), "--kind", "firmware", "--board", "rpi5", "--arch", "amd64", "--current", "1.0.0", p("a110.lgota")}, artifact.ErrWrongBoard},
		{"downgrade", []string{"verify", "--roots", p("root.pub"), "--kind", "firmware", "--board", "sim", "--arch", "amd64", "--current", "1.1.0", p("a110.lgota")}, artifact.ErrDowngrade},
		{"models installer", []string{"verify", "--roots", p("root.pub"), "--kind", "models", "--board", "sim", "--arch", "amd64", "--current", "1.0.0", p("a110.lgota")}, artifact.ErrWrongKind},
		{"expired later", []string{"--now", time.Now().Add(100 * 24 * time.Hour).Format(time.RFC3339), "verify", "--roots", p("root.pub"), p("a110.lgota")}, artifact.ErrKeyExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(t, tt.args...)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var r refusal
			if err != nil && !errors.As(err, &r) {
				t.Errorf("refusal not marked for exit code 2: %v", err)
			}
			if err == nil && !strings.HasPrefix(out, "OK firmware 1.1.0") {
				t.Errorf("out = %q", out)
			}
		})
	}

	// Another hierarchy's roots do not trust it.
	mustRun(t, "keygen", "root", "-o", p("other"))
	if _, err := run(t, "verify", "--roots", p("other.pub"), p("a110.lgota")); !errors.Is(err, artifact.ErrUntrustedKey) {
		t.Fatalf("foreign roots: %v", err)
	}

	// Inspect shows the metadata and says it is unverified.
	var info map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "inspect", p("a110.lgota"))), &info); err != nil {
		t.Fatal(err)
	}
	if info["verified"] != false || info["manifest"].(map[string]any)["version"] != "1.1.0" {
		t.Fatalf("inspect = %v", info)
	}

	// Publish into a release directory.
	mustRun(t, "publish", "--roots", p("root.pub"), "--dir", p("rel"), p("a110.lgota"))
	if _, err := run(t, "publish", "--roots", p("root.pub"), "--dir", p("rel"), p("a110.lgota")); err == nil {
		t.Fatal("published the same version twice")
	}

	// Rotation: a new signing key, releases move to it, the old is revoked.
	k1 := certKeyID(t, p("k1.cert"))
	mustRun(t, "keygen", "signing", "--root", p("root.key"), "--serial", "2", "-o", p("k2"))
	mustRun(t, "revoke", "--root", p("root.key"), "--serial", "1", "-o", p("rev1.json"), k1)
	mustRun(t, signArgs("k2", "1.2.0", "a120.lgota", "--revocations", p("rev1.json"))...)
	mustRun(t, "verify", "--roots", p("root.pub"), "--revocations", p("rev1.json"), p("a120.lgota"))
	if _, err := run(t, "verify", "--roots", p("root.pub"), "--revocations", p("rev1.json"), p("a110.lgota")); !errors.Is(err, sign.ErrKeyRevoked) {
		t.Fatalf("old key after revocation: %v", err)
	}
	if _, err := run(t, "revoke", "--root", p("root.key"), "--serial", "1", "--from", p("rev1.json"), "-o", p("rev2.json")); err == nil {
		t.Fatal("revoke accepted a serial that does not increase")
	}
	mustRun(t, "publish", "--roots", p("root.pub"), "--revocations", p("rev1.json"), "--dir", p("rel"), p("a120.lgota"))
	var idx Index
	b, _ := os.ReadFile(p("rel/index.json"))
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Releases) != 2 || idx.Releases[0].Version != "1.1.0" || idx.Releases[1].SigningKey == k1 {
		t.Fatalf("index = %+v", idx)
	}
	art, _ := os.ReadFile(p("a120.lgota"))
	sum := sha256.Sum256(art)
	if idx.Releases[1].SHA256 != hex.EncodeToString(sum[:]) || idx.Releases[1].Size != int64(len(art)) {
		t.Fatalf("index entry does not describe the file: %+v", idx.Releases[1])
	}

	// Fetch it back over HTTPS from the release directory.
	ts := httptest.NewTLSServer(http.FileServer(http.Dir(p("rel"))))
	defer ts.Close()
	os.WriteFile(p("ca.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644)
	mustRun(t, "fetch", "--ca", p("ca.pem"), "--size", fmt.Sprint(idx.Releases[1].Size), "--sha256", idx.Releases[1].SHA256,
		"-o", p("got.lgota"), ts.URL+"/"+idx.Releases[1].File)
	got, _ := os.ReadFile(p("got.lgota"))
	if !bytes.Equal(got, art) {
		t.Fatal("fetched artifact differs")
	}
}

func certKeyID(t *testing.T, path string) string {
	t.Helper()
	e, err := readEnvelope(path)
	if err != nil {
		t.Fatal(err)
	}
	var cb sign.CertBody
	if err := sign.DecodeStrict(e.Body, &cb); err != nil {
		t.Fatal(err)
	}
	return cb.KeyID
}

// TestSim installs through the tool onto a sim device directory and boots
// it with a health command that passes, then with one that fails.
func TestSim(t *testing.T) {
	d := t.TempDir()
	p := func(name string) string { return filepath.Join(d, name) }
	mustRun(t, "keygen", "root", "-o", p("root"))
	mustRun(t, "keygen", "signing", "--root", p("root.key"), "--serial", "1", "-o", p("k"))
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		os.WriteFile(p("img-"+v), bytes.Repeat([]byte(v), 10_000), 0o644)
		mustRun(t, "sign", "--key", p("k.key"), "--cert", p("k.cert"), "--payload", p("img-"+v), "--kind", "firmware",
			"--version", v, "--board", "sim", "--arch", "amd64", "-o", p(v+".lgota"))
	}
	sim := func(args ...string) []string {
		return append([]string{"sim", "--root", p("dev"), "--roots", p("root.pub"), "--arch", "amd64"}, args...)
	}
	mustRun(t, sim("provision", p("1.0.0.lgota"))...)
	mustRun(t, sim("install", p("1.1.0.lgota"))...)
	if out := mustRun(t, sim("--health-cmd", `test "$LIVEGATE_VERSION" = 1.1.0 && test -f "$LIVEGATE_SLOT_PATH/image"`, "start")...); !strings.Contains(out, "running firmware 1.1.0 from slot b") {
		t.Fatalf("start: %q", out)
	}
	if _, err := run(t, sim("install", p("1.1.0.lgota"))...); !errors.Is(err, artifact.ErrDowngrade) {
		t.Fatalf("reinstall: %v", err)
	}
	mustRun(t, sim("install", p("1.2.0.lgota"))...)
	out := mustRun(t, sim("--health-cmd", "exit 1", "start")...)
	if !strings.Contains(out, "running firmware 1.1.0 from slot b") || !strings.Contains(out, "last rollback: 1.2.0") {
		t.Fatalf("start with failing health: %q", out)
	}
}
