package lifecycle

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

// Codes of data deletion.
var (
	CodeNotFinished = apierr.Register("session.not_finished", http.StatusConflict,
		"The session is pending or in progress: its data can be deleted once it has ended. Cancel it first (POST …/cancel), then delete.")
	CodeReceiptNotFound = apierr.Register("deletion.receipt_not_found", http.StatusNotFound,
		"No deletion receipt with this id for your tenant.")
)

// Eraser deletes what a store beside the session record keeps of a
// session (the capture service's audit frames and recordings, a face
// embedding store…). Erasers run for both scopes: everything they keep is
// biometric.
type Eraser struct {
	// Deletes names what Erase deletes (core.Deleted… values), listed in
	// the receipt.
	Deletes []string
	// Erase deletes the session's data, durably before it returns;
	// nothing to delete is not an error.
	Erase func(ctx context.Context, sessionID string) error
}

// AddEraser adds an eraser that every redaction runs (the capture routes
// add theirs when they are mounted).
func (s *Service) AddEraser(e Eraser) {
	s.erasersMu.Lock()
	defer s.erasersMu.Unlock()
	s.erasers = append(s.erasers, e)
}

func (s *Service) eraserList() []Eraser {
	s.erasersMu.Lock()
	defer s.erasersMu.Unlock()
	return slices.Clone(s.erasers)
}

// RedactRequest says what to delete, why and on whose behalf.
type RedactRequest struct {
	// Scope is core.ScopeAll (the default) or core.ScopeBiometrics.
	Scope string
	// Reason is recorded in the receipt (≤ 200 printable ASCII
	// characters). Default: "request".
	Reason string
	// By is who asked: an API key id, an ephemeral device id, or
	// core.DeletedByRetention.
	By string
}

const maxReason = 200

// CheckRedactRequest validates r and fills its defaults.
func CheckRedactRequest(r *RedactRequest) error {
	if r.Scope == "" {
		r.Scope = core.ScopeAll
	}
	if err := core.CheckScope(r.Scope); err != nil {
		return apierr.New(apierr.InvalidField, "field \"scope\": %v", err)
	}
	if r.Reason == "" {
		r.Reason = "request"
	}
	if len(r.Reason) > maxReason {
		return apierr.New(apierr.InvalidField, "field \"reason\" is longer than %d characters", maxReason)
	}
	for _, c := range []byte(r.Reason) {
		if c < 0x20 || c > 0x7e {
			return apierr.New(apierr.InvalidField, "field \"reason\" must be printable ASCII (it is part of a signed receipt)")
		}
	}
	return nil
}

var errRedacted = errors.New("lifecycle: already redacted")

