package update_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"livegate.dev/firmware/update"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/proto"
)

const artSize = 200 << 10

// rig is one sim kiosk in this process: firmware and models slots, an
// agent, an HTTPS release server. boot plays a restart.
type rig struct {
	t         *testing.T
	dir       string
	keys      keys
	roots     []ed25519.PublicKey
	srv       *server
	ans       *answers
	restarts  atomic.Int32
	restarted chan struct{}
	unhealthy map[string]bool // versions whose health check fails
	devs      map[artifact.Kind]*install.Device
	agent     *update.Agent
	cfg       func(*update.Config)
}

func newRig(t *testing.T) *rig {
	r := &rig{t: t, dir: t.TempDir(), keys: newKeys(t), srv: newServer(t), ans: newAnswers(),
		restarted: make(chan struct{}, 8), unhealthy: map[string]bool{}}
	r.roots = []ed25519.PublicKey{r.keys.Root.Public()}
	for _, k := range []artifact.Kind{artifact.KindFirmware, artifact.KindModels} {
		d := newDevice(t, r.dir, k, r.roots, nil)
		if _, err := d.Provision(context.Background(), bytes.NewReader(r.keys.signed(t, k, "1.0.0", 4<<10))); err != nil {
			t.Fatal(err)
		}
	}
	r.boot()
	return r
}

// boot is a (re)start: close the old agent, power on every installer
// (Boot, Confirm with the health check), start a new agent, report.
func (r *rig) boot() proto.CommandResponse {
	r.t.Helper()
	resp, err := r.tryBoot()
	if err != nil {
		r.t.Fatal(err)
	}
	return resp
}

func (r *rig) tryBoot() (proto.CommandResponse, error) {
	r.t.Helper()
	if r.agent != nil {
		r.agent.Close()
	}
	ctx := context.Background()
	health := func(_ context.Context, run install.Running) error {
		if r.unhealthy[run.Version] {
			return errUnhealthy
		}
		return nil
	}
	r.devs = map[artifact.Kind]*install.Device{}
	for _, k := range []artifact.Kind{artifact.KindFirmware, artifact.KindModels} {
		d := newDevice(r.t, r.dir, k, r.roots, health)
		if _, err := d.Start(ctx); err != nil {
			r.t.Fatal(err)
		}
		r.devs[k] = d
	}
	cfg := update.Config{Installers: r.devs, Fetcher: fetcher(tlsClient(r.srv)), Dir: filepath.Join(r.dir, "ota"),
		Responder: r.ans, Logger: quiet(), FreeSpace: func(string) (int64, error) { return 1 << 40, nil },
		Restart: func(context.Context) error { r.restarts.Add(1); r.restarted <- struct{}{}; return nil }}
	if r.cfg != nil {
		r.cfg(&cfg)
	}
	a, err := update.New(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { a.Close() })
	r.agent = a
	return a.ReportPending(ctx)
}

func (r *rig) release(kind artifact.Kind, version string) proto.UpdateArgs {
	url, size, sum := r.srv.put("/"+string(kind)+"/"+version+".lgota", r.keys.signed(r.t, kind, version, artSize))
	return proto.UpdateArgs{Kind: string(kind), Version: version, URL: url, Size: size, SHA256: sum, Rollout: "ro_1"}
}

// waitRestart waits for the agent's restart during command id; a final answer first (the
// update failed) fails the test at once instead of hanging it.
func (r *rig) waitRestart(id string) {
	r.t.Helper()
	for {
		r.ans.mu.Lock()
		for _, a := range r.ans.list {
			if a.Of == id && (a.Status == "done" || a.Status == "failed") {
				r.ans.mu.Unlock()
				select {
				case <-r.restarted:
					return
				default:
				}
				r.t.Fatalf("final answer instead of a restart: %+v %s", a, a.Result)
			}
		}
		more := r.ans.more
		r.ans.mu.Unlock()
		select {
		case <-r.restarted:
			return
		case <-more:
		}
	}
}

func (r *rig) running(kind artifact.Kind) string { return r.agent.Running(kind) }

