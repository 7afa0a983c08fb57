package releases

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// A told device that does not answer (its command was lost: no session on
// the broker) gets the same command again — same message id, same expiry —
// when its session comes online and, on the injected clock, ResendAfter
// after the last send, then twice as long each time; the repeats stop once
// it answers; a device still silent when its command expires is failed,
// with report_timeout 0, and the rollout completes.
func TestRolloutResend(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fleet{
		{ID: "k-answers", Board: "sim", FirmwareVersion: "1.1.0"},
		{ID: "k-lost", Board: "sim", FirmwareVersion: "1.1.0"},
		{ID: "k-down", Board: "sim", FirmwareVersion: "1.1.0"},
	})
	rel := e.release(t)
	e.notes.fail["k-down"] = true // not linked: the send fails, the device stays pending
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: rel.ID})
	if err != nil {
		t.Fatal(err)
	}
	lost, down := ro.Devices["k-lost"], ro.Devices["k-down"]
	if lost.State != StateNotified || lost.Command == "" || lost.Sends != 1 || !lost.CommandExpiresAt.Equal(t0.Add(DefaultCommandTTL)) {
		t.Fatalf("told device: %+v", lost)
	}
	if down.State != StatePending || down.Command == "" || down.Sends != 0 || !strings.HasPrefix(down.Error, "notify: ") {
		t.Fatalf("device whose send failed: %+v", down)
	}
	if ro.Devices["k-answers"].Command == lost.Command {
		t.Fatal("two devices share a command id")
	}
	if _, err := e.svc.Report(ctx, ro.ID, "k-answers", StateDownloading, ""); err != nil {
		t.Fatal(err)
	}
	cmds := func(dev string) []string { return e.notes.commands(dev) }
	sends := func(dev string) int { return len(cmds(dev)) }
	tick := func() {
		t.Helper()
		if err := e.svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// The session comes online: the silent device is told again at once,
	// the device that answered is not.
	e.svc.DeviceOnline(ctx, "k-lost")
	e.svc.DeviceOnline(ctx, "k-answers")
	if sends("k-lost") != 2 || sends("k-answers") != 1 {
		t.Fatalf("after online: k-lost sent %d times, k-answers %d", sends("k-lost"), sends("k-answers"))
	}
	// The failed send keeps its command id: the retry sends the same one.
	delete(e.notes.fail, "k-down")
	e.svc.DeviceOnline(ctx, "k-down")
	if c := cmds("k-down"); len(c) != 1 || c[0] != down.Command {
		t.Fatalf("k-down got %v, want [%s]", c, down.Command)
	}

	// The clock: ResendAfter after the first send, twice as long after
	// each further one (the online repeat at t0 was the second: 10 min),
	// capped at MaxResendAfter.
	want := 2
	at := t0
	for i, wait := range []time.Duration{10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute, 2 * time.Hour, 2 * time.Hour} {
		e.clk.Set(at.Add(wait - time.Second))
		tick()
		if sends("k-lost") != want {
			t.Fatalf("repeat %d: sent again before %v", i, wait)
		}
		at = at.Add(wait)
		e.clk.Set(at)
		tick()
		want++
		if sends("k-lost") != want {
			t.Fatalf("repeat %d after %v: sent %d times, want %d", i, wait, sends("k-lost"), want)
		}
	}
	for _, c := range cmds("k-lost") {
		if c != lost.Command {
			t.Fatalf("a repeat changed the command id: %v", cmds("k-lost"))
		}
	}
	for _, s := range e.notes.sent {
		if s.device == "k-lost" && !s.expires.Equal(lost.CommandExpiresAt) {
			t.Fatalf("a repeat changed the expiry: %v, want %v", s.expires, lost.CommandExpiresAt)
		}
	}
	if n := sends("k-answers"); n != 1 {
		t.Fatalf("the device that answered was sent %d commands", n)
	}
	ro, _ = e.svc.Rollout(ctx, ro.ID)
	if p := ro.Devices["k-lost"]; p.Sends != want || !p.UpdatedAt.Equal(t0) || p.State != StateNotified {
		t.Fatalf("repeats moved the progress: %+v (sends want %d)", p, want)
	}

	// k-down answers after its retry; k-answers finishes.
	for _, d := range []string{"k-down", "k-answers"} {
		if _, err := e.svc.Report(ctx, ro.ID, d, StateSucceeded, ""); err != nil {
			t.Fatal(err)
		}
	}
	// The command expires with k-lost silent: failed, the stage is done.
	e.clk.Set(lost.CommandExpiresAt.Add(-time.Second))
	tick()
	if ro, _ = e.svc.Rollout(ctx, ro.ID); ro.State != RolloutRunning || ro.Devices["k-lost"].State != StateNotified {
		t.Fatalf("failed before the expiry: %s %+v", ro.State, ro.Devices["k-lost"])
	}
	n := sends("k-lost")
	e.clk.Set(lost.CommandExpiresAt)
	tick()
	ro, _ = e.svc.Rollout(ctx, ro.ID)
	p := ro.Devices["k-lost"]
	if ro.State != RolloutCompleted || p.State != StateFailed || !strings.Contains(p.Error, "before it expired") || sends("k-lost") != n {
		t.Fatalf("after the expiry: %s; %+v; sent %d (was %d)", ro.State, p, sends("k-lost"), n)
	}
	e.svc.DeviceOnline(ctx, "k-lost") // finished: nothing more is sent
	if sends("k-lost") != n {
		t.Fatal("sent to a failed device")
	}
}

// A stopped rollout repeats nothing; a device recorded before command ids
// existed (notified, no id) is neither repeated nor expired by the rule.
func TestRolloutResendStoppedAndLegacy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, fleet{{ID: "k1", Board: "sim"}, {ID: "k2", Board: "sim"}})
	rel := e.release(t)
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: rel.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.cfg.Repo.UpdateRollout(ctx, ro.ID, func(r *Rollout) error {
		p := r.Devices["k2"]
		p.Command, p.CommandExpiresAt, p.SentAt, p.Sends = "", time.Time{}, time.Time{}, 0
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(DefaultResendAfter)
	e.svc.DeviceOnline(ctx, "k2")
	if err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.notes.devices(); !slices.Equal(got, []string{"k1", "k2", "k1"}) {
		t.Fatalf("sent to %v, want k1 k2 k1 (k2 has no id to repeat)", got)
	}
	e.clk.Advance(DefaultCommandTTL)
	if err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	ro, _ = e.svc.Rollout(ctx, ro.ID)
	if ro.Devices["k1"].State != StateFailed || ro.Devices["k2"].State != StateNotified || ro.State != RolloutRunning {
		t.Fatalf("after the expiry: k1 %+v, k2 %+v, %s", ro.Devices["k1"], ro.Devices["k2"], ro.State)
	}

	ro2, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: rel.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Stop(ctx, ro2.ID, ""); err != nil {
		t.Fatal(err)
	}
	n := len(e.notes.devices())
	e.clk.Advance(DefaultResendAfter)
	e.svc.DeviceOnline(ctx, "k1")
	if err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.notes.devices()) != n {
		t.Fatal("a stopped rollout sent its command again")
	}
}
