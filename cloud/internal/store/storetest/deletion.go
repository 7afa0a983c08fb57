package storetest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

// redactFn erases sess as the lifecycle does (scope all) and chains a
// receipt after prev; the deliveries it rewrites get body.
func redactFn(events []*core.Delivery, body []byte, seen **core.DeletionReceipt) store.RedactFunc {
	return func(sess *core.Session, prev *core.DeletionReceipt) (*core.DeletionReceipt, []*core.Delivery, func(*core.Delivery), error) {
		*seen = prev
		core.EraseBiometrics(sess)
		core.ErasePersonal(sess)
		r := &core.DeletionReceipt{ID: core.NewID("del", T0), TenantID: sess.TenantID, SessionID: sess.ID, Scope: core.ScopeAll,
			Deleted: []string{core.DeletedUserID}, At: T0, Status: sess.Status, Seq: 1}
		if prev != nil {
			r.Seq, r.PrevHash = prev.Seq+1, prev.ID
		}
		sess.Redaction = &core.Redaction{Scope: core.ScopeAll, At: T0, By: "key_x", ReceiptID: r.ID}
		return r, events, func(d *core.Delivery) { d.Body = body }, nil
	}
}

func completed(tenantID string, flow bool, created time.Time) *core.Session {
	s := Session(tenantID)
	s.CreatedAt, s.Status = created, core.StatusCompleted
	if flow {
		s.Flow = []string{"liveness"}
	}
	return s
}

