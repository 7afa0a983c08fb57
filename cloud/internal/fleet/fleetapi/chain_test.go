package fleetapi_test

import (
	"errors"
	"fmt"
	"testing"

	"livegate.dev/cloud/internal/api"
	"livegate.dev/cloud/internal/api/daemon"
	"livegate.dev/cloud/internal/api/openapi"
	"livegate.dev/cloud/internal/fleet/fleetapi"
)

func TestChain(t *testing.T) {
	var closed []string
	hook := func(name string, fail bool) fleetapi.RoutesHook {
		return func(daemon.Parts) ([]api.Route, func() error, error) {
			if fail {
				return nil, nil, errors.New("boom")
			}
			return []api.Route{{Operation: openapi.Operation{ID: name}}}, func() error { closed = append(closed, name); return nil }, nil
		}
	}
	rs, cl, err := fleetapi.Chain(hook("a", false), nil, hook("b", false))(daemon.Parts{})
	if err != nil || len(rs) != 2 || rs[0].ID != "a" || rs[1].ID != "b" {
		t.Fatalf("routes %v, %v", rs, err)
	}
	if err := cl(); err != nil || fmt.Sprint(closed) != "[b a]" {
		t.Fatalf("close order %v, %v", closed, err)
	}
	closed = nil
	if _, _, err := fleetapi.Chain(hook("a", false), hook("x", true))(daemon.Parts{}); err == nil || fmt.Sprint(closed) != "[a]" {
		t.Fatalf("failed chain: %v, closed %v", err, closed)
	}
}
