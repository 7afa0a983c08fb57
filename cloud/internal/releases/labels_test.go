package releases

import (
	"context"
	"strings"
	"testing"

	"livegate.dev/proto"
)

func TestValidLabels(t *testing.T) {
	long := strings.Repeat("k", 64)
	many := map[string]string{}
	for i := range 33 {
		many[string(rune('a'+i%26))+strings.Repeat("x", i)] = "v"
	}
	cases := []struct {
		name   string
		labels map[string]string
		ok     bool
	}{
		{"empty", map[string]string{}, true},
		{"typical", map[string]string{"site": "lisbon-3", "ring": "canary", "example.com/zone": "a_b"}, true},
		{"reserved", map[string]string{"tenant": "ten_x"}, false},
		{"empty key", map[string]string{"": "x"}, false},
		{"long key", map[string]string{long: "x"}, false},
		{"bad key", map[string]string{"a b": "x"}, false},
		{"long value", map[string]string{"a": strings.Repeat("v", 256)}, false},
		{"too many", many, false},
	}
	for _, c := range cases {
		if err := validLabels(c.labels); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestLabelsSelectCohort: labels set through the service, and the board a
// device reports, decide which devices a rollout takes.
func TestLabelsSelectCohort(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	for _, id := range []string{"k1", "k2", "k3"} {
		if _, err := e.svc.SetLabels(ctx, id, map[string]string{"site": "lisbon"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.SetLabels(ctx, "k2", map[string]string{"site": "porto"}); err != nil {
		t.Fatal(err)
	}
	e.svc.Telemetry(ctx, "k3", &proto.Telemetry{Board: "imx8mp"})
	e.svc.cfg.Devices = StoreDevices{Store: registry{"k1", "k2", "k3", "k4"}, Facts: e.svc.cfg.Repo}
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: e.release(t).ID, Labels: map[string]string{"site": "lisbon"}})
	if err != nil {
		t.Fatal(err)
	}
	// k2 is elsewhere, k3 reports a board the release does not target, k4 has no labels.
	if len(ro.Devices) != 1 || ro.Devices["k1"] == nil {
		t.Fatalf("cohort %v", ro.Devices)
	}
	if _, err := e.svc.SetLabels(ctx, "k1", map[string]string{"tenant": "x"}); err == nil {
		t.Fatal("reserved label accepted")
	}
}
