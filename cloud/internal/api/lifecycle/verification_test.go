package lifecycle

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"livegate.dev/cloud/internal/core"
)

// TestDecide: the liveness verdict, and the grey zone of the session's
// tenant, map to one decision; review is never a pass.
func TestDecide(t *testing.T) {
	v := func(s core.Verdict) *core.Verdict { return &s }
	f := func(x float64) *float64 { return &x }
	cases := []struct {
		name        string
		status      core.Status
		verdict     *core.Verdict
		conf        *float64
		reviewBelow float64
		decision    string // "" for null
		reason      string
		check       string
	}{
		{"pending", core.StatusPending, nil, nil, 0, "", "", ""},
		{"in progress", core.StatusInProgress, nil, nil, 0, "", "", ""},
		{"expired", core.StatusExpired, nil, nil, 0, "", "", ""},
		{"cancelled", core.StatusCancelled, nil, nil, 0, "", "", ""},
		{"pass", core.StatusCompleted, v(core.VerdictPass), f(0.97), 0, "approved", "liveness_pass", "pass"},
		{"pass at the band's edge", core.StatusCompleted, v(core.VerdictPass), f(0.70), 0, "approved", "liveness_pass", "pass"},
		{"pass in the grey zone", core.StatusCompleted, v(core.VerdictPass), f(0.84), 0.85, "review", "liveness_grey_zone", "pass"},
		{"pass at the grey zone's edge", core.StatusCompleted, v(core.VerdictPass), f(0.85), 0.85, "approved", "liveness_pass", "pass"},
		{"retry", core.StatusCompleted, v(core.VerdictRetry), f(0.55), 0, "review", "liveness_retry", "retry"},
		{"retry with a grey zone", core.StatusCompleted, v(core.VerdictRetry), f(0.69), 0.9, "review", "liveness_retry", "retry"},
		{"an unknown verdict is reviewed", core.StatusCompleted, v("maybe"), f(0.99), 0, "review", "liveness_retry", "retry"},
		{"fail", core.StatusCompleted, v(core.VerdictFail), f(0.12), 0, "declined", "liveness_fail", "fail"},
		{"fail with a grey zone", core.StatusCompleted, v(core.VerdictFail), f(0.3), 0.9, "declined", "liveness_fail", "fail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sess := &core.Session{ID: "ses_x", Status: c.status, Verdict: c.verdict, Confidence: c.conf, ReviewBelow: c.reviewBelow}
			d, reasons, checks := Decide(sess)
			if c.decision == "" {
				if d != nil || len(reasons) != 0 || reasons == nil || len(checks) != 0 || checks == nil {
					t.Fatalf("got %v %v %v, want null, [], []", d, reasons, checks)
				}
				return
			}
			if d == nil || *d != c.decision || !slices.Equal(reasons, []string{c.reason}) ||
				len(checks) != 1 || checks[0] != (VerificationCheck{Type: "liveness", Status: c.check, Score: *c.conf}) {
				t.Fatalf("got %v %v %+v, want %s %s %s", d, reasons, checks, c.decision, c.reason, c.check)
			}
		})
	}
}

