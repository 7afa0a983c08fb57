package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/lifecycle"
)

// testChallenges: a test-mode key may fix an active session's challenges,
// so that an integrator's browser test with a recorded clip can answer them.
// The list is stored with the session, shown in the 201, the result, the
// seed-002 view and the webhook, and is part of an idempotent request. Live
// and legacy keys are refused with auth.test_key_required (a list known in
// advance can be recorded), and a list that is not 1–6 known kinds of an
// active, hosted session is request.invalid_field naming the field.
func testChallenges(t *testing.T, start starter) {
	e := start(t)
	test, live := e.tenant("test"), e.tenant("live")
	rcv := newReceiver(t)
	want := []string{"blink", "turn_left"}

	var sc api.SessionCreated
	e.do("POST", "/api/v1/managed-session", map[string]any{"mode": "active", "challenges": want, "webhook_url": rcv.url()},
		bearer(test.APIKey)...).want(t, 201, "").decode(t, &sc)
	if sc.Mode != "active" || !slices.Equal(sc.Challenges, want) {
		t.Fatalf("created %+v, want mode active and challenges %q", sc, want)
	}
	stored, err := e.d.Store().GetSession(context.Background(), sc.SessionID)
	if err != nil || !stored.Test || !slices.Equal(stored.Challenges, want) {
		t.Fatalf("stored session %+v (%v): want test and challenges %q", stored, err, want)
	}
	var res lifecycle.Result
	e.do("GET", "/api/v1/session/"+sc.SessionID+"/result", nil, bearer(test.APIKey)...).want(t, 200, "").decode(t, &res)
	if !res.Test || !slices.Equal(res.Challenges, want) {
		t.Fatalf("result %+v: want test and challenges %q", res, want)
	}
	var view api.LivenessSession
	e.do("GET", "/v1/liveness/sessions/"+sc.SessionID, nil, bearer(test.APIKey)...).want(t, 200, "").decode(t, &view)
	if !slices.Equal(view.Challenges, want) {
		t.Fatalf("seed-002 view %+v: want challenges %q", view, want)
	}
	e.do("POST", "/api/v1/session/"+sc.SessionID+"/simulate", `{"verdict":"pass"}`, bearer(test.APIKey)...).want(t, 200, "")
	var ev struct {
		Type string           `json:"type"`
		Data lifecycle.Result `json:"data"`
	}
	if err := json.Unmarshal(rcv.next(t).body, &ev); err != nil || ev.Type != "session.completed" || !slices.Equal(ev.Data.Challenges, want) {
		t.Fatalf("webhook %+v (%v): want session.completed with challenges %q", ev, err, want)
	}

	// The seed-002 route creates the same way; the default mode is active.
	var ls api.LivenessSession
	e.do("POST", "/v1/liveness/sessions", `{"challenges":["nod","smile","turn_right"]}`, bearer(test.APIKey)...).want(t, 201, "").decode(t, &ls)
	if ls.Mode != "active" || !slices.Equal(ls.Challenges, []string{"nod", "smile", "turn_right"}) {
		t.Fatalf("seed-002 created %+v", ls)
	}

	// Sessions without a list show none (drawn when the capture starts).
	plain := e.session(live.APIKey, map[string]any{"mode": "active"})
	if r := e.do("GET", "/api/v1/session/"+plain.SessionID+"/result", nil, bearer(live.APIKey)...).want(t, 200, ""); strings.Contains(string(r.body), "challenges") {
		t.Fatalf("a session without a fixed list shows one: %s", r.body)
	}

	seven := []string{"blink", "blink", "smile", "nod", "turn_left", "turn_right", "blink"}
	cases := []struct {
		name, path string
		key        string
		body       any
		status     int
		code       string
		msg        []string // in the message
	}{
		{"live key", "/api/v1/managed-session", live.APIKey, map[string]any{"challenges": []string{"blink"}}, 403, "auth.test_key_required", []string{`"challenges"`, "test-mode key"}},
		{"live key, seed 002", "/v1/liveness/sessions", live.APIKey, map[string]any{"mode": "active", "challenges": []string{"blink"}}, 403, "auth.test_key_required", []string{`"challenges"`}},
		{"legacy key", "/api/v1/managed-session", legacyKey, map[string]any{"challenges": []string{"blink"}}, 403, "auth.test_key_required", []string{`"challenges"`}},
		{"live key, empty list", "/api/v1/managed-session", live.APIKey, map[string]any{"challenges": []string{}}, 403, "auth.test_key_required", nil},
		{"unknown kind", "/api/v1/managed-session", test.APIKey, map[string]any{"challenges": []string{"blink", "wink"}}, 400, "request.invalid_field", []string{`"challenges"[1]`, `"wink"`}},
		{"empty list", "/api/v1/managed-session", test.APIKey, map[string]any{"challenges": []string{}}, 400, "request.invalid_field", []string{`"challenges"`, "got 0"}},
		{"seven", "/api/v1/managed-session", test.APIKey, map[string]any{"challenges": seven}, 400, "request.invalid_field", []string{`"challenges"`, "got 7"}},
		{"passive", "/api/v1/managed-session", test.APIKey, map[string]any{"mode": "passive", "challenges": []string{"blink"}}, 400, "request.invalid_field", []string{`"challenges"`, `"passive"`}},
		{"not a list", "/api/v1/managed-session", test.APIKey, `{"challenges":"blink"}`, 400, "request.invalid_field", []string{`"challenges"`}},
		{"not strings", "/api/v1/managed-session", test.APIKey, `{"challenges":[1]}`, 400, "request.invalid_field", []string{`"challenges`}},
		{"kiosk", "/api/v1/managed-session", test.APIKey, map[string]any{"challenges": []string{"blink"}, "device_id": "kiosk-1"}, 400, "request.invalid_field", []string{`"challenges"`, "device_id"}},
		{"direct session", "/api/v1/session", "", map[string]any{"challenges": []string{"blink"}}, 400, "request.unknown_field", []string{`"challenges"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var hdr []string
			if c.key != "" {
				hdr = bearer(c.key)
			}
			r := e.with(t).do("POST", c.path, c.body, hdr...).want(t, c.status, c.code)
			msg := r.message(t)
			for _, m := range c.msg {
				if !strings.Contains(msg, m) {
					t.Errorf("message %q lacks %s", msg, m)
				}
			}
		})
	}

	// Part of the idempotent request: the same list replays, another one conflicts.
	idem := []string{"Idempotency-Key", "browser-test-7"}
	body := map[string]any{"challenges": []string{"smile"}}
	var first, again api.SessionCreated
	e.do("POST", "/api/v1/managed-session", body, append(bearer(test.APIKey), idem...)...).want(t, 201, "").decode(t, &first)
	r := e.do("POST", "/api/v1/managed-session", body, append(bearer(test.APIKey), idem...)...).want(t, 201, "")
	r.decode(t, &again)
	if r.header.Get("Idempotent-Replayed") != "true" || again.SessionID != first.SessionID || !slices.Equal(again.Challenges, []string{"smile"}) {
		t.Fatalf("replay %+v (%v), want session %s with challenges [smile]", again, r.header, first.SessionID)
	}
	e.do("POST", "/api/v1/managed-session", map[string]any{"challenges": []string{"blink"}}, append(bearer(test.APIKey), idem...)...).
		want(t, 409, "session.idempotency_conflict")
	e.do("POST", "/api/v1/managed-session", map[string]any{}, append(bearer(test.APIKey), idem...)...).
		want(t, 409, "session.idempotency_conflict")
}
