package broker

import (
	"context"
	"log/slog"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// redactHandler is the broker library's log handler: the library logs whole
// packets and wills when it refuses or fails one ("pk", "packet", "will"),
// and a packet carries a device's result (a face, base64) or, for a
// CONNECT, the device's password. Each such value is replaced by what an
// operator needs to follow the event — the packet's type, topic, id and
// payload size — before the record reaches the service's handler.
type redactHandler struct{ next slog.Handler }

func redactLogs(h slog.Handler) slog.Handler { return redactHandler{next: h} }

func (h redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return redactHandler{next: h.next.WithAttrs(red)}
}

func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{next: h.next.WithGroup(name)}
}

// redactAttr summarises a packet or a will; other values pass unchanged
// (groups are walked).
func redactAttr(a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindGroup:
		g := a.Value.Group()
		red := make([]any, len(g))
		for i, x := range g {
			red[i] = redactAttr(x)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
	default:
		return a
	}
	switch v := a.Value.Any().(type) {
	case packets.Packet:
		return packetSummary(a.Key, &v)
	case *packets.Packet:
		if v == nil {
			return a
		}
		return packetSummary(a.Key, v)
	case mqtt.Will:
		return slog.Group(a.Key, slog.String("topic", v.TopicName), slog.Int("payload_bytes", len(v.Payload)))
	case *mqtt.Will:
		if v == nil {
			return a
		}
		return slog.Group(a.Key, slog.String("topic", v.TopicName), slog.Int("payload_bytes", len(v.Payload)))
	}
	return a
}

func packetSummary(key string, pk *packets.Packet) slog.Attr {
	return slog.Group(key,
		slog.String("type", packets.PacketNames[pk.FixedHeader.Type]),
		slog.String("topic", pk.TopicName),
		slog.Int("packet_id", int(pk.PacketID)),
		slog.Int("payload_bytes", len(pk.Payload)))
}
