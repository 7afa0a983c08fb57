package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"livegate.dev/cloud/internal/servertls"
	fwupdate "livegate.dev/firmware/update"
	"livegate.dev/firmware/update/updatetest"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/download"
	"livegate.dev/ota/install"
	"livegate.dev/proto"
)

// caClient is a device's HTTPS client trusting only the CA in caFile.
func caClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// responses records the update agent's answers after the first.
type responses struct{ c chan proto.CommandResponse }

func (r responses) Respond(_ context.Context, _ string, resp proto.CommandResponse) error {
	r.c <- resp
	return nil
}

// TestLocalOTAOverDevTLS is local OTA without a proxy: `livegate-cloud
// serve --dev --tls-addr` generates a local CA and prints its file and
// fingerprint; a release uploaded over HTTPS reaches a sim device whose
// update agent (firmware/update, with ota/download) trusts only that CA,
// at the artifact URL a rollout would send (the public URL, https://). The
// device installs it and boots it. Restarted on the same data directory,
// the cloud keeps the CA, so the device still trusts it; the plain
// listener only redirects to HTTPS, without Strict-Transport-Security.
func TestLocalOTAOverDevTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	began := time.Now()
	bin := buildBinary(t)
	dir := t.TempDir()
	keys, err := updatetest.NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	rootsFile := filepath.Join(dir, "root.pub")
	os.WriteFile(rootsFile, keys.RootsPEM(), 0o644)
	factory, err := keys.Artifact(artifact.KindFirmware, "1.0.0", 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	release, err := keys.Artifact(artifact.KindFirmware, "1.1.0", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	srv := startServe(t, bin, data, "--tls-addr", "127.0.0.1:0", "--ota-roots", rootsFile)
	started := time.Since(began)

	// What was printed: the CA's file and its fingerprint, as openssl
	// x509 -fingerprint -sha256 shows it.
	if srv.tlsBase == "" || !strings.HasPrefix(srv.publicURL, "https://localhost:") || !srv.newCA {
		t.Fatalf("serving: HTTPS %q, public URL %q, new CA %v", srv.tlsBase, srv.publicURL, srv.newCA)
	}
	if want := filepath.Join(data, "tls", servertls.DevCACertFile); srv.caFile != want {
		t.Fatalf("CA file %s, want %s", srv.caFile, want)
	}
	caPEM, err := os.ReadFile(srv.caFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(caPEM)
	sum := sha256.Sum256(blk.Bytes)
	var hexPairs []string
	for _, b := range sum {
		hexPairs = append(hexPairs, fmt.Sprintf("%02X", b))
	}
	if want := strings.Join(hexPairs, ":"); srv.caSHA256 != want {
		t.Fatalf("printed fingerprint %s, the file's %s", srv.caSHA256, want)
	}
	hc := caClient(t, srv.caFile)

	// The release, uploaded over HTTPS.
	req, _ := http.NewRequest("POST", srv.tlsBase+"/admin/v1/releases", bytes.NewReader(release))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "Bearer kill-test-admin")
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || res.Header.Get("Strict-Transport-Security") != "max-age=0" {
		t.Fatalf("upload: %d (Strict-Transport-Security %q) %s", res.StatusCode, res.Header.Get("Strict-Transport-Security"), body)
	}
	var rel struct {
		ID     string `json:"id"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	}
	json.Unmarshal(body, &rel)
	artifactURL := srv.publicURL + "/api/v1/releases/" + rel.ID + "/artifact" // what a rollout sends

	// A sim device on 1.0.0, and the kiosk's update agent with the CA.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dev, err := updatetest.NewDevice(filepath.Join(dir, "device"), artifact.KindFirmware, keys.Roots(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := updatetest.Provision(ctx, dev, factory); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Start(ctx); err != nil {
		t.Fatal(err)
	}
	answers := responses{c: make(chan proto.CommandResponse, 64)}
	restarted := make(chan struct{})
	agent, err := fwupdate.New(fwupdate.Config{
		Installers: map[artifact.Kind]*install.Device{artifact.KindFirmware: dev},
		Fetcher:    &download.Fetcher{Client: hc, MaxAttempts: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		Dir:        filepath.Join(dir, "agent"), Responder: answers,
		Restart: func(context.Context) error { close(restarted); return nil },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer agent.Close()
	args, _ := json.Marshal(proto.UpdateArgs{Kind: "firmware", Version: "1.1.0", URL: artifactURL, Size: rel.Size, SHA256: rel.SHA256, Rollout: "rol_local"})
	downloadStart := time.Now()
	if r := agent.HandleCommand(ctx, "cmd_1", &proto.Command{Kind: proto.CommandUpdate, Args: args}); r.Status != "accepted" {
		t.Fatalf("update command: %+v", r)
	}
	for done := false; !done; {
		select {
		case <-restarted:
			done = true
		case a := <-answers.c:
			if a.Status == "failed" {
				t.Fatalf("the device's update failed: %+v", a)
			}
		case <-ctx.Done():
			t.Fatal("the device did not install the release within 60 s")
		}
	}
	installed := time.Since(downloadStart)
	agent.Close()
	running, err := dev.Start(ctx) // the restart: boot the new slot, health check, commit
	if err != nil || running.Version != "1.1.0" {
		t.Fatalf("after the restart: %+v, %v", running, err)
	}

	// The plain listener: a redirect to HTTPS, without HSTS; followed,
	// the artifact comes over HTTPS.
	plain := "http://" + strings.TrimPrefix(srv.base, "http://") + "/api/v1/releases/" + rel.ID + "/artifact"
	noFollow := &http.Client{Transport: hc.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = noFollow.Get(plain)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(res.Header.Get("Location"), "https://") ||
		res.Header.Get("Strict-Transport-Security") != "" {
		t.Fatalf("plain HTTP: %d to %q, Strict-Transport-Security %q", res.StatusCode, res.Header.Get("Location"), res.Header.Get("Strict-Transport-Security"))
	}

	// A restart keeps the CA: the device's trust still holds.
	srv.cmd.Process.Signal(syscall.SIGTERM)
	<-srv.done
	again := startServe(t, bin, data, "--tls-addr", "127.0.0.1:0", "--ota-roots", rootsFile)
	if again.newCA || again.caSHA256 != srv.caSHA256 {
		t.Fatalf("restart: new CA %v, fingerprint %s → %s", again.newCA, srv.caSHA256, again.caSHA256)
	}
	f := &download.Fetcher{Client: hc, MaxAttempts: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	dst := filepath.Join(dir, "again.lgota")
	if err := f.Fetch(ctx, again.publicURL+"/api/v1/releases/"+rel.ID+"/artifact", dst, rel.Size, rel.SHA256); err != nil {
		t.Fatalf("download after the cloud's restart: %v", err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, release) {
		t.Fatal("the artifact downloaded after the restart differs")
	}
	t.Logf("cloud built and started with dev TLS in %v; 1 MiB release: accepted → downloaded, verified, installed in %v; whole test %v",
		started.Round(time.Millisecond), installed.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// TestServeReloadsTLSOnSIGHUP: serve with --tls-cert and --tls-key reads
// them again on SIGHUP (no handshake in between, so not the change check);
// a mismatched pair is refused and the previous certificate stays.
func TestServeReloadsTLSOnSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := servertls.EnsureDevCA(filepath.Join(dir, "a"), nil, time.Now(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	b, err := servertls.EnsureDevCA(filepath.Join(dir, "b"), nil, time.Now(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "site.crt"), filepath.Join(dir, "site.key")
	cp := func(from, to string) {
		t.Helper()
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cp(a.CertFile, certFile)
	cp(a.KeyFile, keyFile)
	srv := startServe(t, bin, filepath.Join(dir, "data"), "--tls-addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	if srv.caFile != "" {
		t.Fatalf("a CA was generated beside --tls-cert: %s", srv.caFile)
	}
	get := func(caFile string) error {
		res, err := caClient(t, caFile).Get(srv.tlsBase + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err
	}
	if err := get(a.CAFile); err != nil {
		t.Fatal(err)
	}
	count := func(msg string) int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		n := 0
		for _, m := range srv.msgs {
			if m == msg {
				n++
			}
		}
		return n
	}
	waitLog := func(msg string, n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); count(msg) < n; {
			if time.Now().After(deadline) {
				t.Fatalf("no %q log line after SIGHUP", msg)
			}
			time.Sleep(20 * time.Millisecond) // polling with a deadline
		}
	}

	// Half a renewal: b's certificate with a's key. Refused; a's stays.
	cp(b.CertFile, certFile)
	srv.cmd.Process.Signal(syscall.SIGHUP)
	waitLog("TLS certificate not reloaded; serving the previous one", 1)
	if err := get(a.CAFile); err != nil {
		t.Fatalf("after a refused reload: %v", err)
	}
	// The whole renewal.
	cp(b.KeyFile, keyFile)
	srv.cmd.Process.Signal(syscall.SIGHUP)
	waitLog("TLS certificate reloaded", 1)
	if err := get(b.CAFile); err != nil {
		t.Fatalf("after the reload: %v", err)
	}
	if err := get(a.CAFile); err == nil {
		t.Fatal("the old certificate is still served")
	}
	if count("stopping after a failure") > 0 {
		t.Fatal("SIGHUP stopped the server")
	}
}
