package e2e

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"livegate.dev/cloud/internal/fleet/broker"
	"livegate.dev/cloud/internal/fleet/ingest"
	"livegate.dev/cloud/internal/mqtttest"
	fsync "livegate.dev/firmware/sync"
	"livegate.dev/proto"
)

const benchResults = 10000

// BenchmarkDrain drains 10,000 buffered results after a (re)connect: device
// outbox → broker → cloud store (+ webhook delivery) → ack → outbox empty,
// and in the same run publishes 10,000 raw QoS 1 messages of the same size
// through the same broker (256 in flight, like the device's window). It
// reports results/s, raw msg/s and their ratio.
func BenchmarkDrain(b *testing.B) {
	for _, kind := range []string{"embedded", "mosquitto"} {
		b.Run(kind, func(b *testing.B) {
			for range b.N {
				drainOnce(b, kind)
			}
		})
	}
}

func drainOnce(b *testing.B, kind string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newCloud(b, b.TempDir())
	var url, svc string
	var cr *fsync.Credentials
	var ingestTLS *tls.Config
	switch kind {
	case "embedded":
		var br *broker.Broker
		br, svc = startEmbedded(b, ctx, c, false)
		url = br.URL()
		cr = c.enroll(b, "kiosk-bench", false)
		cr.CAPEM = nil
	default:
		if !mqtttest.Available() {
			b.Skip("mosquitto not installed")
		}
		svc = randHex(16)
		cr = c.enroll(b, "kiosk-bench", false)
		cr.CAPEM = nil
		mq := mqtttest.Start(b, mqtttest.Config{Users: map[string]string{broker.ServiceUser: svc, "kiosk-bench": cr.Password}})
		url = mq.URL()
	}
	var n counter
	startIngest(b, ctx, ingest.Config{Store: c.st, BrokerURL: url, Username: broker.ServiceUser, Password: svc, TLS: ingestTLS, Notifier: &n})
	dir := b.TempDir()
	fillOutbox(b, filepath.Join(dir, "outbox.db"), "bench", benchResults)
	_, sample, _ := fsync.EncodeResult(result("bench", 1), time.Now())

	b.ResetTimer()
	start := time.Now()
	d := startDevice(b, ctx, cr, url, dir, func(cfg *fsync.Config) { cfg.Window = 256 })
	waitFor(b, 5*time.Minute, "outbox drained", func() bool { return d.ob.Stats().Entries == 0 })
	drain := time.Since(start)
	d.stop()
	b.StopTimer()

	raw := rawPublish(b, url, svc, len(sample))
	rps := float64(benchResults) / drain.Seconds()
	b.ReportMetric(rps, "results/s")
	b.ReportMetric(raw, "raw-qos1-msg/s")
	b.ReportMetric(rps/raw, "ratio")
}

// rawPublish publishes benchResults QoS 1 messages of size bytes with at
// most 256 awaiting PUBACK, to a topic a second client subscribes to, and
// returns msg/s until the subscriber got them all.
func rawPublish(b *testing.B, url, svc string, size int) float64 {
	opts := func(id string) *paho.ClientOptions {
		return paho.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(broker.ServiceUser).SetPassword(svc).
			SetCleanSession(true).SetOrderMatters(false)
	}
	var got sync.WaitGroup
	got.Add(benchResults)
	sub := paho.NewClient(opts("bench-sub"))
	if t := sub.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		b.Fatal(t.Error())
	}
	defer sub.Disconnect(0)
	topic := proto.Topic("bench-raw", proto.TopicAcks) // no ingest subscription
	if t := sub.Subscribe(topic, 1, func(paho.Client, paho.Message) { got.Done() }); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		b.Fatal(t.Error())
	}
	pub := paho.NewClient(opts("bench-pub"))
	if t := pub.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		b.Fatal(t.Error())
	}
	defer pub.Disconnect(0)
	payload := make([]byte, size)
	sem := make(chan struct{}, 256)
	start := time.Now()
	for range benchResults {
		sem <- struct{}{}
		t := pub.Publish(topic, 1, false, payload)
		go func() { t.Wait(); <-sem }()
	}
	got.Wait()
	return float64(benchResults) / time.Since(start).Seconds()
}
