package fleet

import (
	"context"
	"errors"
	"testing"
	"time"

	"livegate.dev/proto"
)

type recordListener struct {
	resps  []string
	tels   []string
	online []string
}

func (r *recordListener) DeviceOnline(_ context.Context, dev string) {
	r.online = append(r.online, dev)
}

func (r *recordListener) CommandResponse(_ context.Context, dev string, c *proto.CommandResponse) {
	r.resps = append(r.resps, dev+":"+c.Status)
}

func (r *recordListener) Telemetry(_ context.Context, dev string, t *proto.Telemetry) {
	r.tels = append(r.tels, dev+":"+t.Board)
}

func TestLink(t *testing.T) {
	ctx := context.Background()
	var l Link
	if err := l.SendUpdate(ctx, "k1", "cmd_1", time.Now(), proto.UpdateArgs{}); !errors.Is(err, ErrNotLinked) {
		t.Fatalf("unlinked send: %v", err)
	}
	l.CommandResponse(ctx, "k1", &proto.CommandResponse{Status: "done"}) // no listener: dropped
	rec := &recordListener{}
	l.SetListener(rec)
	l.CommandResponse(ctx, "k1", &proto.CommandResponse{Status: "done"})
	l.Telemetry(ctx, "k1", &proto.Telemetry{Board: "sim"})
	l.DeviceOnline(ctx, "k1")
	if len(rec.resps) != 1 || rec.resps[0] != "k1:done" || len(rec.tels) != 1 || rec.tels[0] != "k1:sim" || len(rec.online) != 1 {
		t.Fatalf("forwarded %v %v %v", rec.resps, rec.tels, rec.online)
	}
	l.SetListener(nil)
	l.Telemetry(ctx, "k1", &proto.Telemetry{Board: "sim"})
	if len(rec.tels) != 1 {
		t.Fatal("forwarded after the listener was removed")
	}
}
