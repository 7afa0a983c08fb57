package lifecycle

import (
	"context"
	"errors"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/apierr"
	"livegate.dev/cloud/internal/core"
)

func eventTypes(t *testing.T, s *Service, id string) []string {
	t.Helper()
	ds, err := s.cfg.Store.ListDeliveries(context.Background(), storeFilter(id))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(ds) - 1; i >= 0; i-- { // oldest first
		out = append(out, ds[i].Type)
	}
	return out
}

func wantCode(t *testing.T, err error, code apierr.Code) {
	t.Helper()
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v, want %s", err, code.ID)
	}
}

// TestStartInProgress: Start moves pending → in_progress once (one
// session.in_progress event however often it is called), and every later
// transition accepts in_progress as its source.
func TestStartInProgress(t *testing.T) {
	ctx := context.Background()
	p := Principal{Kind: PrincipalTenant, TenantID: "ten_1", Test: true}
	hook := CreateRequest{WebhookURL: "http://127.0.0.1:9/h"}
	started := func(t *testing.T, s *Service) *core.Session {
		t.Helper()
		c, err := s.Create(ctx, p, core.KindManaged, hook, "")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ { // a reconnect starts again: no second event
			sess, err := s.Start(ctx, c.Session.ID)
			if err != nil || sess.Status != core.StatusInProgress {
				t.Fatalf("start %d: %+v %v", i, sess, err)
			}
		}
		if got := eventTypes(t, s, c.Session.ID); len(got) != 1 || got[0] != core.EventSessionStarted {
			t.Fatalf("events after start %v, want one %s", got, core.EventSessionStarted)
		}
		if r := ResultOf(c.Session); r.Status != core.StatusPending {
			t.Fatalf("creation result %s", r.Status)
		}
		return c.Session
	}
	cases := []struct {
		name   string
		next   func(s *Service, id string) (*core.Session, error)
		status core.Status
		event  string
	}{
		{"complete", func(s *Service, id string) (*core.Session, error) {
			return s.Complete(ctx, id, Outcome{Confidence: 0.9})
		}, core.StatusCompleted, core.EventSessionCompleted},
		{"simulate", func(s *Service, id string) (*core.Session, error) {
			return s.Complete(ctx, id, Outcome{Confidence: 0.12, Verdict: core.VerdictFail, Simulated: true})
		}, core.StatusCompleted, core.EventSessionCompleted},
		{"cancel", func(s *Service, id string) (*core.Session, error) { return s.Cancel(ctx, id) }, core.StatusCancelled, core.EventSessionCancelled},
		{"expire (sweeper)", func(s *Service, id string) (*core.Session, error) {
			s.cfg.Clock.(interface{ Advance(time.Duration) }).Advance(s.TTL())
			if n := s.SweepOnce(ctx); n != 1 {
				return nil, errors.New("the sweeper expired nothing")
			}
			return s.Get(ctx, id)
		}, core.StatusExpired, core.EventSessionExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := newService(t)
			sess := started(t, s)
			got, err := tc.next(s, sess.ID)
			if err != nil || got.Status != tc.status {
				t.Fatalf("%s from in_progress: %+v %v", tc.name, got, err)
			}
			if ev := eventTypes(t, s, sess.ID); len(ev) != 2 || ev[1] != tc.event {
				t.Fatalf("events %v, want in_progress then %s", ev, tc.event)
			}
			// Start on a finished session is refused and sends nothing.
			_, err = s.Start(ctx, sess.ID)
			wantCode(t, err, apierr.SessionTerminal)
			if ev := eventTypes(t, s, sess.ID); len(ev) != 2 {
				t.Fatalf("events after a refused start %v", ev)
			}
		})
	}
	t.Run("past the TTL", func(t *testing.T) {
		s, clk, _ := newService(t)
		c, _ := s.Create(ctx, p, core.KindManaged, hook, "")
		clk.Advance(s.TTL())
		got, err := s.Start(ctx, c.Session.ID)
		wantCode(t, err, apierr.SessionExpired)
		if got.Status != core.StatusExpired {
			t.Fatalf("status %s", got.Status)
		}
		if ev := eventTypes(t, s, c.Session.ID); len(ev) != 1 || ev[0] != core.EventSessionExpired {
			t.Fatalf("events %v", ev)
		}
	})
	t.Run("unknown session", func(t *testing.T) {
		s, _, _ := newService(t)
		_, err := s.Start(ctx, "ses_nope")
		wantCode(t, err, apierr.SessionNotFound)
	})
}

