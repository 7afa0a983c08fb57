package kiosk

import (
	"context"
	"errors"
	"fmt"

	"livegate.dev/drivers"
	"livegate.dev/firmware/outbox"
	"livegate.dev/proto"
)

// OutboxStore commits each session result to the bbolt outbox as a
// proto session.result message with id MessageID(session id), fsynced
// before Commit returns; the sync part (livegate.dev/firmware/sync) drains
// it to the cloud and deletes it on the cloud's ack.
type OutboxStore struct {
	Outbox *outbox.Outbox
	Clock  drivers.Clock
}

var _ Store = (*OutboxStore)(nil)

// storeFull marks outbox.ErrFull for the kiosk's out-of-service state.
type storeFull struct{ error }

func (storeFull) Full() bool      { return true }
func (e storeFull) Unwrap() error { return e.error }

// Commit encodes r and appends it.
func (s *OutboxStore) Commit(ctx context.Context, r *proto.SessionResult) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("kiosk store: session %s: %w", r.SessionID, err)
	}
	now := r.DecidedAt
	if s.Clock != nil {
		now = s.Clock.Now()
	}
	id := MessageID(r.SessionID)
	b, err := proto.Encode(id, proto.TypeSessionResult, now, r)
	if err != nil {
		return fmt.Errorf("kiosk store: %w", err)
	}
	if _, err := s.Outbox.Append(id, now, b); err != nil {
		if errors.Is(err, outbox.ErrFull) {
			return storeFull{fmt.Errorf("kiosk store: session %s: %w", r.SessionID, err)}
		}
		return fmt.Errorf("kiosk store: session %s: %w", r.SessionID, err)
	}
	return nil
}

// MessageID is the outbox and MQTT message id of a session's result: the
// same id the sync part's EncodeResult uses, so a result is queued once.
func MessageID(sessionID string) string { return "res_" + sessionID }

// Decided reports whether the result of session sessionID is in the
// outbox, waiting for the cloud's ack: the session ran (also before a
// restart), and an assignment of it repeated by the cloud must not run it
// again. Once acknowledged, the cloud has the result and no longer sends
// the assignment.
func (s *OutboxStore) Decided(sessionID string) bool {
	ok, err := s.Outbox.Has(MessageID(sessionID))
	return err == nil && ok
}

// Room reports whether the outbox has room for another session (an entry
// and 4 MiB, the largest result): the kiosk leaves out-of-service once it
// does.
func (s *OutboxStore) Room() bool {
	st := s.Outbox.Stats()
	return st.Entries < st.MaxEntries && st.Bytes+proto.MaxPayload <= st.MaxBytes
}