func TestUpdateSucceeds(t *testing.T) {
	for _, kind := range []artifact.Kind{artifact.KindFirmware, artifact.KindModels} {
		t.Run(string(kind), func(t *testing.T) {
			r := newRig(t)
			first := r.agent.HandleCommand(context.Background(), "cmd1", updateCmd(t, r.release(kind, "1.1.0")))
			if first.Status != "accepted" || result(t, first).State != proto.UpdateDownloading {
				t.Fatalf("first answer %+v %s", first, first.Result)
			}
			r.waitRestart("cmd1")
			if env, _ := r.devs[kind].Env(); !env.Trial || env.Slots[env.Fallback].Version != "1.0.0" {
				t.Fatalf("before the restart: boot env %+v, want 1.1.0 on trial, 1.0.0 as fallback", env)
			}
			final := r.boot()
			res := result(t, final)
			if final.Status != "done" || res.State != proto.UpdateSucceeded || res.Running != "1.1.0" || res.Version != "1.1.0" || res.Rollout != "ro_1" {
				t.Fatalf("final %+v %+v", final, res)
			}
			if got := r.running(kind); got != "1.1.0" {
				t.Fatalf("runs %s after the restart", got)
			}
			got := states(t, r.ans.all())
			want := []string{proto.UpdateDownloading, proto.UpdateInstalling, proto.UpdateRebooting, proto.UpdateSucceeded}
			if !slices.Equal(got, want) {
				t.Fatalf("states %v, want %v", got, want)
			}
			// A redelivered command gets the final answer, also after
			// another restart, and a new command for the same version is
			// refused as running.
			if again := r.agent.HandleCommand(context.Background(), "cmd1", updateCmd(t, r.release(kind, "1.1.0"))); again.Status != "done" {
				t.Fatalf("redelivery answered %+v", again)
			}
			r.boot()
			if again := r.agent.HandleCommand(context.Background(), "cmd1", updateCmd(t, r.release(kind, "1.1.0"))); again.Status != "done" || string(again.Result) != string(final.Result) {
				t.Fatalf("redelivery after a restart answered %+v %s", again, again.Result)
			}
			if again := r.agent.HandleCommand(context.Background(), "cmd2", updateCmd(t, r.release(kind, "1.1.0"))); again.Status != "refused" || !strings.HasPrefix(result(t, again).Detail, update.RefusedRunning) {
				t.Fatalf("same version answered %+v %s", again, again.Result)
			}
			// Nothing left behind: no pending file, no download.
			left, _ := filepath.Glob(filepath.Join(r.dir, "ota", "downloads", "*"))
			if _, err := os.Stat(filepath.Join(r.dir, "ota", "pending.json")); !os.IsNotExist(err) || len(left) > 0 {
				t.Fatalf("left behind: pending %v, downloads %v", err, left)
			}
		})
	}
}

func TestProgressThrottled(t *testing.T) {
	r := newRig(t)
	r.cfg = func(c *update.Config) { c.ProgressInterval = time.Hour; c.Fetcher.SyncEvery = 1 }
	r.boot()
	args := r.release(artifact.KindFirmware, "1.1.0")
	r.agent.HandleCommand(context.Background(), "cmd1", updateCmd(t, args))
	r.waitRestart("cmd1")
	var pct []string
	var done []int64
	for _, a := range r.ans.all() {
		if res := result(t, a); res.State == proto.UpdateDownloading {
			pct = append(pct, res.Detail)
			if res.Detail == "" { // the first answer, "accepted", has no figures
				continue
			}
			if res.BytesTotal != args.Size || res.BytesDone <= 0 || len(done) > 0 && res.BytesDone <= done[len(done)-1] {
				t.Fatalf("progress figures %d of %d after %v (size %d)", res.BytesDone, res.BytesTotal, done, args.Size)
			}
			done = append(done, res.BytesDone)
		}
	}
	// 64 KiB reads of ~200 KiB: at most one answer per 10 %, and 100 %.
	if len(pct) < 2 || len(pct) > 11 || !strings.HasPrefix(pct[len(pct)-1], "100%") {
		t.Fatalf("download progress answers %q", pct)
	}
	if len(done) == 0 || done[len(done)-1] != args.Size {
		t.Fatalf("last figure %v, want %d", done, args.Size)
	}
}

