package broker

import (
	"context"
	"crypto/x509"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	bbolt "go.etcd.io/bbolt"

	"livegate.dev/proto"
)

type allowDevices struct{}

func (allowDevices) AuthenticateDevice(context.Context, string, []byte, *x509.Certificate) error {
	return nil
}

// BenchmarkPersistence is why the embedded broker keeps no bbolt storage
// hook: QoS 1 publish rate (256 in flight, to a subscriber) with and
// without mochi-mqtt's bolt hook.
func BenchmarkPersistence(b *testing.B) {
	for _, persist := range []bool{false, true} {
		name := "memory"
		if persist {
			name = "bolt-hook"
		}
		b.Run(name, func(b *testing.B) {
			br, err := New(Config{Addr: "127.0.0.1:0", Devices: allowDevices{}, ServicePassword: []byte("x"), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			if persist {
				err := br.srv.AddHook(new(bolt.Hook), &bolt.Options{Path: filepath.Join(b.TempDir(), "mochi.db"),
					Options: &bbolt.Options{Timeout: time.Second}})
				if err != nil {
					b.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { br.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			opts := func(id string) *paho.ClientOptions {
				return paho.NewClientOptions().AddBroker(br.URL()).SetClientID(id).SetUsername(ServiceUser).SetPassword("x").SetOrderMatters(false)
			}
			sub := paho.NewClient(opts("sub").SetCleanSession(false))
			if t := sub.Connect(); !t.WaitTimeout(5*time.Second) || t.Error() != nil {
				b.Fatal(t.Error())
			}
			defer sub.Disconnect(0)
			var wg sync.WaitGroup
			topic := proto.Topic("bench", proto.TopicSessions)
			if t := sub.Subscribe(topic, 1, func(paho.Client, paho.Message) { wg.Done() }); !t.WaitTimeout(5*time.Second) || t.Error() != nil {
				b.Fatal(t.Error())
			}
			pub := paho.NewClient(opts("pub"))
			if t := pub.Connect(); !t.WaitTimeout(5*time.Second) || t.Error() != nil {
				b.Fatal(t.Error())
			}
			defer pub.Disconnect(0)
			payload := make([]byte, 512)
			sem := make(chan struct{}, 256)
			wg.Add(b.N)
			b.ResetTimer()
			for range b.N {
				sem <- struct{}{}
				t := pub.Publish(topic, 1, false, payload)
				go func() { t.Wait(); <-sem }()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}
