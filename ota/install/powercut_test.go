package install

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/download"
	"livegate.dev/ota/internal/failpoint"
	"livegate.dev/ota/internal/otatest"
	"livegate.dev/ota/sign"
)

// Child process protocol: the test binary re-executed with childEnv=1 runs
// the device agent (childMain) instead of the tests.
const (
	childEnv       = "LIVEGATE_OTA_POWERCUT_CHILD"
	childDirEnv    = "LIVEGATE_OTA_POWERCUT_DIR"
	childURLEnv    = "LIVEGATE_OTA_POWERCUT_URL"
	childHealthEnv = "LIVEGATE_OTA_POWERCUT_HEALTH"
	targetVersion  = "1.1.0"
	imageSize      = 256 << 10
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := childMain(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// childMain is what a kiosk's update agent does, start to finish: boot
// (and confirm a pending trial), and if the new version is neither running
// nor known bad, download it resumably, install it, and boot into it.
func childMain() error {
	dir := os.Getenv(childDirEnv)
	ctx := context.Background()
	roots, err := os.ReadFile(filepath.Join(dir, "roots.pem"))
	if err != nil {
		return err
	}
	pubs, err := sign.ParseRootPublic(roots)
	if err != nil {
		return err
	}
	dev, layout, err := simDevice(dir, pubs, os.Getenv(childHealthEnv) != "fail")
	if err != nil {
		return err
	}
	run, err := dev.Start(ctx)
	if err != nil {
		return err
	}
	env, err := layout.ReadEnv()
	if err != nil {
		return err
	}
	if run.Version == targetVersion || env.Slots[run.Slot.Other()].State == StateBad {
		return nil
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "server.pem"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var rel struct {
		size int64
		sum  string
	}
	if _, err := fmt.Sscan(os.Getenv("LIVEGATE_OTA_POWERCUT_RELEASE"), &rel.size, &rel.sum); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	dst := filepath.Join(dir, "download.lgota")
	f := &download.Fetcher{Client: client, Backoff: func(int) time.Duration { return 0 }, Logger: quiet()}
	if err := f.Fetch(ctx, os.Getenv(childURLEnv), dst, rel.size, rel.sum); err != nil {
		return err
	}
	fh, err := os.Open(dst)
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := dev.Install(ctx, fh); err != nil {
		return err
	}
	_, err = dev.Start(ctx)
	return err
}

func simDevice(dir string, roots []ed25519.PublicKey, healthy bool) (*Device, *Sim, error) {
	layout, err := NewSim(filepath.Join(dir, "device"))
	if err != nil {
		return nil, nil, err
	}
	tr, err := sign.NewTrust(roots, otatest.Now)
	if err != nil {
		return nil, nil, err
	}
	dev, err := New(Config{
		Layout: layout, Trust: tr, Kind: artifact.KindFirmware, Board: "sim", Arch: "amd64",
		Health: func(_ context.Context, run Running) error {
			if !healthy && run.Version == targetVersion {
				return errors.New("models self-test failed")
			}
			return nil
		},
		Watchdog: time.Hour, Logger: quiet(),
	})
	return dev, layout, err
}

// rangeLog serves a file over TLS and records Range headers.
type rangeLog struct {
	data   []byte
	mu     sync.Mutex
	ranges []string
}

func (s *rangeLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	s.mu.Unlock()
	http.ServeContent(w, r, "a.lgota", time.Time{}, bytes.NewReader(s.data))
}

type powerCutRig struct {
	t       *testing.T
	dir     string
	srv     *httptest.Server
	log     *rangeLog
	release string
	roots   []ed25519.PublicKey
}

func newPowerCutRig(t *testing.T) *powerCutRig {
	keys := otatest.NewKeys(t)
	dir := t.TempDir()
	r := &powerCutRig{t: t, dir: dir, roots: []ed25519.PublicKey{keys.Root.Public()}}
	if err := os.WriteFile(filepath.Join(dir, "roots.pem"), sign.MarshalRootPublic(keys.Root.Public()), 0o644); err != nil {
		t.Fatal(err)
	}
	// Factory image 1.0.0, installed by the parent.
	dev, _, err := simDevice(dir, r.roots, true)
	if err != nil {
		t.Fatal(err)
	}
	p := otatest.Payload("1.0.0", imageSize)
	if _, err := dev.Provision(context.Background(), bytes.NewReader(keys.Artifact(t, otatest.Manifest(artifact.KindFirmware, "1.0.0", p), p))); err != nil {
		t.Fatal(err)
	}
	// Release 1.1.0 on an HTTPS server.
	p = otatest.Payload(targetVersion, imageSize)
	art := keys.Artifact(t, otatest.Manifest(artifact.KindFirmware, targetVersion, p), p)
	sum := sha256.Sum256(art)
	r.release = fmt.Sprintf("%d %s", len(art), hex.EncodeToString(sum[:]))
	r.log = &rangeLog{data: art}
	r.srv = httptest.NewTLSServer(r.log)
	t.Cleanup(r.srv.Close)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "server.pem"), certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

// runChild runs the agent. With a failpoint it waits for the child to
// reach it and kills it there with SIGKILL; without, it waits for success.
func (r *powerCutRig) runChild(point string, healthy bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	health := "ok"
	if !healthy {
		health = "fail"
	}
	cmd.Env = append(os.Environ(), childEnv+"=1", childDirEnv+"="+r.dir, childURLEnv+"="+r.srv.URL+"/a.lgota",
		childHealthEnv+"="+health, "LIVEGATE_OTA_POWERCUT_RELEASE="+r.release, failpoint.Env+"="+point)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stderr)
	reached := false
	for point != "" && sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if strings.HasPrefix(line, failpoint.Marker) {
			reached = true
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: no cleanup runs
				r.t.Fatal(err)
			}
			break
		}
	}
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	switch {
	case point == "" && err != nil:
		r.t.Fatalf("child without failpoint: %v\n%s", err, out.String())
	case point != "" && !reached:
		r.t.Fatalf("child never reached failpoint %s: %v\n%s", point, err, out.String())
	}
}

