package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"livegate.dev/proto"
)

// Listener receives the device reports the fleet does not handle itself:
// responses to commands and telemetry, and when a device's session comes
// (back) online. The fleet calls it concurrently, from the ingest's
// message handlers after the broker delivered the message, and (with the
// embedded broker) from a goroutine per subscription; it must not block
// for long.
type Listener interface {
	CommandResponse(ctx context.Context, deviceID string, r *proto.CommandResponse)
	Telemetry(ctx context.Context, deviceID string, t *proto.Telemetry)
	// DeviceOnline: commands sent to the device from now on reach it
	// (embedded broker: its commands subscription was granted; external
	// broker: it published its "online" birth). A command sent while it
	// had no session was lost and may be sent again now.
	DeviceOnline(ctx context.Context, deviceID string)
}

// ErrNotLinked: the Link has no Fleet yet (or any more).
var ErrNotLinked = errors.New("fleet: not linked to a running fleet")

// Link joins the fleet to a part built separately (the OTA rollouts) when
// the two are made by different daemon hooks: the other part sets itself
// as the Listener and sends its commands through the Link; the fleet's
// hook sets the Fleet. Build the listener first, so that no report that
// arrives as soon as the fleet connects is dropped. The zero Link is ready
// to use; it is safe for concurrent use.
type Link struct {
	fleet    atomic.Pointer[Fleet]
	listener atomic.Pointer[Listener]
}

var _ Listener = (*Link)(nil)

// SetFleet makes f the fleet the Link sends through (nil: none).
func (l *Link) SetFleet(f *Fleet) { l.fleet.Store(f) }

// SetListener makes x receive the fleet's reports (nil: none).
func (l *Link) SetListener(x Listener) {
	if x == nil {
		l.listener.Store(nil)
		return
	}
	l.listener.Store(&x)
}

// SendUpdate sends an update command through the linked Fleet
// (Fleet.SendUpdate), or returns ErrNotLinked.
func (l *Link) SendUpdate(ctx context.Context, deviceID, commandID string, expiresAt time.Time, args proto.UpdateArgs) error {
	f := l.fleet.Load()
	if f == nil {
		return fmt.Errorf("update %s: %w", deviceID, ErrNotLinked)
	}
	return f.SendUpdate(ctx, deviceID, commandID, expiresAt, args)
}

// CommandResponse implements Listener by passing the report on.
func (l *Link) CommandResponse(ctx context.Context, deviceID string, r *proto.CommandResponse) {
	if x := l.listener.Load(); x != nil {
		(*x).CommandResponse(ctx, deviceID, r)
	}
}

// Telemetry implements Listener by passing the report on.
func (l *Link) Telemetry(ctx context.Context, deviceID string, t *proto.Telemetry) {
	if x := l.listener.Load(); x != nil {
		(*x).Telemetry(ctx, deviceID, t)
	}
}

// DeviceOnline implements Listener by passing the event on.
func (l *Link) DeviceOnline(ctx context.Context, deviceID string) {
	if x := l.listener.Load(); x != nil {
		(*x).DeviceOnline(ctx, deviceID)
	}
}
