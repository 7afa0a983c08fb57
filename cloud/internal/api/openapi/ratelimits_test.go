package openapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDurationWords(t *testing.T) {
	for _, c := range []struct {
		d         time.Duration
		span, per string
	}{
		{time.Second, "1 second", "second"},
		{90 * time.Second, "90 seconds", "90 seconds"},
		{time.Minute, "1 minute", "minute"},
		{3 * time.Minute, "3 minutes", "3 minutes"},
		{2 * time.Hour, "2 hours", "2 hours"},
		{24 * time.Hour, "1 day", "day"},
		{25 * time.Hour, "25 hours", "25 hours"},
	} {
		if got := duration(c.d); got != c.span {
			t.Errorf("duration(%v) = %q, want %q", c.d, got, c.span)
		}
		if got := per(c.d); got != c.per {
			t.Errorf("per(%v) = %q, want %q", c.d, got, c.per)
		}
	}
	for n, want := range map[int]string{1: "st", 2: "nd", 3: "rd", 4: "th", 5: "th", 11: "th", 12: "th", 13: "th", 21: "st", 100: "th", 101: "st"} {
		if got := ordinal(n); got != want {
			t.Errorf("ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}

type exampleBody struct {
	Name string `json:"name"`
	Mode string `json:"mode,omitempty"`
}

// TestBodyExamples: an example must decode into the body as the server
// decodes bodies (strictly); it is kept in its author's field order and
// prefills the try-it panel.
func TestBodyExamples(t *testing.T) {
	op := func(example string, body any) Operation {
		return Operation{Method: "POST", Path: "/x", ID: "x", Tag: "T", Summary: "x", Body: body, Example: example,
			Responses: []Response{{Status: 200, Description: "ok"}}}
	}
	for _, c := range []struct {
		example string
		body    any
		err     string
	}{
		{`{"name": "a", "colour": "red"}`, exampleBody{}, `unknown field "colour"`},
		{`{"name": 3}`, exampleBody{}, "name"},
		{`[]`, exampleBody{}, "exampleBody"},
		{`{"name": "a"} {}`, exampleBody{}, "exactly one"},
		{`{"name": "a"}`, nil, "no body"},
	} {
		if _, err := Build(Info{}, []Operation{op(c.example, c.body)}); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("example %s: %v, want an error naming %q", c.example, err, c.err)
		}
	}
	doc, err := Build(Info{}, []Operation{op(`{"name": "a",  "mode": "x"}`, exampleBody{})})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"example":{"name":"a","mode":"x"}`) {
		t.Fatalf("example not in the document as written: %s", b)
	}
	page, err := RenderAPI(doc, "n0nce")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "{\n  &#34;name&#34;: &#34;a&#34;,\n  &#34;mode&#34;: &#34;x&#34;\n}</textarea>") ||
		!strings.Contains(string(page), `<script nonce="n0nce">`) || !strings.Contains(string(page), `<style nonce="n0nce">`) {
		t.Fatalf("the try-it panel is not prefilled, or style and script lack the nonce")
	}
}