// TestCountAttempt: failed attempts are counted in the store until the
// last one, which Complete counts.
func TestCountAttempt(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	c, _ := s.Create(ctx, Principal{}, core.KindDirect, CreateRequest{}, "")
	for want := 1; want <= 2; want++ {
		sess, last, err := s.CountAttempt(ctx, c.Session.ID, 3)
		if err != nil || last || sess.Attempts != want {
			t.Fatalf("attempt %d: %+v last=%v %v", want, sess, last, err)
		}
	}
	sess, last, err := s.CountAttempt(ctx, c.Session.ID, 3)
	if err != nil || !last || sess.Attempts != 2 {
		t.Fatalf("third attempt: attempts %d last=%v %v, want the last one, uncounted", sess.Attempts, last, err)
	}
	done, err := s.Complete(ctx, c.Session.ID, Outcome{Confidence: 0.1})
	if err != nil || done.Attempts != 3 {
		t.Fatalf("complete: %+v %v", done, err)
	}
	_, _, err = s.CountAttempt(ctx, c.Session.ID, 3)
	wantCode(t, err, apierr.SessionTerminal)
}

// TestResultAuditFrames: the result lists the audit frames stored with the
// completion, with URLs and the largest face box, until their retention ends.
func TestResultAuditFrames(t *testing.T) {
	s, clk, _ := newService(t)
	ctx := context.Background()
	c, _ := s.Create(ctx, Principal{}, core.KindDirect, CreateRequest{}, "")
	if r := s.Result(c.Session); r.AuditFrames == nil || len(r.AuditFrames) != 0 {
		t.Fatalf("pending session's audit_frames %#v, want an empty list", r.AuditFrames)
	}
	now := clk.Now().UTC()
	frames := []core.AuditFrame{
		{Index: 0, Why: "reference", CapturedAt: now.Add(-2 * time.Second), Boxes: [][4]float64{{1, 2, 10, 10}, {50, 60, 100, 120}}, ExpiresAt: now.Add(time.Hour)},
		{Index: 1, Why: "last", CapturedAt: now.Add(-time.Second), Boxes: [][4]float64{}, ExpiresAt: now.Add(time.Hour)},
	}
	done, err := s.Complete(ctx, c.Session.ID, Outcome{Confidence: 0.9, AuditFrames: frames})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Result(done)
	if len(r.AuditFrames) != 2 {
		t.Fatalf("audit frames %+v", r.AuditFrames)
	}
	a, b := r.AuditFrames[0], r.AuditFrames[1]
	if a.URL != "/api/v1/session/"+c.Session.ID+"/audit/0" || b.URL != "/api/v1/session/"+c.Session.ID+"/audit/1" {
		t.Fatalf("urls %q %q", a.URL, b.URL)
	}
	if a.FaceBox == nil || *a.FaceBox != [4]float64{50, 60, 100, 120} || len(a.Boxes) != 2 || !a.CapturedAt.Equal(frames[0].CapturedAt) {
		t.Fatalf("frame 0 %+v: want the largest box as face_box", a)
	}
	if b.FaceBox != nil || b.Boxes == nil {
		t.Fatalf("frame 1 %+v: want no face_box and an empty boxes list", b)
	}
	clk.Advance(time.Hour)
	if r := s.Result(done); len(r.AuditFrames) != 0 || r.AuditFrames == nil {
		t.Fatalf("after the retention: %#v, want an empty list", r.AuditFrames)
	}
	if r := ResultOf(done); len(r.AuditFrames) != 2 {
		t.Fatalf("ResultOf (as of the change) lists %d frames", len(r.AuditFrames))
	}
}
