package proto

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTopics(t *testing.T) {
	if got := Topic("kiosk-7", TopicSessions); got != "livegate/v1/devices/kiosk-7/sessions" {
		t.Fatalf("Topic = %q", got)
	}
	tests := []struct {
		topic, device, kind string
		ok                  bool
	}{
		{"livegate/v1/devices/k1/sessions", "k1", "sessions", true},
		{"livegate/v1/devices/k1/commands/resp", "k1", "commands/resp", true},
		{"livegate/v1/devices/k1/acks", "k1", "acks", true},
		{"livegate/v1/devices/k1/nope", "", "", false},
		{"livegate/v1/devices//sessions", "", "", false},
		{"livegate/v1/devices/+/sessions", "", "", false},
		{"livegate/v2/devices/k1/sessions", "", "", false},
		{"livegate/v1/devices/k1", "", "", false},
	}
	for _, tt := range tests {
		d, k, err := ParseTopic(tt.topic)
		if (err == nil) != tt.ok || d != tt.device || k != tt.kind {
			t.Errorf("ParseTopic(%q) = %q, %q, %v", tt.topic, d, k, err)
		}
	}
	for _, bad := range []string{"", "a/b", "a#", strings.Repeat("x", 65), "a b"} {
		if ValidDeviceID(bad) == nil {
			t.Errorf("ValidDeviceID(%q) accepted", bad)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	in := SessionResult{SessionID: "ses_1", Mode: "passive", Verdict: "pass", Confidence: 0.91,
		Reasons: []string{}, Layers: []Layer{{Name: "motion", Score: 0.9, Passed: true}}, StartedAt: now, DecidedAt: now}
	data, err := Encode("msg_1", TypeSessionResult, now, &in)
	if err != nil {
		t.Fatal(err)
	}
	var out SessionResult
	env, err := Decode(data, TypeSessionResult, &out)
	if err != nil {
		t.Fatal(err)
	}
	if env.ID != "msg_1" || out.SessionID != "ses_1" || out.Layers[0].Name != "motion" {
		t.Fatalf("round trip: %+v %+v", env, out)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, data string
		want       error
	}{
		{"not json", `{`, ErrInvalid},
		{"unknown field", `{"v":1,"id":"m","type":"ack","sent":"2026-01-01T00:00:00Z","body":{"of":"x"},"extra":1}`, ErrInvalid},
		{"version", `{"v":2,"id":"m","type":"ack","sent":"2026-01-01T00:00:00Z","body":{"of":"x"}}`, ErrVersion},
		{"no id", `{"v":1,"id":"","type":"ack","sent":"2026-01-01T00:00:00Z","body":{"of":"x"}}`, ErrInvalid},
		{"wrong type", `{"v":1,"id":"m","type":"command","sent":"2026-01-01T00:00:00Z","body":{"of":"x"}}`, ErrInvalid},
		{"body unknown field", `{"v":1,"id":"m","type":"ack","sent":"2026-01-01T00:00:00Z","body":{"of":"x","z":1}}`, ErrInvalid},
		{"body invalid", `{"v":1,"id":"m","type":"ack","sent":"2026-01-01T00:00:00Z","body":{"of":""}}`, ErrInvalid},
		{"trailing", `{"v":1,"id":"m","type":"ack","sent":"2026-01-01T00:00:00Z","body":{"of":"x"}} {}`, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Ack
			if _, err := Decode([]byte(tt.data), TypeAck, &a); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSessionResultValidate(t *testing.T) {
	now := time.Now()
	ok := SessionResult{SessionID: "s", Mode: "active", Verdict: "fail", Confidence: 0.2, DecidedAt: now}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*SessionResult){
		func(r *SessionResult) { r.SessionID = "" },
		func(r *SessionResult) { r.Mode = "x" },
		func(r *SessionResult) { r.Verdict = "maybe" },
		func(r *SessionResult) { r.Confidence = 1.5 },
		func(r *SessionResult) { r.DecidedAt = time.Time{} },
		func(r *SessionResult) { r.AuditFrames = make([]AuditFrame, 5) },
	}
	for i, mut := range bad {
		r := ok
		mut(&r)
		if r.Validate() == nil {
			t.Errorf("case %d accepted", i)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"id":"m","type":"session.result","sent":"2026-01-01T00:00:00Z","body":{"session_id":"s","mode":"active","verdict":"pass","confidence":1,"decided_at":"2026-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r SessionResult
		if _, err := Decode(data, TypeSessionResult, &r); err == nil {
			if r.Validate() != nil {
				t.Fatal("decoded an invalid result without error")
			}
		}
	})
}

// The download figures are additive: an answer without them (an older
// device) decodes to zero, and zero figures are not sent.
func TestUpdateResultProgress(t *testing.T) {
	cases := []struct {
		name, json string
		want       UpdateResult
	}{
		{"older device", `{"state":"downloading","rollout":"rol_1","detail":"40% (400 of 1000 bytes)"}`,
			UpdateResult{State: UpdateDownloading, Rollout: "rol_1", Detail: "40% (400 of 1000 bytes)"}},
		{"with figures", `{"state":"downloading","rollout":"rol_1","bytes_done":400,"bytes_total":1000}`,
			UpdateResult{State: UpdateDownloading, Rollout: "rol_1", BytesDone: 400, BytesTotal: 1000}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got UpdateResult
			if err := strictUnmarshal([]byte(c.json), &got); err != nil || got != c.want {
				t.Fatalf("got %+v %v, want %+v", got, err, c.want)
			}
		})
	}
	b, err := json.Marshal(UpdateResult{State: UpdateSucceeded, Rollout: "rol_1"})
	if err != nil || strings.Contains(string(b), "bytes_") {
		t.Fatalf("zero figures sent: %s %v", b, err)
	}
}
