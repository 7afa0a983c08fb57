package openapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"livegate.dev/cloud/internal/api/apierr"
)

type inner struct {
	A string `json:"a"`
}

type sample struct {
	inner
	Name     string            `json:"name" doc:"The name."`
	Mode     string            `json:"mode,omitempty" enum:"x,y"`
	When     time.Time         `json:"when"`
	Maybe    *float64          `json:"maybe"`
	Verdict  *string           `json:"verdict" enum:"pass,fail"`
	List     []inner           `json:"list"`
	Map      map[string]int    `json:"map"`
	Raw      json.RawMessage   `json:"raw,omitempty"`
	Bytes    []byte            `json:"bytes"`
	Skipped  string            `json:"-"`
	private  string            //nolint:unused
	Optional map[string]string `json:"optional" optional:"true"`
	Kinds    []string          `json:"kinds,omitempty" enum:"a,b" minItems:"1" maxItems:"3"`
}

func TestSchemaOf(t *testing.T) {
	sc := newSchemas()
	ref := sc.of(reflect.TypeOf(sample{}))
	if ref["$ref"] != "#/components/schemas/sample" {
		t.Fatalf("ref %v", ref)
	}
	s := sc.named["sample"]
	props := s["properties"].(map[string]any)
	wantOrder := []string{"a", "name", "mode", "when", "maybe", "verdict", "list", "map", "raw", "bytes", "optional", "kinds"}
	if !reflect.DeepEqual(s["x-order"], wantOrder) {
		t.Fatalf("order %v", s["x-order"])
	}
	check := func(name string, want Schema) {
		t.Helper()
		got, _ := json.Marshal(props[name])
		w, _ := json.Marshal(want)
		if string(got) != string(w) {
			t.Errorf("%s: %s, want %s", name, got, w)
		}
	}
	check("a", Schema{"type": "string"})
	check("name", Schema{"type": "string", "description": "The name."})
	check("mode", Schema{"type": "string", "enum": []any{"x", "y"}})
	check("when", Schema{"type": "string", "format": "date-time"})
	check("maybe", Schema{"type": []string{"number", "null"}})
	check("verdict", Schema{"type": []string{"string", "null"}, "enum": []any{"pass", "fail", nil}})
	check("list", Schema{"type": "array", "items": Schema{"$ref": "#/components/schemas/inner"}})
	check("map", Schema{"type": "object", "additionalProperties": Schema{"type": "integer"}})
	check("bytes", Schema{"type": "string", "contentEncoding": "base64"})
	check("kinds", Schema{"type": "array", "items": Schema{"type": "string", "enum": []any{"a", "b"}}, "minItems": 1, "maxItems": 3})
	if _, ok := props["Skipped"]; ok {
		t.Error("json:\"-\" field documented")
	}
	req := s["required"].([]string)
	if !reflect.DeepEqual(req, []string{"a", "name", "when", "maybe", "verdict", "list", "map", "bytes"}) {
		t.Errorf("required %v", req)
	}
}

func TestBuildRejectsDuplicates(t *testing.T) {
	op := Operation{Method: "GET", Path: "/x", ID: "x", Tag: "t", Summary: "s", Responses: []Response{{Status: 200, Description: "ok"}}}
	if _, err := Build(Info{Title: "t", Version: "1"}, []Operation{op, op}); err == nil {
		t.Fatal("duplicate operation accepted")
	}
	doc, err := Build(Info{Title: "t", Version: "1"}, []Operation{op})
	if err != nil {
		t.Fatal(err)
	}
	enum := doc["components"].(map[string]any)["schemas"].(map[string]any)["ErrorCode"].(Schema)["enum"].([]any)
	if len(enum) != len(apierr.Codes()) {
		t.Fatalf("ErrorCode enum %d, registry %d", len(enum), len(apierr.Codes()))
	}
}
