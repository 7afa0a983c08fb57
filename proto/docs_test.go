package proto

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"
)

// TestDocExamples decodes every JSON example of docs/proto.md strictly.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/proto.md")
	if err != nil {
		t.Skipf("docs/proto.md: %v", err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 7 {
		t.Fatalf("%d JSON examples, want at least 7", len(blocks))
	}
	for i, b := range blocks {
		var head struct{ Type string }
		if err := json.Unmarshal(b[1], &head); err != nil {
			t.Fatalf("example %d: %v", i, err)
		}
		var body any
		switch head.Type {
		case TypeSessionResult:
			body = &SessionResult{}
		case TypeAck:
			body = &Ack{}
		case TypeCommand:
			body = &Command{}
		case TypeCommandResponse:
			body = &CommandResponse{}
		case TypeTelemetry:
			body = &Telemetry{}
		case TypeStatus:
			body = &Status{}
		default:
			t.Fatalf("example %d has type %q", i, head.Type)
		}
		if _, err := Decode(b[1], head.Type, body); err != nil {
			t.Errorf("example %d (%s): %v", i, head.Type, err)
		}
		if c, ok := body.(*Command); ok && c.Kind == CommandAssignSession {
			var a AssignSessionArgs
			if err := strictUnmarshal(c.Args, &a); err != nil || a.SessionID == "" {
				t.Errorf("assign args: %v", err)
			}
		}
	}
}