func TestHealthFailureRollsBack(t *testing.T) {
	r := newRig(t)
	r.unhealthy["1.1.0"] = true
	r.agent.HandleCommand(context.Background(), "cmd1", updateCmd(t, r.release(artifact.KindFirmware, "1.1.0")))
	r.waitRestart("cmd1")
	final := r.boot()
	res := result(t, final)
	if final.Status != "failed" || res.State != proto.UpdateRolledBack || res.Running != "1.0.0" || !strings.Contains(res.Detail, errUnhealthy.Error()) {
		t.Fatalf("final %+v %+v", final, res)
	}
	if got := r.running(artifact.KindFirmware); got != "1.0.0" {
		t.Fatalf("runs %s", got)
	}
	// A later restart reports nothing more.
	if again := r.boot(); again.Of != "" {
		t.Fatalf("reported again: %+v", again)
	}
	n := 0
	for _, a := range r.ans.all() {
		if a.Status == "done" || a.Status == "failed" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d final answers", n)
	}
}

func TestDownloadResumes(t *testing.T) {
	r := newRig(t)
	args := r.release(artifact.KindFirmware, "1.1.0")
	r.srv.mu.Lock()
	r.srv.cutAt["/firmware/1.1.0.lgota"] = 70 << 10
	r.srv.mu.Unlock()
	r.agent.HandleCommand(context.Background(), "cmd1", updateCmd(t, args))
	r.waitRestart("cmd1")
	if final := r.boot(); final.Status != "done" {
		t.Fatalf("final %+v %s", final, final.Result)
	}
	rs := r.srv.rangesSeen()
	if len(rs) != 2 || rs[0] != "" || !strings.HasPrefix(rs[1], "bytes=") || rs[1] == "bytes=0-" {
		t.Fatalf("requests' Range headers %q, want a full request then a resume", rs)
	}
}

