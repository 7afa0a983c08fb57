package releases

import (
	"context"
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
		{"accepted", `{"state":"rebooting","rollout":"rol_1"}`, StateInstalling, true},
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

// TestCommandResponse: the device's answers reach the rollout named in
// their UpdateResult, repeated and out of order, and never move a device
// backwards; answers to other commands are ignored.
func TestCommandResponse(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fleet{{ID: "k1"}, {ID: "k2"}})
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: e.release(t).ID})
	if err != nil {
		t.Fatal(err)
	}
	answer := func(dev, status, state, rollout string) string {
		t.Helper()
		res, _ := json.Marshal(proto.UpdateResult{State: state, Rollout: rollout, Detail: "d-" + state})
		e.svc.CommandResponse(ctx, dev, &proto.CommandResponse{Of: "cmd_x", Status: status, Result: res})
		got, err := e.svc.Rollout(ctx, ro.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Devices[dev].State
	}
	steps := []struct {
		dev, status, state, rollout string
		want                        string
	}{
		{"k1", "accepted", proto.UpdateDownloading, ro.ID, StateDownloading},
		{"k1", "accepted", proto.UpdateRebooting, ro.ID, StateInstalling},
		{"k1", "accepted", proto.UpdateDownloading, ro.ID, StateInstalling}, // late duplicate: no step back
		{"k1", "done", proto.UpdateSucceeded, ro.ID, StateSucceeded},
		{"k1", "accepted", proto.UpdateInstalling, ro.ID, StateSucceeded}, // out of order after the final answer
		{"k1", "done", proto.UpdateSucceeded, ro.ID, StateSucceeded},      // repeated
		{"k2", "done", proto.UpdateSucceeded, "rol_other", StateNotified}, // another rollout: not this one
		{"k2", "done", proto.UpdateSucceeded, "", StateNotified},          // no rollout named: not an update answer
		{"k2", "failed", proto.UpdateRolledBack, ro.ID, StateRolledBack},
		{"k2", "done", proto.UpdateSucceeded, ro.ID, StateRolledBack}, // a failure stays a failure
	}
	for i, s := range steps {
		if got := answer(s.dev, s.status, s.state, s.rollout); got != s.want {
			t.Fatalf("step %d (%s %s %s): state %s, want %s", i, s.dev, s.status, s.state, got, s.want)
		}
	}
	got, _ := e.svc.Rollout(ctx, ro.ID)
	if got.Devices["k1"].Error != "" { // progress details are not kept
		t.Fatalf("k1 error %q", got.Devices["k1"].Error)
	}
	if got.Devices["k2"].Error != "d-rolled_back" || got.State != RolloutCompleted {
		t.Fatalf("rollout %+v k2 %+v", got, got.Devices["k2"])
	}
	// A success may still turn into a failure (a crash loop after the health check).
	if answer("k1", "failed", proto.UpdateRolledBack, ro.ID) != StateRolledBack {
		t.Fatal("succeeded → rolled_back not recorded")
	}
	// A response without a result (another command's) changes nothing.
	e.svc.CommandResponse(ctx, "k1", &proto.CommandResponse{Of: "cmd_y", Status: "done"})
}

// TestTelemetryBoard: the reported board lands in the device facts and
// selects the device for releases of its board only.
func TestTelemetryBoard(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	e.svc.Telemetry(ctx, "k1", &proto.Telemetry{Board: "imx8mp"})
	e.svc.Telemetry(ctx, "k1", &proto.Telemetry{Board: "imx8mp"})
	e.svc.Telemetry(ctx, "k2", &proto.Telemetry{}) // no board: nothing stored
	f, err := e.svc.DeviceFacts(ctx, "k1")
	if err != nil || f.Board != "imx8mp" {
		t.Fatalf("facts %+v %v", f, err)
	}
	if _, err := e.svc.cfg.Repo.GetDeviceFacts(ctx, "k2"); err == nil {
		t.Fatal("facts stored for a telemetry without a board")
	}
}