// boot powers the device on in the parent and checks it runs a good
// version, verified byte for byte, and returns that version.
func (r *powerCutRig) boot(healthy bool) string {
	r.t.Helper()
	dev, layout, err := simDevice(r.dir, r.roots, healthy)
	if err != nil {
		r.t.Fatal(err)
	}
	run, err := dev.Start(context.Background())
	if err != nil {
		r.t.Fatalf("device did not come back: %v", err)
	}
	env, err := layout.ReadEnv()
	if err != nil {
		r.t.Fatal(err)
	}
	if env.Trial || env.Active != run.Slot || env.Slots[run.Slot].State != StateGood || env.Slots[run.Slot].Version != run.Version {
		r.t.Fatalf("running %+v but env %+v", run, env)
	}
	img, err := os.ReadFile(filepath.Join(layout.SlotPath(run.Slot), "image"))
	if err != nil {
		r.t.Fatal(err)
	}
	if !bytes.Equal(img, otatest.Payload(run.Version, imageSize)) {
		r.t.Fatalf("slot %s image is not version %s", run.Slot, run.Version)
	}
	return run.Version
}

// TestPowerCut kills the update agent with SIGKILL at every step of an
// install and checks that the device then boots into a good version, old or
// new, never neither; and that a later run of the agent still completes
// the update unless the new version was found bad.
func TestPowerCut(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	tests := []struct {
		point         string
		what          string
		childHealthy  bool
		parentHealthy bool
		want          string
	}{
		{"download:partial", "during download", true, true, "1.0.0"},
		{"bootenv.json:before-rename#1", "marking the inactive slot as being written", true, true, "1.0.0"},
		{"image:before-fsync", "after writing the image, before fsync", true, true, "1.0.0"},
		{"image:before-rename", "after fsync, before the image gets its name", true, true, "1.0.0"},
		{"manifest.json:before-rename", "before the slot's manifest is in place", true, true, "1.0.0"},
		{"install:before-switch", "slot written, boot pointer not yet switched", true, true, "1.0.0"},
		{"bootenv.json:before-rename#2", "while switching the boot pointer", true, true, "1.0.0"},
		{"install:after-switch", "after the switch, before the health check", true, true, targetVersion},
		{"install:after-switch", "after the switch; new version then fails its check", true, false, "1.0.0"},
		{"boot:after-count", "first trial boot counted", true, true, targetVersion},
		{"health:during", "during the health check", true, true, targetVersion},
		{"health:during", "during the health check; it fails after reboot", true, false, "1.0.0"},
		{"confirm:before-commit", "health check passed, not yet marked good", true, true, targetVersion},
		{"bootenv.json:before-rename#4", "while marking the new version good", true, true, targetVersion},
		{"rollback:before-write", "health check failed, before the rollback is written", false, false, "1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.point+"/"+tt.what, func(t *testing.T) {
			t.Parallel()
			r := newPowerCutRig(t)
			r.runChild(tt.point, tt.childHealthy)
			if got := r.boot(tt.parentHealthy); got != tt.want {
				t.Fatalf("after a cut %s the device runs %s, want %s", tt.what, got, tt.want)
			}
			// The agent runs again after the reboot and finishes the job.
			r.runChild("", tt.parentHealthy)
			want := targetVersion
			if !tt.parentHealthy {
				want = "1.0.0"
			}
			if got := r.boot(tt.parentHealthy); got != want {
				t.Fatalf("after the agent's next run the device runs %s, want %s", got, want)
			}
			if tt.point == "download:partial" {
				r.log.mu.Lock()
				ranges := r.log.ranges
				r.log.mu.Unlock()
				if len(ranges) != 2 || !strings.HasPrefix(ranges[1], "bytes=") || ranges[1] == "bytes=0-" {
					t.Fatalf("download did not resume from the partial file: Range headers %q", ranges)
				}
			}
		})
	}
}

// TestPowerCutCrashLoop kills the agent during the health check on every
// boot: after MaxAttempts trial boots the bootloader returns to the old
// version by itself, although the health check itself would have passed.
func TestPowerCutCrashLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	r := newPowerCutRig(t)
	for range 3 {
		r.runChild("health:during", true)
	}
	if got := r.boot(true); got != "1.0.0" {
		t.Fatalf("after a crash loop the device runs %s, want 1.0.0", got)
	}
	_, layout, err := simDevice(r.dir, r.roots, true)
	if err != nil {
		t.Fatal(err)
	}
	env, err := layout.ReadEnv()
	if err != nil {
		t.Fatal(err)
	}
	if env.Rollback == nil || !strings.Contains(env.Rollback.Reason, "crash loop") || env.Slots[SlotB].State != StateBad {
		t.Fatalf("env = %+v", env)
	}
}
