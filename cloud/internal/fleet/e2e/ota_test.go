package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/fleet"
	"livegate.dev/cloud/internal/fleet/fleetapi"
	"livegate.dev/cloud/internal/pgtest"
	"livegate.dev/cloud/internal/releases"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/sign"
)

const otaAdmin = "ota-e2e-admin-token-0123456789abcdef"

// otaCloud is a real livegate-cloud daemon serving HTTPS, with the fleet
// (embedded broker) and the OTA releases wired as serve.go wires them.
type otaCloud struct {
	url    string
	client *http.Client // trusts the daemon's certificate
}

// selfSigned returns a TLS certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "livegate-cloud e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// startOTACloud starts the daemon on bbolt, or on PostgreSQL when dsn is
// set (the main store and the releases repository both).
func startOTACloud(t *testing.T, rootsFile, dsn string) *otaCloud {
	t.Helper()
	cert, pool := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "https://" + ln.Addr().String()
	tln := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	dataDir := t.TempDir()
	link := &fleet.Link{}
	ho := releases.HookOptions{DataDir: dataDir, RootsFile: rootsFile, AdminToken: otaAdmin, Notifier: link,
		Started: func(s *releases.Service) { link.SetListener(s) }, PostgresDSN: dsn}
	mq := fleetapi.Options{DataDir: dataDir, MQTTAddr: "127.0.0.1:0", AdminToken: otaAdmin, Link: link}
	o := daemon.Options{Listener: tln, DataDir: dataDir, AdminToken: otaAdmin,
		PublicURL: base, RateLimit: -1, Logger: quiet, BodyLimit: 8 << 20,
		Routes: fleetapi.Chain(releases.Hook(ho), fleetapi.Hook(mq))}
	if dsn != "" {
		o.Store, o.PostgresDSN = daemon.StorePostgres, dsn
	}
	d, err := daemon.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	return &otaCloud{url: base, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// do sends an admin request with a JSON (or raw, for []byte) body and
// decodes the answer into out; it fails the test on another status.
func (c *otaCloud) do(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ct = bytes.NewReader(b), "application/octet-stream"
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, c.url+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Authorization", "Bearer "+otaAdmin)
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

// otaKeys is a root key and a signing key it certified, valid around now.
type otaKeys struct {
	root *sign.RootKey
	sk   *sign.SigningKey
}

func newOTAKeys(t testing.TB) otaKeys {
	t.Helper()
	root, err := sign.GenerateRootKey()
	if err != nil {
		t.Fatal(err)
	}
	sk, err := sign.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if sk.Cert, err = root.Certify(sk.Public(), 1, now.Add(-24*time.Hour), now.AddDate(0, 1, 0)); err != nil {
		t.Fatal(err)
	}
	return otaKeys{root, sk}
}

// artifact builds a signed sim firmware artifact of version.
func (k otaKeys) artifact(t testing.TB, version string) []byte {
	t.Helper()
	payload := bytes.Repeat([]byte("livegate firmware "+version+"\n"), 4096)
	size, sum, err := artifact.HashPayload(bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	m := &artifact.Manifest{Format: artifact.ManifestFormat, Kind: artifact.KindFirmware, Version: version,
		Boards: []string{"sim"}, Archs: []string{"amd64", "arm64"}, MinVersion: "1.0.0",
		PayloadSize: size, PayloadSHA256: sum, Notes: "e2e " + version, Created: time.Now().Add(-time.Minute)}
	if version == "1.0.0" {
		m.MinVersion = "0.0.0" // the factory image
	}
	var b bytes.Buffer
	if err := artifact.Write(&b, m, bytes.NewReader(payload), k.sk, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestOTARolloutOverFleet: ten sim kiosks enrolled through the enrollment
// API and connected to the embedded broker, nine of them labelled for the
// rollouts; a signed release uploaded through the admin API fails its
// health check on the first stage's devices, which restart, roll back and
// report rolled_back after the restart, and the rollout aborts before the
// later stage is told; a good release then reaches every labelled device,
// with per-device progress in the admin API and the new version in the
// device registry.
func TestOTARolloutOverFleet(t *testing.T) { testOTARollout(t, "") }

// TestOTARolloutOverFleetPostgres is the same on PostgreSQL (the session
// store and the releases repository, with its migrations).
func TestOTARolloutOverFleetPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	dsn, err := srv.NewDatabase("ota_e2e")
	if err != nil {
		t.Fatal(err)
	}
	testOTARollout(t, dsn)
}

func testOTARollout(t *testing.T, dsn string) {
	const n = 10
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	keys := newOTAKeys(t)
	roots := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(roots, sign.MarshalRootPublic(keys.root.Public()), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startOTACloud(t, roots, dsn)
	var tenant struct {
		TenantID string `json:"tenant_id"`
	}
	c.do(t, "POST", "/admin/v1/tenants", map[string]string{"name": "branches", "mode": "live"}, 201, &tenant)

	// The fleet: n kiosks on 1.0.0, enrolled over HTTPS with their own keys.
	// kiosk-09 is at another site, outside the rollouts' label.
	bad := map[string]bool{"1.1.0": true}
	factory := keys.artifact(t, "1.0.0")
	kiosks := map[string]*SimKiosk{}
	var ids []string
	for i := range n {
		id := fmt.Sprintf("kiosk-%02d", i)
		ids = append(ids, id)
		var enr fleetapi.EnrollmentCreated
		c.do(t, "POST", "/admin/v1/devices/enrollments", map[string]string{"tenant_id": tenant.TenantID, "device_id": id}, 201, &enr)
		cr, err := fsync.Enroll(ctx, c.client, c.url+"/api/v1/devices/enroll", enr.Token, true)
		if err != nil {
			t.Fatal(err)
		}
		k, err := NewSimKiosk(SimKioskConfig{Credentials: cr, BrokerURL: cr.BrokerURL, Dir: t.TempDir(), Roots: []ed25519.PublicKey{keys.root.Public()},
			Factory: factory, HTTP: c.client, Bad: bad, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		kiosks[id] = k
		done := make(chan error, 1)
		go func() { done <- k.Run(ctx) }()
		t.Cleanup(func() {
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
		site := "lisbon"
		if i == n-1 {
			site = "porto"
		}
		c.do(t, "PUT", "/admin/v1/devices/"+id+"/labels", map[string]any{"labels": map[string]string{"site": site}}, 200, nil)
	}
	// Every kiosk is online and has reported its board.
	waitFor(t, 30*time.Second, "boards from telemetry", func() bool {
		for _, id := range ids {
			var f releases.DeviceFacts
			c.do(t, "GET", "/admin/v1/devices/"+id+"/labels", nil, 200, &f)
			if f.Board != "sim" {
				return false
			}
		}
		return true
	})

	var badRel, goodRel releases.Release
	c.do(t, "POST", "/admin/v1/releases", keys.artifact(t, "1.1.0"), 201, &badRel)
	c.do(t, "POST", "/admin/v1/releases", keys.artifact(t, "1.2.0"), 201, &goodRel)

	// Rollout 1: stages 30 % then 100 %, abort on the first failure. A
	// cohort is a hash of the rollout id, so start again (after stopping)
	// in the rare case that the first stage holds no device.
	var ro releases.RolloutView
	for try := 0; ; try++ {
		ro = releases.RolloutView{}
		c.do(t, "POST", "/admin/v1/rollouts", map[string]any{"release_id": badRel.ID, "stages": []float64{30, 100},
			"abort_failures": 1, "labels": map[string]string{"site": "lisbon"}}, 201, &ro)
		if s0 := stageDevices(ro, 0); len(s0) > 0 && len(s0) < n-1 {
			break
		}
		if try == 10 {
			t.Fatal("no usable first stage in 10 rollouts")
		}
		c.do(t, "POST", "/admin/v1/rollouts/"+ro.ID+"/stop", map[string]string{"reason": "empty first stage"}, 200, nil)
	}
	if len(ro.Devices) != n-1 || ro.Devices["kiosk-09"] != nil {
		t.Fatalf("rollout 1 took %d devices (want the %d at site lisbon)", len(ro.Devices), n-1)
	}
	first, ro1 := stageDevices(ro, 0), ro.ID
	waitFor(t, 60*time.Second, "first stage rolled back", func() bool {
		ro = releases.RolloutView{}
		c.do(t, "GET", "/admin/v1/rollouts/"+ro1, nil, 200, &ro)
		for _, id := range first {
			if ro.Devices[id].State != releases.StateRolledBack {
				return false
			}
		}
		return true
	})
	if ro.State != releases.RolloutAborted {
		t.Fatalf("rollout 1 is %s (%s), want aborted", ro.State, ro.Reason)
	}
	t.Logf("rollout 1: %d of %d devices in the first stage rolled back; %s", len(first), len(ro.Devices), ro.Reason)
	for _, id := range ids {
		p := ro.Devices[id]
		switch {
		case p == nil: // outside the label
			if got := kiosks[id].Told(ro.ID); got != 0 {
				t.Fatalf("%s is outside the rollout but was told %d times", id, got)
			}
		case p.Stage == 0:
			if kiosks[id].Running() != "1.0.0" || !strings.Contains(p.Error, "health check failed") || kiosks[id].Restarts() != 1 {
				t.Fatalf("%s: runs %s after the failed health check, %d restarts; progress %+v", id, kiosks[id].Running(), kiosks[id].Restarts(), p)
			}
		default:
			if p.State != releases.StatePending || kiosks[id].Told(ro.ID) != 0 {
				t.Fatalf("%s of a later stage: %+v, told %d times", id, p, kiosks[id].Told(ro.ID))
			}
		}
	}
	c.do(t, "POST", "/admin/v1/rollouts/"+ro.ID+"/advance", nil, 409, nil)
	waitFor(t, 30*time.Second, "kiosks settled", func() bool {
		for _, k := range kiosks {
			if !k.Settled() {
				return false
			}
		}
		return true
	})

	// Rollout 2: the good release, 30 % then 100 %, advanced by the operator.
	start := time.Now()
	var ro2 releases.RolloutView
	c.do(t, "POST", "/admin/v1/rollouts", map[string]any{"release_id": goodRel.ID, "stages": []float64{30, 100},
		"abort_failures": 1, "labels": map[string]string{"site": "lisbon"}}, 201, &ro2)
	id2 := ro2.ID
	waitFor(t, 60*time.Second, "first stage of rollout 2", func() bool {
		ro2 = releases.RolloutView{}
		c.do(t, "GET", "/admin/v1/rollouts/"+id2, nil, 200, &ro2)
		return !ro2.StageDoneAt.IsZero()
	})
	c.do(t, "POST", "/admin/v1/rollouts/"+id2+"/advance", nil, 200, nil)
	waitFor(t, 60*time.Second, "rollout 2 completed", func() bool {
		ro2 = releases.RolloutView{}
		c.do(t, "GET", "/admin/v1/rollouts/"+id2, nil, 200, &ro2)
		return ro2.State != releases.RolloutRunning
	})
	took := time.Since(start)
	if ro2.State != releases.RolloutCompleted || ro2.Counts[releases.StateSucceeded] != n-1 || len(ro2.Devices) != n-1 {
		t.Fatalf("rollout 2: %s %s counts %v", ro2.State, ro2.Reason, ro2.Counts)
	}
	withFigures := 0
	for id, p := range ro2.Devices {
		if p.State != releases.StateSucceeded || kiosks[id].Running() != "1.2.0" || kiosks[id].Told(ro2.ID) != 1 {
			t.Fatalf("%s: %+v, runs %s, told %d times", id, p, kiosks[id].Running(), kiosks[id].Told(ro2.ID))
		}
		// The download figures of the agent's progress answers, complete
		// once the device installed (a device whose progress answers were
		// all given up on has none).
		if p.BytesTotal != 0 {
			if p.BytesDone != goodRel.Size || p.BytesTotal != goodRel.Size {
				t.Fatalf("%s: downloaded %d of %d bytes, release %d", id, p.BytesDone, p.BytesTotal, goodRel.Size)
			}
			withFigures++
		}
	}
	if withFigures == 0 {
		t.Fatal("no device's download figures in the rollout")
	}
	if kiosks["kiosk-09"].Running() != "1.0.0" || kiosks["kiosk-09"].Restarts() != 0 {
		t.Fatal("kiosk-09 (outside the label) was updated")
	}
	// The registry shows what each kiosk runs after its restart.
	waitFor(t, 30*time.Second, "registry versions", func() bool {
		var list fleetapi.DeviceList
		c.do(t, "GET", "/admin/v1/devices?tenant_id="+tenant.TenantID, nil, 200, &list)
		for _, d := range list.Devices {
			want := "1.2.0"
			if d.ID == "kiosk-09" {
				want = "1.0.0"
			}
			if d.FirmwareVersion != want {
				return false
			}
		}
		return len(list.Devices) == n
	})
	t.Logf("rollout 2: %d devices in 2 stages, start → all succeeded in %v (operator advance included); %d with download figures", n-1, took.Round(time.Millisecond), withFigures)
}

// stageDevices lists the devices of stage s, sorted.
func stageDevices(ro releases.RolloutView, s int) []string {
	var out []string
	for id, p := range ro.Devices {
		if p.Stage == s {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// TestOTARolloutReachesOfflineKiosk: an update command sent while a kiosk
// has no session on the embedded broker (which keeps sessions in memory
// only: a kiosk not connected since the cloud started, or since the broker
// restarted) is dropped by the broker. The rollout must send it again when
// the kiosk's session comes online: the kiosk then installs the release
// once (one distinct command id, one restart) and the rollout completes.
// Before the fix the command was lost and the rollout waited forever.
func TestOTARolloutReachesOfflineKiosk(t *testing.T) {
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
	}
	c.do(t, "POST", "/admin/v1/tenants", map[string]string{"name": "branches", "mode": "live"}, 201, &tenant)
	factory := keys.artifact(t, "1.0.0")
	kiosks := map[string]*SimKiosk{}
	run := func(id string) {
		k := kiosks[id]
		done := make(chan error, 1)
		go func() { done <- k.Run(ctx) }()
		t.Cleanup(func() {
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	for _, id := range []string{"kiosk-on", "kiosk-off"} {
		var enr fleetapi.EnrollmentCreated
		c.do(t, "POST", "/admin/v1/devices/enrollments", map[string]string{"tenant_id": tenant.TenantID, "device_id": id}, 201, &enr)
		cr, err := fsync.Enroll(ctx, c.client, c.url+"/api/v1/devices/enroll", enr.Token, true)
		if err != nil {
			t.Fatal(err)
		}
		k, err := NewSimKiosk(SimKioskConfig{Credentials: cr, BrokerURL: cr.BrokerURL, Dir: t.TempDir(), Roots: []ed25519.PublicKey{keys.root.Public()},
			Factory: factory, HTTP: c.client, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		kiosks[id] = k
	}
	run("kiosk-on") // kiosk-off stays off: no session on the broker
	waitFor(t, 30*time.Second, "kiosk-on online", func() bool {
		var f releases.DeviceFacts
		c.do(t, "GET", "/admin/v1/devices/kiosk-on/labels", nil, 200, &f)
		return f.Board == "sim"
	})
	var rel releases.Release
	c.do(t, "POST", "/admin/v1/releases", keys.artifact(t, "1.1.0"), 201, &rel)
	var ro releases.RolloutView
	c.do(t, "POST", "/admin/v1/rollouts", map[string]any{"release_id": rel.ID}, 201, &ro)
	if len(ro.Devices) != 2 || ro.Devices["kiosk-off"].State != releases.StateNotified {
		t.Fatalf("rollout started with %+v", ro.Devices)
	}
	id := ro.ID
	waitFor(t, 60*time.Second, "kiosk-on succeeded", func() bool {
		ro = releases.RolloutView{}
		c.do(t, "GET", "/admin/v1/rollouts/"+id, nil, 200, &ro)
		return ro.Devices["kiosk-on"].State == releases.StateSucceeded
	})
	if p := ro.Devices["kiosk-off"]; p.State != releases.StateNotified || kiosks["kiosk-off"].Told(id) != 0 {
		t.Fatalf("kiosk-off, off: %+v, told %d times", p, kiosks["kiosk-off"].Told(id))
	}
	start := time.Now()
	run("kiosk-off") // its session comes online: the command must reach it now
	waitFor(t, 60*time.Second, "rollout completed after kiosk-off came online", func() bool {
		ro = releases.RolloutView{}
		c.do(t, "GET", "/admin/v1/rollouts/"+id, nil, 200, &ro)
		return ro.State != releases.RolloutRunning
	})
	took := time.Since(start)
	if ro.State != releases.RolloutCompleted || ro.Counts[releases.StateSucceeded] != 2 {
		t.Fatalf("rollout: %s %s counts %v", ro.State, ro.Reason, ro.Counts)
	}
	for id2, k := range kiosks {
		if k.Running() != "1.1.0" || k.Told(id) != 1 || k.Restarts() != 1 {
			t.Fatalf("%s runs %s, got %d distinct commands, restarted %d times (want 1.1.0, 1, 1)", id2, k.Running(), k.Told(id), k.Restarts())
		}
	}
	t.Logf("kiosk-off online → rollout completed in %v", took.Round(time.Millisecond))
}
