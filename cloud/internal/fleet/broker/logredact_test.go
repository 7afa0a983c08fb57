package broker

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// TestRedactLogs: what the broker library logs of a packet or a will is its
// type, topic, id and size — never its payload or a CONNECT's password —
// whether the packet comes as a value, a pointer, inside a group or in
// attributes added beforehand; other attributes pass unchanged.
func TestRedactLogs(t *testing.T) {
	secret := "FACE-BYTES-c2VjcmV0"
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, TopicName: "livegate/v1/dev_1/results",
		PacketID: 7, Payload: []byte(secret)}
	conn := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}}
	conn.Connect.Password = []byte("device-password-" + secret)
	will := mqtt.Will{TopicName: "livegate/v1/dev_1/status", Payload: []byte(secret)}
	var buf bytes.Buffer
	log := slog.New(redactLogs(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	log.With("pk", pk).Warn("error processing packet", "client", "dev_1")
	log.Debug("packet rejected", "packet", &conn)
	log.Error("parse will error", "will", will, slog.Group("g", "packet", pk))
	out := buf.String()
	if strings.Contains(out, "c2VjcmV0") || strings.Contains(out, "device-password") {
		t.Fatalf("a payload or password reached the log:\n%s", out)
	}
	for _, want := range []string{`"type":"Publish"`, `"topic":"livegate/v1/dev_1/results"`, `"packet_id":7`, `"payload_bytes":19`,
		`"type":"Connect"`, `"will":{"topic":"livegate/v1/dev_1/status","payload_bytes":19}`, `"client":"dev_1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
}