// Redact deletes the data of a terminal session: with core.ScopeAll its
// biometric data (photo, audit frames, recording, embeddings: the erasers)
// and its personal fields (subject, user id, reference, metadata, redirect
// URL, and the same in the bodies of its webhook deliveries); with
// core.ScopeBiometrics the biometric data only. The decision, status and
// timestamps stay as a tombstone. In one transaction it records the
// tombstone, appends the signed receipt to the tenant's deletion trail and
// queues session.redacted. It is idempotent: a session already redacted
// with the scope (or with ScopeAll) returns the receipt of that redaction.
// Everything is deleted when it returns; see ScrubAfterRedact for the
// store's files.
func (s *Service) Redact(ctx context.Context, id string, req RedactRequest) (*core.Session, *core.DeletionReceipt, error) {
	if err := CheckRedactRequest(&req); err != nil {
		return nil, nil, err
	}
	sess, err := s.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if sess.Redaction.Covers(req.Scope) {
		return s.redacted(ctx, sess)
	}
	if !sess.Status.Terminal() {
		return nil, nil, apierr.New(CodeNotFinished, "session %s is %s: cancel it or let it end before deleting its data", id, sess.Status)
	}
	erasers := s.eraserList()
	var deletes []string
	for _, e := range erasers {
		if err := e.Erase(ctx, id); err != nil {
			return nil, nil, storeErr("deleting the session's files", err)
		}
		deletes = append(deletes, e.Deletes...)
	}
	now := s.cfg.Clock.Now().UTC()
	var queued bool
	sess, rec, err := s.cfg.Store.Redact(ctx, id, func(cur *core.Session, prev *core.DeletionReceipt) (*core.DeletionReceipt, []*core.Delivery, func(*core.Delivery), error) {
		queued = false
		if cur.Redaction.Covers(req.Scope) {
			return nil, nil, nil, errRedacted
		}
		if !cur.Status.Terminal() {
			return nil, nil, nil, apierr.New(CodeNotFinished, "session %s is %s", id, cur.Status)
		}
		deleted := append(slices.Clone(deletes), core.EraseBiometrics(cur)...)
		if req.Scope == core.ScopeAll {
			deleted = append(deleted, core.ErasePersonal(cur)...)
			if cur.WebhookURL != "" {
				deleted = append(deleted, core.DeletedWebhookData)
			}
		}
		slices.Sort(deleted)
		deleted = slices.Compact(deleted)
		if deleted == nil {
			deleted = []string{}
		}
		r := &core.DeletionReceipt{
			ID: core.NewID("del", now), TenantID: cur.TenantID, SessionID: cur.ID, Scope: req.Scope, Deleted: deleted,
			Reason: req.Reason, By: req.By, At: now, Status: cur.Status, Verdict: cur.Verdict,
		}
		if err := s.signer.Seal(r, prev); err != nil {
			return nil, nil, nil, err
		}
		cur.Redaction = &core.Redaction{Scope: req.Scope, At: now, By: req.By, Reason: req.Reason, ReceiptID: r.ID}
		cur.UpdatedAt = now
		data, err := s.eventData(cur)
		if err != nil {
			return nil, nil, nil, err
		}
		ds, err := s.events(cur, core.EventSessionRedacted, now)
		if err != nil {
			return nil, nil, nil, err
		}
		queued = len(ds) > 0
		scrub := func(d *core.Delivery) { d.Body = replaceData(d.Body, data) }
		return r, ds, scrub, nil
	})
	if errors.Is(err, errRedacted) {
		cur, err := s.cfg.Store.GetSession(ctx, id)
		if err != nil {
			return nil, nil, storeErr("reading session", err)
		}
		return s.redacted(ctx, cur)
	}
	if err != nil {
		return nil, nil, storeErr("deleting the session's data", err)
	}
	s.notify(queued)
	s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "session data deleted", slog.String("session_id", id),
		slog.String("scope", req.Scope), slog.String("receipt_id", rec.ID), slog.String("by", req.By))
	if s.cfg.ScrubAfterRedact {
		if err := s.cfg.Store.Scrub(ctx); err != nil {
			return nil, nil, storeErr("scrubbing the store", err)
		}
	}
	return sess, rec, nil
}

// redacted returns the receipt of sess's redaction.
func (s *Service) redacted(ctx context.Context, sess *core.Session) (*core.Session, *core.DeletionReceipt, error) {
	rec, err := s.cfg.Store.GetDeletionReceipt(ctx, sess.TenantID, sess.Redaction.ReceiptID)
	if err != nil {
		return nil, nil, storeErr("reading deletion receipt", err)
	}
	return sess, rec, nil
}

// replaceData returns the webhook body with its data member replaced.
func replaceData(body, data []byte) []byte {
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(body, &ev); err != nil {
		// Not an event this service wrote: keep nothing of it.
		return []byte(`{}`)
	}
	ev["data"] = data
	out, err := json.Marshal(ev)
	if err != nil {
		return []byte(`{}`)
	}
	return out
}

// Receipt returns tenantID's deletion receipt id.
func (s *Service) Receipt(ctx context.Context, tenantID, id string) (*core.DeletionReceipt, error) {
	r, err := s.cfg.Store.GetDeletionReceipt(ctx, tenantID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.New(CodeReceiptNotFound, "no deletion receipt %q for this tenant", id)
	}
	if err != nil {
		return nil, storeErr("reading deletion receipt", err)
	}
	return r, nil
}