func testRedact(t *testing.T, s store.Store) {
	ten, key := Tenant("a")
	noErr(t, "create tenant", s.CreateTenant(ctx, ten, key))
	sess := completed(ten.ID, true, T0)
	old := Delivery(sess, core.EventSessionCompleted)
	must[*core.Session](t, "create")(s.CreateSession(ctx, sess, []*core.Delivery{old}))
	noErr(t, "put photo", s.PutPhoto(ctx, sess.ID, []byte("jpeg")))
	if got := must[[]*core.Session](t, "list by user")(s.ListVerificationsByUser(ctx, ten.ID, "user-1", 10)); len(got) != 1 {
		t.Fatalf("sessions of user-1 before: %d", len(got))
	}

	// An error from fn writes nothing.
	boom := errors.New("boom")
	_, _, err := s.Redact(ctx, sess.ID, func(c *core.Session, _ *core.DeletionReceipt) (*core.DeletionReceipt, []*core.Delivery, func(*core.Delivery), error) {
		c.UserID = ""
		return nil, nil, nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	must[[]byte](t, "photo after a failed redaction")(s.GetPhoto(ctx, sess.ID))

	ev := Delivery(sess, core.EventSessionRedacted)
	var prev *core.DeletionReceipt
	got, rec, err := s.Redact(ctx, sess.ID, redactFn([]*core.Delivery{ev}, []byte(`{"data":{}}`), &prev))
	noErr(t, "redact", err)
	if prev != nil || rec.Seq != 1 || got.UserID != "" || got.Redaction == nil || got.Version != sess.Version+1 {
		t.Fatalf("redacted %+v receipt %+v prev %+v", got, rec, prev)
	}
	same(t, "stored session", must[*core.Session](t, "get")(s.GetSession(ctx, sess.ID)), got)
	_, err = s.GetPhoto(ctx, sess.ID)
	isErr(t, "photo after redaction", err, store.ErrNotFound)
	if d := must[*core.Delivery](t, "old delivery")(s.GetDelivery(ctx, old.ID)); !bytes.Equal(d.Body, []byte(`{"data":{}}`)) {
		t.Fatalf("old delivery body %s", d.Body)
	}
	if d := must[*core.Delivery](t, "new delivery")(s.GetDelivery(ctx, ev.ID)); !bytes.Equal(d.Body, ev.Body) {
		t.Fatalf("the event queued by the redaction was rewritten: %s", d.Body)
	}
	if l := must[[]*core.Session](t, "list by user")(s.ListVerificationsByUser(ctx, ten.ID, "user-1", 10)); len(l) != 0 {
		t.Fatalf("sessions of user-1 after: %d", len(l))
	}
	same(t, "receipt", must[*core.DeletionReceipt](t, "get receipt")(s.GetDeletionReceipt(ctx, ten.ID, rec.ID)), rec)
	_, err = s.GetDeletionReceipt(ctx, "ten_other", rec.ID)
	isErr(t, "another tenant's receipt", err, store.ErrNotFound)

	// The next redaction of the tenant sees the first as prev.
	second := completed(ten.ID, false, T0)
	must[*core.Session](t, "create")(s.CreateSession(ctx, second, nil))
	_, rec2, err := s.Redact(ctx, second.ID, redactFn(nil, nil, &prev))
	noErr(t, "redact second", err)
	if prev == nil || prev.ID != rec.ID || rec2.Seq != 2 {
		t.Fatalf("second receipt %+v after %+v", rec2, prev)
	}
	// A receipt that does not follow the trail is refused.
	third := completed(ten.ID, false, T0)
	must[*core.Session](t, "create")(s.CreateSession(ctx, third, nil))
	if _, _, err := s.Redact(ctx, third.ID, func(c *core.Session, p *core.DeletionReceipt) (*core.DeletionReceipt, []*core.Delivery, func(*core.Delivery), error) {
		r, ds, f, err := redactFn(nil, nil, &prev)(c, p)
		r.Seq = p.Seq
		return r, ds, f, err
	}); err == nil {
		t.Fatal("a receipt repeating a seq was appended")
	}
	trail := must[[]*core.DeletionReceipt](t, "list receipts")(s.ListDeletionReceipts(ctx, ten.ID, 0, 10))
	if len(trail) != 2 || trail[0].ID != rec.ID || trail[1].ID != rec2.ID {
		t.Fatalf("trail %+v", trail)
	}
	if page := must[[]*core.DeletionReceipt](t, "list receipts")(s.ListDeletionReceipts(ctx, ten.ID, 1, 10)); len(page) != 1 || page[0].ID != rec2.ID {
		t.Fatalf("page after 1: %+v", page)
	}
	if other := must[[]*core.DeletionReceipt](t, "list receipts")(s.ListDeletionReceipts(ctx, "ten_other", 0, 10)); len(other) != 0 {
		t.Fatalf("another tenant's trail: %+v", other)
	}
	_, _, err = s.Redact(ctx, "ses_nope", redactFn(nil, nil, &prev))
	isErr(t, "redact a missing session", err, store.ErrNotFound)
	noErr(t, "scrub", s.Scrub(ctx))
}

func testRetentionDue(t *testing.T, s store.Store) {
	a, ka := Tenant("a")
	b, kb := Tenant("b")
	noErr(t, "tenant a", s.CreateTenant(ctx, a, ka))
	noErr(t, "tenant b", s.CreateTenant(ctx, b, kb))
	var aIDs []string
	for i := range 3 {
		sess := completed(a.ID, false, T0.Add(time.Duration(i)*time.Hour))
		must[*core.Session](t, "create")(s.CreateSession(ctx, sess, nil))
		aIDs = append(aIDs, sess.ID)
	}
	must[*core.Session](t, "create")(s.CreateSession(ctx, completed(b.ID, false, T0), nil))
	due := func(scope string, before time.Time, limit int) []string {
		t.Helper()
		return must[[]string](t, "retention due")(s.ListRetentionDue(ctx, a.ID, scope, before, limit))
	}
	if got := due(core.ScopeAll, T0.Add(time.Hour), 10); !slices.Equal(got, aIDs[:2]) {
		t.Fatalf("due at T0+1h: %v, want %v", got, aIDs[:2])
	}
	if got := due(core.ScopeBiometrics, T0.Add(5*time.Hour), 1); !slices.Equal(got, aIDs[:1]) {
		t.Fatalf("limit 1: %v", got)
	}
	if got := due(core.ScopeAll, T0.Add(-time.Second), 10); len(got) != 0 {
		t.Fatalf("due before any: %v", got)
	}
	// Biometrics deleted: no longer due for biometrics, still for all.
	_, _, err := s.Redact(ctx, aIDs[0], func(c *core.Session, p *core.DeletionReceipt) (*core.DeletionReceipt, []*core.Delivery, func(*core.Delivery), error) {
		core.EraseBiometrics(c)
		c.Redaction = &core.Redaction{Scope: core.ScopeBiometrics, At: T0, By: core.DeletedByRetention, ReceiptID: "del_1"}
		return &core.DeletionReceipt{ID: "del_1", TenantID: c.TenantID, SessionID: c.ID, Scope: core.ScopeBiometrics, Seq: 1}, nil, nil, nil
	})
	noErr(t, "redact biometrics", err)
	if got := due(core.ScopeBiometrics, T0.Add(5*time.Hour), 10); !slices.Equal(got, aIDs[1:]) {
		t.Fatalf("biometrics due after one was deleted: %v", got)
	}
	if got := due(core.ScopeAll, T0.Add(5*time.Hour), 10); !slices.Equal(got, aIDs) {
		t.Fatalf("all due after the biometrics of one were deleted: %v", got)
	}
}

func testSaveKeepsScrubbedBody(t *testing.T, s store.Store) {
	ten, key := Tenant("a")
	noErr(t, "create tenant", s.CreateTenant(ctx, ten, key))
	sess := completed(ten.ID, false, T0)
	d := Delivery(sess, core.EventSessionCompleted)
	must[*core.Session](t, "create")(s.CreateSession(ctx, sess, []*core.Delivery{d}))
	claimed := must[[]*core.Delivery](t, "claim")(s.ClaimDeliveries(ctx, T0, time.Minute, 10))
	if len(claimed) != 1 {
		t.Fatalf("claimed %d", len(claimed))
	}
	var prev *core.DeletionReceipt
	_, _, err := s.Redact(ctx, sess.ID, redactFn(nil, []byte(`{"data":{"redacted":true}}`), &prev))
	noErr(t, "redact", err)
	// The worker saves its attempt with the body it claimed.
	w := claimed[0]
	w.State, w.Attempts, w.LeaseUntil = core.DeliveryDelivered, 1, time.Time{}
	noErr(t, "save", s.SaveDelivery(ctx, w))
	got := must[*core.Delivery](t, "get")(s.GetDelivery(ctx, d.ID))
	if got.State != core.DeliveryDelivered || !bytes.Equal(got.Body, []byte(`{"data":{"redacted":true}}`)) {
		t.Fatalf("after save: state %s body %s", got.State, got.Body)
	}
}
