package releases

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// simFleet is n sim devices on 1.1.0, half at site a and half at site b,
// plus devices no rollout of a 1.2.0 sim/rpi5 release may include.
func simFleet(n int) fleet {
	var f fleet
	for i := range n {
		site := "a"
		if i%2 == 1 {
			site = "b"
		}
		f = append(f, Device{ID: fmt.Sprintf("kiosk-%03d", i), Board: "sim", Arch: "amd64", FirmwareVersion: "1.1.0",
			Labels: map[string]string{"site": site}})
	}
	return append(f,
		Device{ID: "wrong-board", Board: "rpi4", Arch: "arm64", FirmwareVersion: "1.1.0", Labels: map[string]string{"site": "a"}},
		Device{ID: "wrong-arch", Board: "sim", Arch: "riscv64", FirmwareVersion: "1.1.0", Labels: map[string]string{"site": "a"}},
		Device{ID: "up-to-date", Board: "sim", Arch: "amd64", FirmwareVersion: "1.2.0", Labels: map[string]string{"site": "a"}},
		Device{ID: "too-old", Board: "sim", Arch: "amd64", FirmwareVersion: "0.9.0", Labels: map[string]string{"site": "a"}},
	)
}

func (e *env) release(t *testing.T) *Release {
	t.Helper()
	rel, err := e.svc.Upload(context.Background(), bytes.NewReader(e.keys.build(t, "1.2.0", []byte("image"))))
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

// play makes every device told since mark report what a device would:
// (downloading, installing,) then succeeded, or failed where fail says so.
func (e *env) play(t *testing.T, ro *Rollout, mark int, fail func(id string) bool) int {
	t.Helper()
	ctx := context.Background()
	told := e.notes.devices()
	for i, d := range told[mark:] {
		if i%10 == 0 { // every state on some devices; the final one on all (each report rewrites the rollout)
			for _, st := range []string{StateDownloading, StateInstalling} {
				if _, err := e.svc.Report(ctx, ro.ID, d, st, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
		final, detail := StateSucceeded, ""
		if fail != nil && fail(d) {
			final, detail = StateFailed, "health check failed"
		}
		if _, err := e.svc.Report(ctx, ro.ID, d, final, detail); err != nil {
			t.Fatal(err)
		}
	}
	return len(told)
}

func TestRolloutStagesAndCohorts(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simFleet(120))
	rel := e.release(t)
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: rel.ID, Stages: []float64{10, 50, 100}, AbortPercent: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(ro.Devices) != 120 {
		t.Fatalf("%d eligible devices, want the 120 sim devices on 1.1.0", len(ro.Devices))
	}
	for _, id := range []string{"wrong-board", "wrong-arch", "up-to-date", "too-old"} {
		if ro.Devices[id] != nil {
			t.Errorf("%s included", id)
		}
	}
	seen := map[string]bool{}
	mark := 0
	for stage, pct := range ro.Stages {
		if stage > 0 {
			if ro, err = e.svc.Advance(ctx, ro.ID); err != nil {
				t.Fatal(err)
			}
		}
		told := e.notes.devices()
		for _, d := range told[mark:] {
			if seen[d] {
				t.Fatalf("stage %d: %s told twice", stage, d)
			}
			seen[d] = true
			p := ro.Devices[d]
			if p.Stage != stage || p.Bucket != bucket(ro.ID, d) || float64(p.Bucket) >= pct*100 || p.State != StateNotified {
				t.Fatalf("stage %d: %s %+v", stage, d, p)
			}
		}
		// The cohort is the hash's: every device below the stage's bucket bound, none above.
		want := 0
		for d, p := range ro.Devices {
			if float64(bucket(ro.ID, d)) < pct*100 {
				want++
			} else if p.State != StatePending || p.Stage != -1 {
				t.Fatalf("stage %d: %s outside the cohort is %+v", stage, d, p)
			}
		}
		if len(seen) != want {
			t.Fatalf("stage %d: %d told, %d in the cohort", stage, len(seen), want)
		}
		t.Logf("stage %d (%v%%): %d devices told", stage, pct, len(seen))
		mark = e.play(t, ro, mark, nil)
	}
	if ro, err = e.svc.Rollout(ctx, ro.ID); err != nil || ro.State != RolloutCompleted || len(seen) != 120 {
		t.Fatalf("after the last stage: %s, %d told, %v", ro.State, len(seen), err)
	}
	args := e.notes.sent[0].args
	if args.Kind != "firmware" || args.Version != "1.2.0" || args.SHA256 != rel.SHA256 || args.Size != rel.Size ||
		args.Rollout != ro.ID || args.URL != "/api/v1/releases/"+rel.ID+"/artifact" {
		t.Fatalf("update args %+v", args)
	}
	if _, err := e.svc.Advance(ctx, ro.ID); !errors.Is(err, ErrFinished) {
		t.Fatalf("advance a completed rollout: %v", err)
	}
}

func TestRolloutLabels(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simFleet(20))
	rel := e.release(t)
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: rel.ID, Labels: map[string]string{"site": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ro.Devices) != 10 || len(e.notes.devices()) != 10 {
		t.Fatalf("%d devices, %d told; want the 10 at site b", len(ro.Devices), len(e.notes.devices()))
	}
	for d := range ro.Devices {
		var n int
		fmt.Sscanf(d, "kiosk-%d", &n)
		if n%2 != 1 {
			t.Fatalf("%s is not at site b", d)
		}
	}
}

// A simulated fleet where every kiosk at site b fails its health check:
// the first stage that holds enough of them trips the abort, and no device
// of a later stage is told.
func TestRolloutFailingCohortAborts(t *testing.T) {
	cases := []struct {
		name string
		req  RolloutRequest
	}{
		{"by count", RolloutRequest{Stages: []float64{5, 50, 100}, AbortFailures: 3}},
		{"by percent", RolloutRequest{Stages: []float64{5, 50, 100}, AbortPercent: 20}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, simFleet(200))
			c.req.ReleaseID = e.release(t).ID
			ro, err := e.svc.StartRollout(ctx, c.req)
			if err != nil {
				t.Fatal(err)
			}
			failB := func(id string) bool { return ro.Devices[id] != nil && (id[len(id)-1]-'0')%2 == 1 }
			mark := 0
			for ro.State == RolloutRunning {
				mark = e.play(t, ro, mark, failB)
				if ro, err = e.svc.Rollout(ctx, ro.ID); err != nil {
					t.Fatal(err)
				}
				if ro.State != RolloutRunning {
					break
				}
				if ro, err = e.svc.Advance(ctx, ro.ID); err != nil {
					t.Fatal(err)
				}
			}
			if ro.State != RolloutAborted || ro.Reason == "" {
				t.Fatalf("state %s reason %q", ro.State, ro.Reason)
			}
			pending := 0
			for _, p := range ro.Devices {
				if p.State == StatePending {
					pending++
				}
			}
			if pending == 0 || len(e.notes.devices()) >= 200 {
				t.Fatalf("abort did not hold back the rest: %d pending, %d told", pending, len(e.notes.devices()))
			}
			t.Logf("aborted at stage %d: %s; %d told, %d never told", ro.Stage, ro.Reason, len(e.notes.devices()), pending)
			if _, err := e.svc.Advance(ctx, ro.ID); !errors.Is(err, ErrFinished) {
				t.Fatalf("advance an aborted rollout: %v", err)
			}
			if err := e.svc.Tick(ctx); err != nil || len(e.notes.devices()) != mark {
				t.Fatalf("tick told more devices after the abort: %v", err)
			}
		})
	}
}

