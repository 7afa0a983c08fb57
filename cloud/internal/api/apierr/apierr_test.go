package apierr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCodesAreWellFormed(t *testing.T) {
	codes := Codes()
	if len(codes) < 20 {
		t.Fatalf("only %d codes registered", len(codes))
	}
	for _, c := range codes {
		if !strings.Contains(c.ID, ".") || strings.ToLower(c.ID) != c.ID {
			t.Errorf("code %q is not a lower-case dotted id", c.ID)
		}
		if c.Status < 400 || c.Status > 599 {
			t.Errorf("code %q has non-error status %d", c.ID, c.Status)
		}
		if c.Meaning == "" {
			t.Errorf("code %q has no meaning", c.ID)
		}
		if got, ok := Lookup(c.ID); !ok || got != c {
			t.Errorf("Lookup(%q) = %v, %v", c.ID, got, ok)
		}
	}
}

func TestAsFindsWrappedError(t *testing.T) {
	cause := errors.New("disk full")
	err := fmt.Errorf("creating session: %w", Wrap(StoreUnavailable, cause, "store down"))
	e, ok := As(err)
	if !ok || e.Code != StoreUnavailable || e.Status() != 503 {
		t.Fatalf("As = %v, %v", e, ok)
	}
	if !errors.Is(err, cause) {
		t.Fatal("cause not in chain")
	}
	if _, ok := As(cause); ok {
		t.Fatal("As found an *Error in a plain error")
	}
}
