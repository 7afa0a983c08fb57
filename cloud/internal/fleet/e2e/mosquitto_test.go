package e2e

import (
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"livegate.dev/cloud/internal/fleet/broker"
	"livegate.dev/cloud/internal/fleet/ingest"
	"livegate.dev/cloud/internal/mqtttest"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/proto"
)

// TestMosquittoMutualTLS is the external-broker mode: Mosquitto with the
// generated config and ACL, mutual TLS with the device CA
// (use_identity_as_username), the cloud with a service certificate.
func TestMosquittoMutualTLS(t *testing.T) {
	if !mqtttest.Available() {
		t.Skip("mosquitto not installed")
	}
	ctx := context.Background()
	c := newCloud(t, t.TempDir())
	now := time.Now()
	srvCert, srvKey, err := c.ca.IssueKeyPair("mosquitto", []string{"127.0.0.1"}, true, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	mq := mqtttest.Start(t, mqtttest.Config{CA: c.ca.CertPEM(), Cert: srvCert, Key: srvKey})
	conf, _ := os.ReadFile(filepath.Join(mq.Dir(), "mosquitto.conf"))
	for _, want := range []string{"max_queued_messages 20000", "require_certificate true", "use_identity_as_username true", "allow_anonymous false"} {
		if !strings.Contains(string(conf), want) {
			t.Fatalf("generated mosquitto.conf lacks %q", want)
		}
	}
	svcCert, svcKey, err := c.ca.IssueKeyPair(broker.ServiceUser, nil, false, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(svcCert, svcKey)
	if err != nil {
		t.Fatal(err)
	}
	var n counter
	startIngest(t, ctx, ingest.Config{Store: c.st, BrokerURL: mq.URL(), Notifier: &n,
		TLS: &tls.Config{RootCAs: c.ca.Pool(), Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}})

	a := c.enroll(t, "kiosk-m1", true)
	bcr := c.enroll(t, "kiosk-m2", true)
	d := startDevice(t, ctx, a, mq.URL(), t.TempDir(), nil)
	var ids []string
	for i := range 50 {
		r := result("mtls", i)
		if _, err := d.c.Submit(r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.SessionID)
	}
	waitFor(t, 30*time.Second, "outbox drained", func() bool { return d.ob.Stats().Entries == 0 })
	verifyExactlyOnce(t, c.st, "kiosk-m1", ids)

	// Without a certificate the broker refuses; kiosk-m2's certificate
	// cannot publish as kiosk-m1 (Mosquitto drops the message).
	noCert := *a
	noCert.CertPEM, noCert.KeyPEM = nil, nil
	if err := rawConnect(&noCert, mq.URL(), "kiosk-m1"); err == nil {
		t.Fatal("Mosquitto accepted a device without a client certificate")
	}
	cl := paho.NewClient(rawOptions(bcr, mq.URL(), "kiosk-m2"))
	if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer cl.Disconnect(0)
	_, forged, _ := fsync.EncodeResult(result("mtls-forged", 1), time.Now())
	cl.Publish(proto.Topic("kiosk-m1", proto.TopicSessions), 1, false, forged).WaitTimeout(5 * time.Second)
	_, own, _ := fsync.EncodeResult(result("mtls-own", 1), time.Now())
	cl.Publish(proto.Topic("kiosk-m2", proto.TopicSessions), 1, false, own).WaitTimeout(5 * time.Second)
	waitFor(t, 10*time.Second, "own result stored", func() bool { return n.n.Load() >= 51 })
	if _, err := c.st.GetSession(ctx, result("mtls-forged", 1).SessionID); err == nil {
		t.Fatal("a result published on another device's topic was stored")
	}
}
