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
		// Stricter than encoding/json: what an integrator's own parser may refuse
		// when the value comes back in a result or a webhook.
		{"null body", `null`, apierr.InvalidJSON.ID, "must be a JSON object, got null"},
		{"duplicate key", `{"mode":"active","mode":"passive"}`, apierr.InvalidField.ID, `"mode" appears twice`},
		{"duplicate nested key", `{"nested":{"on":true,"on":false}}`, apierr.InvalidField.ID, `"nested.on" appears twice`},
		{"duplicate key in metadata", `{"metadata":{"a":1,"a":2}}`, apierr.InvalidField.ID, `"metadata.a" appears twice`},
		{"key case", `{"User_ID":"u1"}`, apierr.UnknownField.ID, `case-sensitive: "user_id"`},
		{"nested key case", `{"nested":{"On":true}}`, apierr.UnknownField.ID, `"nested.On"`},
		{"metadata keys are free", `{"metadata":{"User_ID":1,"user_id":2}}`, "", ""},
		{"invalid UTF-8", "{\"user_id\":\"u\xff\"}", apierr.InvalidJSON.ID, "not UTF-8 at byte offset 13"},
		{"NUL escape", `{"user_id":"a\u0000b"}`, apierr.InvalidField.ID, `\u0000`},
		{"lone high surrogate", `{"user_id":"\ud83d"}`, apierr.InvalidField.ID, "lone high surrogate"},
		{"lone low surrogate", `{"metadata":{"k":"\ude00"}}`, apierr.InvalidField.ID, "lone low surrogate"},
		{"surrogate pair", `{"user_id":"\ud83d\ude00"}`, "", ""},
		{"escaped backslash then u0000 text", `{"user_id":"\\u0000"}`, "", ""},
		{"number beyond float64", `{"metadata":{"n":1e400}}`, apierr.InvalidField.ID, `"metadata.n": the number 1e400 is out of range`},
		{"large but finite number", `{"metadata":{"n":1e300}}`, "", ""},
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
