package releases

import (
	"encoding/json"
	"testing"

	"livegate.dev/proto"
)

func TestStateFromResponse(t *testing.T) {
	cases := []struct {
		status, result string
		want           string
		ok             bool
	}{
		{"accepted", "", StateDownloading, true},
		{"done", "", StateSucceeded, true},
		{"failed", "", StateFailed, true},
		{"refused", "", StateFailed, true},
		{"accepted", `{"state":"installing"}`, StateInstalling, true},
		{"failed", `{"state":"rolled_back"}`, StateRolledBack, true},
		{"done", `{"state":"pending"}`, StateSucceeded, true},
		{"done", `not json`, StateSucceeded, true},
		{"bogus", "", "", false},
	}
	for _, c := range cases {
		r := proto.CommandResponse{Of: "m1", Status: c.status}
		if c.result != "" {
			r.Result = json.RawMessage(c.result)
		}
		got, ok := StateFromResponse(r)
		if got != c.want || ok != c.ok {
			t.Errorf("%s %s: %q %v, want %q %v", c.status, c.result, got, ok, c.want, c.ok)
		}
	}
}