func TestRolloutStop(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simFleet(50))
	rel := e.release(t)
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: rel.ID, Stages: []float64{20, 100}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(ctx, rel.ID); !errors.Is(err, ErrInUse) {
		t.Fatalf("delete a release in a running rollout: %v", err)
	}
	if ro, err = e.svc.Stop(ctx, ro.ID, ""); err != nil || ro.State != RolloutStopped || ro.Reason == "" {
		t.Fatalf("stop: %+v %v", ro, err)
	}
	if _, err := e.svc.Stop(ctx, ro.ID, ""); !errors.Is(err, ErrFinished) {
		t.Fatalf("stop twice: %v", err)
	}
	if _, err := e.svc.Advance(ctx, ro.ID); !errors.Is(err, ErrFinished) {
		t.Fatalf("advance a stopped rollout: %v", err)
	}
	// Devices already told still report.
	d := e.notes.devices()[0]
	if ro, err = e.svc.Report(ctx, ro.ID, d, StateSucceeded, ""); err != nil || ro.Devices[d].State != StateSucceeded {
		t.Fatalf("report after stop: %v", err)
	}
	if err := e.svc.Delete(ctx, rel.ID); err != nil {
		t.Fatalf("delete after stop: %v", err)
	}
}

func TestRolloutAutoAdvanceAndRetry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simFleet(100))
	rel := e.release(t)
	e.notes.fail["kiosk-007"] = true // offline: its command fails and is retried
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: rel.ID, Stages: []float64{30, 100}, AutoAdvanceAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	stage0 := 0
	for _, p := range ro.Devices {
		if p.Stage == 0 {
			stage0++
		}
	}
	offline := ro.Devices["kiosk-007"]
	if offline.Stage == 0 && (offline.State != StatePending || offline.Error == "") {
		t.Fatalf("failed notify not kept pending: %+v", offline)
	}
	mark := e.play(t, ro, 0, nil)
	if offline.Stage == 0 {
		delete(e.notes.fail, "kiosk-007")
		if err := e.svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		mark = e.play(t, ro, mark, nil)
	}
	if ro, err = e.svc.Rollout(ctx, ro.ID); err != nil || ro.StageDoneAt.IsZero() || ro.Stage != 0 {
		t.Fatalf("stage 0 not done: %+v %v", ro, err)
	}
	e.clk.Advance(time.Hour - time.Second)
	if err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if ro, _ = e.svc.Rollout(ctx, ro.ID); ro.Stage != 0 {
		t.Fatal("advanced before auto_advance_after")
	}
	e.clk.Advance(time.Second)
	if err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if ro, _ = e.svc.Rollout(ctx, ro.ID); ro.Stage != 1 || len(e.notes.devices()) <= stage0 {
		t.Fatalf("not advanced: stage %d, %d told", ro.Stage, len(e.notes.devices()))
	}
	delete(e.notes.fail, "kiosk-007")
	e.svc.Tick(ctx)
	e.play(t, ro, mark, nil)
	if ro, _ = e.svc.Rollout(ctx, ro.ID); ro.State != RolloutCompleted {
		t.Fatalf("state %s", ro.State)
	}
}