func TestFailuresLeaveTheRunningVersion(t *testing.T) {
	other := newKeys(t)
	tests := []struct {
		name   string
		args   func(r *rig) proto.UpdateArgs
		detail string
	}{
		{"untrusted signature", func(r *rig) proto.UpdateArgs {
			url, size, sum := r.srv.put("/x.lgota", other.signed(t, artifact.KindFirmware, "1.1.0", artSize))
			return proto.UpdateArgs{Kind: "firmware", Version: "1.1.0", URL: url, Size: size, SHA256: sum}
		}, "refused (untrusted-key)"},
		{"models pack offered as firmware", func(r *rig) proto.UpdateArgs {
			url, size, sum := r.srv.put("/x.lgota", r.keys.signed(t, artifact.KindModels, "1.1.0", artSize))
			return proto.UpdateArgs{Kind: "firmware", Version: "1.1.0", URL: url, Size: size, SHA256: sum}
		}, "refused (wrong-kind)"},
		{"sha256 of the release differs", func(r *rig) proto.UpdateArgs {
			a := r.release(artifact.KindFirmware, "1.1.0")
			a.SHA256 = strings.Repeat("0", 64)
			return a
		}, "download: "},
		{"not found", func(r *rig) proto.UpdateArgs {
			a := r.release(artifact.KindFirmware, "1.1.0")
			a.URL = r.srv.URL + "/missing?token=secret"
			return a
		}, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			first := r.agent.HandleCommand(context.Background(), "cmd1", updateCmd(t, tt.args(r)))
			if first.Status != "accepted" {
				t.Fatalf("first %+v %s", first, first.Result)
			}
			final := r.ans.waitFinal("cmd1")
			r.agent.Wait()
			res := result(t, final)
			if final.Status != "failed" || res.State != proto.UpdateFailed || res.Running != "1.0.0" || !strings.Contains(res.Detail, tt.detail) {
				t.Fatalf("final %+v %+v, want detail with %q", final, res, tt.detail)
			}
			if strings.Contains(res.Detail, "secret") {
				t.Fatalf("detail leaks the URL's query: %s", res.Detail)
			}
			if r.restarts.Load() != 0 || r.running(artifact.KindFirmware) != "1.0.0" {
				t.Fatal("restarted or switched after a failure")
			}
			if again := r.boot(); again.Of != "" {
				t.Fatalf("a restart reported again: %+v", again)
			}
			env, _ := r.devs[artifact.KindFirmware].Env()
			if env.Trial || env.Active != install.SlotA {
				t.Fatalf("boot env %+v", env)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	r := newRig(t)
	good := r.release(artifact.KindFirmware, "1.1.0")
	with := func(f func(*proto.UpdateArgs)) *proto.Command {
		a := good
		f(&a)
		return updateCmd(t, a)
	}
	tests := []struct {
		name   string
		cmd    *proto.Command
		reason string
	}{
		{"args not JSON", &proto.Command{Kind: proto.CommandUpdate, Args: json.RawMessage(`{"kind":`)}, update.RefusedMalformed},
		{"unknown field", &proto.Command{Kind: proto.CommandUpdate, Args: json.RawMessage(`{"kind":"firmware","colour":"red"}`)}, update.RefusedMalformed},
		{"unknown kind", with(func(a *proto.UpdateArgs) { a.Kind = "bootloader" }), update.RefusedMalformed},
		{"bad version", with(func(a *proto.UpdateArgs) { a.Version = "1.1" }), update.RefusedMalformed},
		{"http", with(func(a *proto.UpdateArgs) { a.URL = strings.Replace(a.URL, "https:", "http:", 1) }), update.RefusedMalformed},
		{"no host", with(func(a *proto.UpdateArgs) { a.URL = "https:///x" }), update.RefusedMalformed},
		{"size 0", with(func(a *proto.UpdateArgs) { a.Size = 0 }), update.RefusedMalformed},
		{"size too large", with(func(a *proto.UpdateArgs) { a.Size = 5 << 30 }), update.RefusedMalformed},
		{"sha256 short", with(func(a *proto.UpdateArgs) { a.SHA256 = "abc" }), update.RefusedMalformed},
		{"sha256 upper case", with(func(a *proto.UpdateArgs) { a.SHA256 = strings.ToUpper(a.SHA256) }), update.RefusedMalformed},
		{"deadline not RFC 3339", with(func(a *proto.UpdateArgs) { a.Deadline = "tomorrow" }), update.RefusedMalformed},
		{"deadline passed", with(func(a *proto.UpdateArgs) { a.Deadline = time.Now().Add(-time.Minute).Format(time.RFC3339) }), update.RefusedDeadline},
		{"already running", with(func(a *proto.UpdateArgs) { a.Version = "1.0.0" }), update.RefusedRunning},
		{"downgrade", with(func(a *proto.UpdateArgs) { a.Version = "0.9.0" }), update.RefusedDowngrade},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.agent.HandleCommand(context.Background(), "c-"+tt.name, tt.cmd)
			res := result(t, got)
			if got.Status != "refused" || res.State != proto.UpdateFailed || !strings.HasPrefix(res.Detail, tt.reason+": ") || got.Error != res.Detail {
				t.Fatalf("answer %+v %+v, want refused %s", got, res, tt.reason)
			}
		})
	}
	if n := len(r.ans.all()); n != 0 {
		t.Fatalf("refusals sent %d further answers", n)
	}
	if _, busy := r.agent.Busy(); busy {
		t.Fatal("busy after refusals")
	}
	if got := r.agent.HandleCommand(context.Background(), "c", &proto.Command{Kind: proto.CommandAssignSession}); got.Status != "refused" {
		t.Fatalf("assign_session: %+v", got)
	}
}

func TestRefusalsOfTheDevice(t *testing.T) {
	t.Run("no installer for the kind", func(t *testing.T) {
		r := newRig(t)
		r.cfg = func(c *update.Config) { delete(c.Installers, artifact.KindModels) }
		r.boot()
		got := r.agent.HandleCommand(context.Background(), "c1", updateCmd(t, r.release(artifact.KindModels, "1.1.0")))
		if res := result(t, got); got.Status != "refused" || !strings.HasPrefix(res.Detail, update.RefusedKind+": ") {
			t.Fatalf("%+v %+v", got, res)
		}
	})
	t.Run("no space", func(t *testing.T) {
		r := newRig(t)
		r.cfg = func(c *update.Config) { c.FreeSpace = func(string) (int64, error) { return 1000, nil } }
		r.boot()
		got := r.agent.HandleCommand(context.Background(), "c1", updateCmd(t, r.release(artifact.KindFirmware, "1.1.0")))
		if res := result(t, got); got.Status != "refused" || !strings.HasPrefix(res.Detail, update.RefusedSpace+": ") {
			t.Fatalf("%+v %+v", got, res)
		}
	})
	t.Run("busy", func(t *testing.T) {
		r := newRig(t)
		args := r.release(artifact.KindFirmware, "1.1.0")
		release := make(chan struct{})
		r.srv.mu.Lock()
		r.srv.block["/firmware/1.1.0.lgota"] = release
		r.srv.mu.Unlock()
		if got := r.agent.HandleCommand(context.Background(), "c1", updateCmd(t, args)); got.Status != "accepted" {
			t.Fatalf("%+v", got)
		}
		// The same command again (a redelivery) gets the running state.
		if got := r.agent.HandleCommand(context.Background(), "c1", updateCmd(t, args)); got.Status != "accepted" || result(t, got).State != proto.UpdateDownloading {
			t.Fatalf("redelivery: %+v", got)
		}
		// (The release file is not replaced while it downloads: the
		// refusals come before any download.)
		for _, v := range []string{"1.1.0", "1.2.0"} {
			other := args
			other.Version = v
			got := r.agent.HandleCommand(context.Background(), "c2", updateCmd(t, other))
			if res := result(t, got); got.Status != "refused" || !strings.HasPrefix(res.Detail, update.RefusedBusy+": ") {
				t.Fatalf("%+v %+v", got, res)
			}
		}
		models := args
		models.Kind = string(artifact.KindModels)
		if got := r.agent.HandleCommand(context.Background(), "c3", updateCmd(t, models)); got.Status != "refused" {
			t.Fatalf("a models update during a firmware update: %+v", got)
		}
		close(release)
		r.waitRestart("c1")
	})
	t.Run("result not reported yet", func(t *testing.T) {
		r := newRig(t)
		r.agent.HandleCommand(context.Background(), "c1", updateCmd(t, r.release(artifact.KindFirmware, "1.1.0")))
		r.waitRestart("c1")
		r.agent.Close()
		// Started again but the report is not through (no Start/Report
		// here): a new update must not overwrite the pending report.
		a, err := update.New(update.Config{Installers: r.devs, Dir: filepath.Join(r.dir, "ota"), Responder: r.ans, Logger: quiet(),
			Restart: func(context.Context) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		got := a.HandleCommand(context.Background(), "c2", updateCmd(t, r.release(artifact.KindModels, "1.1.0")))
		if res := result(t, got); got.Status != "refused" || !strings.HasPrefix(res.Detail, update.RefusedBusy+": ") {
			t.Fatalf("%+v %+v", got, res)
		}
		// And while the firmware slot is on trial, reporting waits for Start.
		if _, err := a.ReportPending(context.Background()); err == nil {
			t.Fatal("reported while on trial")
		}
		r.boot()
	})
}

// failingResponder fails its first n answers.
type failingResponder struct {
	*answers
	fail atomic.Int32
}

func (f *failingResponder) Respond(ctx context.Context, id string, r proto.CommandResponse) error {
	if f.fail.Add(-1) >= 0 {
		return fmt.Errorf("broker unreachable")
	}
	return f.answers.Respond(ctx, id, r)
}

func TestReportPendingKeepsTheFileUntilDelivered(t *testing.T) {
	r := newRig(t)
	r.agent.HandleCommand(context.Background(), "c1", updateCmd(t, r.release(artifact.KindFirmware, "1.1.0")))
	r.waitRestart("c1")
	fr := &failingResponder{answers: newAnswers()}
	fr.fail.Store(1)
	r.cfg = func(c *update.Config) { c.Responder = fr }
	if _, err := r.tryBoot(); err == nil {
		t.Fatal("ReportPending returned nil although the answer was not delivered")
	}
	if _, err := os.Stat(filepath.Join(r.dir, "ota", "pending.json")); err != nil {
		t.Fatalf("pending file gone before delivery: %v", err)
	}
	final, err := r.agent.ReportPending(context.Background())
	if err != nil || final.Status != "done" {
		t.Fatalf("second report %+v %v", final, err)
	}
	if again := r.boot(); again.Of != "" {
		t.Fatalf("reported a third time: %+v", again)
	}
	if n := len(fr.all()); n != 1 {
		t.Fatalf("%d answers delivered", n)
	}
}

// dropFinal loses the first final answer (the link is down).
type dropFinal struct {
	*answers
	dropped atomic.Bool
}

func (d *dropFinal) Respond(ctx context.Context, id string, r proto.CommandResponse) error {
	if (r.Status == "failed" || r.Status == "done") && d.dropped.CompareAndSwap(false, true) {
		return context.DeadlineExceeded
	}
	return d.answers.Respond(ctx, id, r)
}

func TestUndeliveredFailureReportedAfterRestart(t *testing.T) {
	r := newRig(t)
	other := newKeys(t)
	df := &dropFinal{answers: r.ans}
	r.cfg = func(c *update.Config) { c.Responder = df }
	r.boot()
	url, size, sum := r.srv.put("/x.lgota", other.signed(t, artifact.KindFirmware, "1.1.0", artSize))
	r.agent.HandleCommand(context.Background(), "c1", updateCmd(t, proto.UpdateArgs{Kind: "firmware", Version: "1.1.0", URL: url, Size: size, SHA256: sum}))
	r.agent.Wait()
	if !df.dropped.Load() {
		t.Fatal("no final answer attempted")
	}
	// Until it is delivered no other update starts.
	if got := r.agent.HandleCommand(context.Background(), "c2", updateCmd(t, r.release(artifact.KindFirmware, "1.2.0"))); got.Status != "refused" {
		t.Fatalf("second update while a result is undelivered: %+v", got)
	}
	final := r.boot()
	if res := result(t, final); final.Status != "failed" || !strings.Contains(res.Detail, "refused (untrusted-key)") {
		t.Fatalf("after the restart: %+v %+v", final, res)
	}
	if got := r.agent.HandleCommand(context.Background(), "c3", updateCmd(t, r.release(artifact.KindFirmware, "1.2.0"))); got.Status != "accepted" {
		t.Fatalf("an update after the report: %+v %s", got, got.Result)
	}
	r.waitRestart("c3")
}

func TestRedeliveryBeforeTheReport(t *testing.T) {
	r := newRig(t)
	cmd := updateCmd(t, r.release(artifact.KindFirmware, "1.1.0"))
	r.agent.HandleCommand(context.Background(), "cmd1", cmd)
	r.waitRestart("cmd1")
	r.agent.Close()
	// Powered on, slots started, the report not sent yet: the broker
	// redelivers the command.
	for _, d := range r.devs {
		if _, err := d.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	a, err := update.New(update.Config{Installers: r.devs, Dir: filepath.Join(r.dir, "ota"), Responder: r.ans, Logger: quiet(),
		Restart: func(context.Context) error { t.Error("restarted"); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := a.HandleCommand(context.Background(), "cmd1", cmd); got.Status != "done" || result(t, got).State != proto.UpdateSucceeded {
		t.Fatalf("redelivery before the report: %+v %s", got, got.Result)
	}
	if final, err := a.ReportPending(context.Background()); err != nil || final.Status != "done" {
		t.Fatalf("report %+v %v", final, err)
	}
}