// Receipts returns tenantID's deletion trail after afterSeq, at most limit.
func (s *Service) Receipts(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]*core.DeletionReceipt, error) {
	rs, err := s.cfg.Store.ListDeletionReceipts(ctx, tenantID, afterSeq, limit)
	if err != nil {
		return nil, storeErr("listing deletion receipts", err)
	}
	return rs, nil
}

// ReceiptKey is the key that verifies deletion receipts.
func (s *Service) ReceiptKey() (keyID string, pub ed25519.PublicKey) {
	return s.signer.KeyID(), s.signer.PublicKey()
}

// retentionBatch is how many sessions a retention pass lists at a time.
const retentionBatch = 256

// RunRetention applies every tenant's retention until ctx ends: every
// RetentionInterval on the service clock (and once at start) it runs
// SweepRetention. It returns ctx.Err().
func (s *Service) RunRetention(ctx context.Context) error {
	for {
		if _, err := s.SweepRetention(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "retention: sweep failed", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.cfg.Clock.After(s.cfg.RetentionInterval):
		}
	}
}

// SweepRetention deletes, for every tenant (and the sessions of no tenant,
// under the default retention), the data its retention says is due: every
// personal field of sessions created data_days ago or earlier, the
// biometric data of those created biometric_days ago or earlier (receipts
// by "retention"). Then it scrubs the store. It returns how many sessions
// it redacted.
func (s *Service) SweepRetention(ctx context.Context) (int, error) {
	tenants, err := s.cfg.Store.ListTenants(ctx)
	if err != nil {
		return 0, fmt.Errorf("retention: listing tenants: %w", err)
	}
	tenants = append(tenants, &core.Tenant{}) // the legacy key's and direct sessions
	now := s.cfg.Clock.Now().UTC()
	n := 0
	var errs []error
	for _, t := range tenants {
		ret := t.Settings.Retention.Effective()
		for _, p := range []struct {
			scope string
			keep  time.Duration
			days  string
		}{
			{core.ScopeAll, ret.Data, "data_days"},
			{core.ScopeBiometrics, ret.Biometrics, "biometric_days"},
		} {
			reason := fmt.Sprintf("retention: %s=%d", p.days, int(p.keep/(24*time.Hour)))
			done, err := s.sweepScope(ctx, t.ID, p.scope, now.Add(-p.keep), reason)
			n += done
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	// The store skips a scrub with nothing new to scrub; on PostgreSQL this
	// is where the redactions of every replica leave the table files.
	if err := s.cfg.Store.Scrub(ctx); err != nil {
		errs = append(errs, fmt.Errorf("retention: scrub: %w", err))
	}
	if n > 0 {
		s.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "retention: session data deleted", slog.Int("sessions", n))
	}
	return n, errors.Join(errs...)
}

func (s *Service) sweepScope(ctx context.Context, tenantID, scope string, before time.Time, reason string) (int, error) {
	n := 0
	for ctx.Err() == nil {
		ids, err := s.cfg.Store.ListRetentionDue(ctx, tenantID, scope, before, retentionBatch)
		if err != nil {
			return n, fmt.Errorf("retention: listing sessions of tenant %q: %w", tenantID, err)
		}
		progress := 0
		for _, id := range ids {
			_, _, err := s.Redact(ctx, id, RedactRequest{Scope: scope, Reason: reason, By: core.DeletedByRetention})
			if e, ok := apierr.As(err); ok && e.Code == CodeNotFinished {
				continue // still running: a later pass takes it
			}
			if err != nil {
				return n, fmt.Errorf("retention: session %s: %w", id, err)
			}
			n++
			progress++
		}
		if len(ids) < retentionBatch || progress == 0 {
			return n, nil
		}
	}
	return n, ctx.Err()
}
