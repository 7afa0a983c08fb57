package jsonbody

import (
	"encoding/json"
	"strings"
	"testing"

	"livegate.dev/cloud/internal/api/apierr"
)

type sample struct {
	UserID     string          `json:"user_id"`
	Mode       string          `json:"mode"`
	Confidence *float64        `json:"confidence"`
	Count      int             `json:"count"`
	Metadata   json.RawMessage `json:"metadata"`
	Nested     struct {
		On bool `json:"on"`
	} `json:"nested"`
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantCode string // "" means success
		wantText string // substring of the message
	}{
		{"ok", `{"user_id":"u1","mode":"passive","confidence":0.8}`, "", ""},
		{"empty body is {}", ``, "", ""},
		{"whitespace body is {}", " \n\t", "", ""},
		{"metadata object kept raw", `{"metadata":{"a":[1,2]}}`, "", ""},
		{"syntax error", `{"user_id":}`, apierr.InvalidJSON.ID, "byte offset"},
		{"truncated", `{"user_id":"u1"`, apierr.InvalidJSON.ID, "ends early"},
		{"not an object", `[1,2]`, apierr.InvalidJSON.ID, "must be a JSON object"},
		{"string top level", `"x"`, apierr.InvalidJSON.ID, "must be a JSON object"},
		{"two values", `{} {}`, apierr.InvalidJSON.ID, "exactly one"},
		{"trailing garbage", `{}x`, apierr.InvalidJSON.ID, ""},
		{"unknown field", `{"user_id":"u","colour":"red"}`, apierr.UnknownField.ID, `"colour"`},
		{"unknown nested field", `{"nested":{"off":true}}`, apierr.UnknownField.ID, `"off"`},
		{"wrong type string", `{"user_id":12}`, apierr.InvalidField.ID, `"user_id" must be a string, got number`},
		{"wrong type number", `{"confidence":"high"}`, apierr.InvalidField.ID, `"confidence" must be a number, got string`},
		{"wrong type integer", `{"count":1.5}`, apierr.InvalidField.ID, `"count" must be an integer`},
		{"wrong nested type", `{"nested":{"on":"yes"}}`, apierr.InvalidField.ID, `"nested.on" must be a boolean`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v sample
			err := Decode([]byte(tc.body), &v)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("Decode(%q) = %v, want nil", tc.body, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Decode(%q) = nil, want %s", tc.body, tc.wantCode)
			}
			if err.Code.ID != tc.wantCode || !strings.Contains(err.Message, tc.wantText) {
				t.Fatalf("Decode(%q) = %s %q, want %s containing %q", tc.body, err.Code.ID, err.Message, tc.wantCode, tc.wantText)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"u1","mode":"passive"}`, `{}`, ``, `[]`, `{"confidence":1e400}`,
		`{"user_id":"\ud800"}`, `{"metadata":{"x":{"y":[null]}}}`, `{"a":1}`, `{"count":-0}`,
		`{"nested":{"on":true}}`, "{\"user_id\":\"\x00\"}", `{"user_id":"a"}{`,
	} {
		f.Add([]byte(s))
	}
	allowed := map[string]bool{apierr.InvalidJSON.ID: true, apierr.UnknownField.ID: true, apierr.InvalidField.ID: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v sample
		err := Decode(body, &v)
		if err == nil {
			// What decoded must encode again.
			if _, merr := json.Marshal(v); merr != nil && len(v.Metadata) == 0 {
				t.Fatalf("decoded value does not re-encode: %v", merr)
			}
			return
		}
		if !allowed[err.Code.ID] || err.Message == "" {
			t.Fatalf("Decode(%q) gave unexpected error %s %q", body, err.Code.ID, err.Message)
		}
		if err.Code.Status != 400 {
			t.Fatalf("status %d", err.Code.Status)
		}
	})
}