// TestDecideFacematch: with flow liveness+facematch the worst of the two
// checks decides (declined over review over approved); a comparison that
// could not be made is review; the check shows similarity and threshold,
// never a score, and the liveness check never a similarity.
func TestDecideFacematch(t *testing.T) {
	pass, fail, retry := core.VerdictPass, core.VerdictFail, core.VerdictRetry
	cases := []struct {
		name     string
		verdict  core.Verdict
		match    *core.FaceMatch
		decision string
		reasons  []string
		status   string
	}{
		{"both pass", pass, &core.FaceMatch{Similarity: 0.8, Status: "pass"}, "approved", []string{"liveness_pass", "facematch_pass"}, "pass"},
		{"another person", pass, &core.FaceMatch{Similarity: 0.1, Status: "fail"}, "declined", []string{"liveness_pass", "facematch_fail"}, "fail"},
		{"grey zone", pass, &core.FaceMatch{Similarity: 0.55, Status: "review"}, "review", []string{"liveness_pass", "facematch_review"}, "review"},
		{"nothing compared", pass, nil, "review", []string{"liveness_pass", "facematch_unavailable"}, "review"},
		{"liveness fail, same person", fail, &core.FaceMatch{Similarity: 0.9, Status: "pass"}, "declined", []string{"liveness_fail", "facematch_pass"}, "pass"},
		{"liveness retry, grey zone", retry, &core.FaceMatch{Similarity: 0.55, Status: "review"}, "review", []string{"liveness_retry", "facematch_review"}, "review"},
		{"liveness retry, another person", retry, &core.FaceMatch{Similarity: 0.2, Status: "fail"}, "declined", []string{"liveness_retry", "facematch_fail"}, "fail"},
		{"an unknown status is reviewed", pass, &core.FaceMatch{Similarity: 0.9, Status: "maybe"}, "review", []string{"liveness_pass", "facematch_review"}, "review"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf, v := 0.9, c.verdict
			sess := &core.Session{ID: "ses_x", Status: core.StatusCompleted, Verdict: &v, Confidence: &conf, Flow: []string{"liveness", "facematch"},
				FaceRef: &core.FaceRef{Accept: 0.6, ReviewFrom: 0.5}, FaceMatch: c.match}
			d, reasons, checks := Decide(sess)
			if d == nil || *d != c.decision || !slices.Equal(reasons, c.reasons) || len(checks) != 2 || checks[1].Type != "facematch" || checks[1].Status != c.status ||
				checks[1].Threshold == nil || *checks[1].Threshold != 0.6 {
				t.Fatalf("got %v %v %+v, want %s %v", d, reasons, checks, c.decision, c.reasons)
			}
			if (c.match == nil) != (checks[1].Similarity == nil) || (c.match != nil && *checks[1].Similarity != c.match.Similarity) {
				t.Fatalf("similarity %v, match %+v", checks[1].Similarity, c.match)
			}
			b, err := json.Marshal(checks)
			if err != nil {
				t.Fatal(err)
			}
			var raw []map[string]any
			json.Unmarshal(b, &raw)
			if _, ok := raw[1]["score"]; ok || raw[0]["similarity"] != nil || raw[0]["score"] != 0.9 {
				t.Fatalf("checks as JSON: %s", b)
			}
		})
	}
}

// TestVerificationOf: the client token is shown, in hostedUrl too, only
// while the session is not terminal; webhooks never carry it.
func TestVerificationOf(t *testing.T) {
	exp := time.Date(2026, 6, 1, 12, 30, 0, 0, time.UTC)
	for _, st := range []core.Status{core.StatusPending, core.StatusInProgress, core.StatusCompleted, core.StatusExpired, core.StatusCancelled} {
		sess := &core.Session{ID: "ses_1", Status: st, ExpiresAt: exp, Flow: []string{"liveness"}, Reference: "r", Metadata: []byte(`{"a":1}`)}
		v := VerificationOf(sess, "https://verify.example.com/", "lgct_a+b")
		if st.Terminal() {
			if v.ClientToken != nil || v.HostedURL != "https://verify.example.com/s/ses_1" {
				t.Fatalf("%s: %+v", st, v)
			}
		} else if v.ClientToken == nil || *v.ClientToken != "lgct_a+b" || v.HostedURL != "https://verify.example.com/s/ses_1?t=lgct_a%2Bb" {
			t.Fatalf("%s: %+v", st, v)
		}
		ev := VerificationEventOf(sess, "https://verify.example.com")
		if ev.ClientToken != nil || ev.HostedURL != "https://verify.example.com/s/ses_1" || ev.Reference != "r" || string(ev.Metadata) != `{"a":1}` ||
			ev.Flow != "liveness" || !ev.ExpiresAt.Equal(exp) {
			t.Fatalf("%s: event %+v", st, ev)
		}
	}
	if FlowOf(&core.Session{}) != "liveness" || FlowOf(&core.Session{Flow: []string{"liveness", "facematch"}}) != "liveness+facematch" {
		t.Fatal("FlowOf")
	}
}