func TestRolloutRequestsAndReports(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simFleet(10))
	rel := e.release(t)
	bad := []RolloutRequest{
		{ReleaseID: rel.ID, Stages: []float64{50, 20}},
		{ReleaseID: rel.ID, Stages: []float64{0}},
		{ReleaseID: rel.ID, Stages: []float64{101}},
		{ReleaseID: rel.ID, AbortFailures: -1},
		{ReleaseID: rel.ID, AbortPercent: 120},
	}
	for _, req := range bad {
		if _, err := e.svc.StartRollout(ctx, req); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", req, err)
		}
	}
	if _, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: "rel_nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown release: %v", err)
	}
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: rel.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dev, state string }{{"kiosk-001", "rebooting"}, {"kiosk-001", StatePending}, {"nobody", StateSucceeded}} {
		if _, err := e.svc.Report(ctx, ro.ID, c.dev, c.state, ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("report %s %s: %v", c.dev, c.state, err)
		}
	}
	if _, err := e.svc.Report(ctx, "rol_nope", "kiosk-001", StateSucceeded, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown rollout: %v", err)
	}
	// A failure stays a failure even if a late "installing" arrives.
	e.svc.Report(ctx, ro.ID, "kiosk-001", StateFailed, "refused: downgrade")
	if ro, _ = e.svc.Report(ctx, ro.ID, "kiosk-001", StateInstalling, ""); ro.Devices["kiosk-001"].State != StateFailed {
		t.Fatalf("failure overwritten: %+v", ro.Devices["kiosk-001"])
	}
}

// Devices that never report (bricked, unplugged) are marked failed after
// report_timeout and count against the abort threshold.
func TestRolloutReportTimeout(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, simFleet(10))
	rel := e.release(t)
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: rel.ID, ReportTimeoutSeconds: 600, AbortFailures: 5})
	if err != nil {
		t.Fatal(err)
	}
	told := e.notes.devices()
	if len(told) != 10 {
		t.Fatalf("%d told", len(told))
	}
	for _, d := range told[:4] {
		e.svc.Report(ctx, ro.ID, d, StateSucceeded, "")
	}
	e.clk.Advance(5 * time.Minute)
	e.svc.Report(ctx, ro.ID, told[4], StateDownloading, "") // alive, still downloading
	e.clk.Advance(5*time.Minute - time.Second)
	if err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if ro, _ = e.svc.Rollout(ctx, ro.ID); ro.State != RolloutRunning || ro.Devices[told[5]].State != StateNotified {
		t.Fatalf("expired early: %s %+v", ro.State, ro.Devices[told[5]])
	}
	e.clk.Advance(time.Second)
	if err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	ro, _ = e.svc.Rollout(ctx, ro.ID)
	if ro.State != RolloutAborted || ro.Devices[told[5]].State != StateFailed || ro.Devices[told[5]].Error == "" ||
		ro.Devices[told[4]].State != StateDownloading || ro.Devices[told[0]].State != StateSucceeded {
		t.Fatalf("after the timeout: %s %q; silent %+v, downloading %+v", ro.State, ro.Reason, ro.Devices[told[5]], ro.Devices[told[4]])
	}
}
