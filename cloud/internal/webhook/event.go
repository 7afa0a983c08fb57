package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/secret"
	"livegate.dev/cloud/internal/store"
)

// ErrNoWebhookURL is returned by NewDelivery for a session without a
// webhook_url: there is nothing to deliver.
var ErrNoWebhookURL = errors.New("webhook: session has no webhook URL")

// ErrNotReplayable is returned by Replay for a delivery that is still pending.
var ErrNotReplayable = errors.New("webhook: delivery is pending, not dead or delivered")

// Event is the JSON body of every webhook.
type Event struct {
	ID      string          `json:"id"`      // "evt_…", also Livegate-Event-Id
	Type    string          `json:"type"`    // core.EventSession…
	Created int64           `json:"created"` // Unix seconds when the event happened
	Data    json.RawMessage `json:"data"`    // the session result
}

// NewDelivery builds the outbox entry for one event of sess: a pending
// delivery to sess.WebhookURL, due now, whose Body is the Event JSON. data is
// the event's payload (the session result as the API serves it) and must be a
// JSON object. The entry is unsigned until it is sent; it is signed when
// sess.TenantID is set. Store it in the same transaction as the state change
// (store.CreateSession / UpdateSession), then call Worker.Notify.
func NewDelivery(now time.Time, eventType string, sess *core.Session, data json.RawMessage) (*core.Delivery, error) {
	if sess == nil {
		return nil, errors.New("webhook: new delivery: nil session")
	}
	if sess.WebhookURL == "" {
		return nil, ErrNoWebhookURL
	}
	if eventType == "" {
		return nil, fmt.Errorf("webhook: new delivery for session %s: empty event type", sess.ID)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("webhook: new %s delivery for session %s: data is not a JSON object", eventType, sess.ID)
	}
	ev := Event{ID: core.NewID("evt", now), Type: eventType, Created: now.Unix(), Data: data}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("webhook: encode %s event for session %s: %w", eventType, sess.ID, err)
	}
	return &core.Delivery{
		ID:            ev.ID,
		Type:          eventType,
		SessionID:     sess.ID,
		TenantID:      sess.TenantID,
		URL:           sess.WebhookURL,
		Body:          body,
		State:         core.DeliveryPending,
		NextAttemptAt: now,
		CreatedAt:     now,
	}, nil
}

// TenantSecrets opens a tenant's webhook secrets that are not expired at now,
// newest first: the keys Sign takes.
func TenantSecrets(sealer *secret.Sealer, t *core.Tenant, now time.Time) ([][]byte, error) {
	var out [][]byte
	for i, s := range t.WebhookSecrets {
		if s.ExpiresAt != nil && !now.Before(*s.ExpiresAt) {
			continue
		}
		k, err := sealer.Open(s.Sealed)
		if err != nil {
			return nil, fmt.Errorf("webhook: open webhook secret %d of tenant %s: %w", i, t.ID, err)
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("webhook: tenant %s has no unexpired webhook secret", t.ID)
	}
	return out, nil
}

// Replay re-queues a dead or delivered delivery: pending, due at now, with
// its attempt count and last result cleared. The event keeps its id, so a
// receiver that already processed it can recognise it. It returns the
// delivery as saved; store.ErrNotFound (wrapped) for an unknown id and
// ErrNotReplayable for one still pending. Call Worker.Notify afterwards to
// deliver it without waiting for the next poll.
func Replay(ctx context.Context, st store.Store, id string, now time.Time) (*core.Delivery, error) {
	d, err := st.GetDelivery(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("webhook: replay %s: %w", id, err)
	}
	if d.State == core.DeliveryPending {
		return nil, fmt.Errorf("webhook: replay %s: %w", id, ErrNotReplayable)
	}
	d.State = core.DeliveryPending
	d.Attempts = 0
	d.NextAttemptAt = now
	d.LeaseUntil = time.Time{}
	d.DeliveredAt = nil
	d.LastStatus = 0
	d.LastError = ""
	if err := st.SaveDelivery(ctx, d); err != nil {
		return nil, fmt.Errorf("webhook: replay %s: %w", id, err)
	}
	return d, nil
}
