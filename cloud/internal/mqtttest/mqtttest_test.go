package mqtttest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"livegate.dev/cloud/internal/fleet/broker"
	"livegate.dev/proto"
)

func connect(t *testing.T, m *Mosquitto, id string, clean bool, h paho.MessageHandler) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(m.URL()).SetClientID(id).SetUsername(broker.ServiceUser).SetPassword("svc").
		SetCleanSession(clean).SetOrderMatters(false).SetAutoReconnect(false)
	if h != nil {
		o.SetDefaultPublishHandler(h)
	}
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	return c
}

// TestQueuedBacklog: a persistent session offline while 3,000 QoS 1
// messages are published gets every one of them on reconnect (Mosquitto's
// default max_queued_messages of 1000 would drop two thirds silently), also
// after the broker was stopped and started again in between.
func TestQueuedBacklog(t *testing.T) {
	m := Start(t, Config{Users: map[string]string{broker.ServiceUser: "svc"}})
	topic := proto.Topic("k1", proto.TopicSessions)
	var got atomic.Int64
	h := func(paho.Client, paho.Message) { got.Add(1) }
	sub := connect(t, m, "backlog-sub", false, h)
	if tok := sub.Subscribe(topic, 1, nil); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	sub.Disconnect(100)

	const n = 3000
	pub := connect(t, m, "backlog-pub", true, nil)
	var last paho.Token
	for i := range n {
		last = pub.Publish(topic, 1, false, fmt.Sprintf("m%d", i))
	}
	last.WaitTimeout(30 * time.Second)
	pub.Disconnect(100)

	if err := m.Stop(); err != nil { // clean stop: persistence saved
		t.Fatal(err)
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	sub = connect(t, m, "backlog-sub", false, h)
	defer sub.Disconnect(0)
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	if got.Load() != n {
		t.Fatalf("received %d of %d queued messages\n%s", got.Load(), n, m.Log())
	}
}
