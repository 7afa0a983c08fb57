package update_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"livegate.dev/firmware/update"
	"livegate.dev/firmware/update/updatetest"
	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/ota/sign"
	"livegate.dev/proto"
)

// Child process protocol: the test binary re-executed with childEnv set
// is one power-on of a sim kiosk's update path (childMain); the parent
// stops it with SIGKILL at a failpoint of the ota packages
// (LIVEGATE_OTA_FAILPOINT) or of this package (hookEnv).
const (
	childEnv      = "LIVEGATE_UPDATE_CHILD" // boot | update
	childDirEnv   = "LIVEGATE_UPDATE_DIR"
	childCmdEnv   = "LIVEGATE_UPDATE_CMD" // {"id":…, "args":…}
	childSickEnv  = "LIVEGATE_UPDATE_UNHEALTHY"
	hookEnv       = "LIVEGATE_UPDATE_HOOK"
	otaFailpoint  = "LIVEGATE_OTA_FAILPOINT"
	failMarker    = "FAILPOINT "
	targetVersion = "1.1.0"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := childMain(mode); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

type childCmd struct {
	ID   string           `json:"id"`
	Args proto.UpdateArgs `json:"args"`
}

// fileResponder appends each answer to a file, fsynced: what the cloud
// received, across kills.
type fileResponder struct{ path string }

func (f fileResponder) Respond(_ context.Context, id string, r proto.CommandResponse) error {
	r.Of = id
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fh, err := os.OpenFile(f.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := fh.Write(append(b, '\n')); err != nil {
		return err
	}
	return fh.Sync()
}

// childMain powers the kiosk on: Start (Boot, Confirm), ReportPending,
// and in update mode runs one update command until its restart.
func childMain(mode string) error {
	dir := os.Getenv(childDirEnv)
	if hook := os.Getenv(hookEnv); hook != "" {
		update.SetHook(func(step string) {
			if step == hook {
				fmt.Fprintf(os.Stderr, "%supdate:%s\n", failMarker, step)
				select {} // wait for the parent's kill -9
			}
		})
	}
	roots, err := os.ReadFile(filepath.Join(dir, "roots.pem"))
	if err != nil {
		return err
	}
	pubs, err := sign.ParseRootPublic(roots)
	if err != nil {
		return err
	}
	sick := os.Getenv(childSickEnv)
	dev, err := childDevice(dir, pubs, func(_ context.Context, run install.Running) error {
		if run.Version == sick {
			return errUnhealthy
		}
		return nil
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := dev.Start(ctx); err != nil {
		return err
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "server.pem"))
	if err != nil {
		return err
	}
	ans := fileResponder{filepath.Join(dir, "answers.jsonl")}
	restarted := make(chan struct{}, 1)
	a, err := update.New(update.Config{
		Installers: map[artifact.Kind]*install.Device{artifact.KindFirmware: dev},
		Fetcher:    fetcher(clientFromPEM(caPEM)), Dir: filepath.Join(dir, "ota"), Responder: ans, Logger: quiet(),
		Restart: func(context.Context) error { restarted <- struct{}{}; return nil },
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.ReportPending(ctx); err != nil {
		return err
	}
	if mode != "update" {
		return nil
	}
	var c childCmd
	if err := json.Unmarshal([]byte(os.Getenv(childCmdEnv)), &c); err != nil {
		return err
	}
	b, _ := json.Marshal(c.Args)
	first := a.HandleCommand(ctx, c.ID, &proto.Command{Kind: proto.CommandUpdate, ExpiresAt: time.Now().Add(time.Hour), Args: b})
	if err := ans.Respond(ctx, c.ID, first); err != nil { // the sync client publishes the first answer
		return err
	}
	if first.Status != "accepted" {
		return fmt.Errorf("update %s: %s %s", c.ID, first.Status, first.Result)
	}
	a.Wait()
	select {
	case <-restarted:
		return nil
	default:
		return errors.New("the update ended without a restart")
	}
}

func childDevice(dir string, roots []ed25519.PublicKey, health install.HealthCheck) (*install.Device, error) {
	return updatetest.NewDevice(filepath.Join(dir, "device", string(artifact.KindFirmware)), artifact.KindFirmware, roots, health)
}

// cutRig is a sim kiosk on disk that the test powers on as a child
// process, again and again.
type cutRig struct {
	t    *testing.T
	dir  string
	srv  *server
	args proto.UpdateArgs
}

func newCutRig(t *testing.T) *cutRig {
	k := newKeys(t)
	r := &cutRig{t: t, dir: t.TempDir(), srv: newServer(t)}
	if err := os.WriteFile(filepath.Join(r.dir, "roots.pem"), sign.MarshalRootPublic(k.Root.Public()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "server.pem"), certPEM(r.srv), 0o644); err != nil {
		t.Fatal(err)
	}
	dev := newDevice(t, r.dir, artifact.KindFirmware, []ed25519.PublicKey{k.Root.Public()}, nil)
	if _, err := dev.Provision(context.Background(), strings.NewReader(string(k.signed(t, artifact.KindFirmware, "1.0.0", 64<<10)))); err != nil {
		t.Fatal(err)
	}
	url, size, sum := r.srv.put("/firmware/1.1.0.lgota", k.signed(t, artifact.KindFirmware, targetVersion, 1<<20))
	r.args = proto.UpdateArgs{Kind: "firmware", Version: targetVersion, URL: url, Size: size, SHA256: sum, Rollout: "ro_cut"}
	return r
}

// power runs one power-on. With a failpoint ("ota:<name>" or
// "update:<step>") it kills the child with SIGKILL when it gets there;
// without, the child must finish.
func (r *cutRig) power(mode, cmdID, point, unhealthy string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	c, _ := json.Marshal(childCmd{ID: cmdID, Args: r.args})
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childDirEnv+"="+r.dir, childCmdEnv+"="+string(c), childSickEnv+"="+unhealthy)
	if name, ok := strings.CutPrefix(point, "ota:"); ok {
		cmd.Env = append(cmd.Env, otaFailpoint+"="+name)
	}
	if name, ok := strings.CutPrefix(point, "update:"); ok {
		cmd.Env = append(cmd.Env, hookEnv+"="+name)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stderr)
	reached := false
	for point != "" && sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if strings.HasPrefix(line, failMarker) {
			reached = true
			if err := cmd.Process.Kill(); err != nil { // SIGKILL: nothing runs after
				r.t.Fatal(err)
			}
			break
		}
	}
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	switch {
	case point == "" && err != nil:
		r.t.Fatalf("power-on %s without failpoint: %v\n%s", mode, err, out.String())
	case point != "" && !reached:
		r.t.Fatalf("power-on %s never reached %s: %v\n%s", mode, point, err, out.String())
	}
}

// check powers the device on in the parent (without the agent) and
// returns the running version, which must be marked good.
func (r *cutRig) running() string {
	r.t.Helper()
	layout, err := install.NewSim(filepath.Join(r.dir, "device", string(artifact.KindFirmware)))
	if err != nil {
		r.t.Fatal(err)
	}
	env, err := layout.ReadEnv()
	if err != nil {
		r.t.Fatal(err)
	}
	if env.Trial || env.Slots[env.Active].State != install.StateGood {
		r.t.Fatalf("after the report the active slot is not good: %+v", env)
	}
	if _, err := layout.VerifySlot(env.Active); err != nil {
		r.t.Fatalf("the running slot does not verify: %v", err)
	}
	return env.Slots[env.Active].Version
}

// finals returns the distinct final answers to id that were sent, and
// how many times any was sent.
func (r *cutRig) finals(id string) (distinct []proto.CommandResponse, sent int) {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, "answers.jsonl"))
	if err != nil {
		r.t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var a proto.CommandResponse
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			r.t.Fatalf("answer %q: %v", line, err)
		}
		if a.Of != id || (a.Status != "done" && a.Status != "failed") {
			continue
		}
		sent++
		if !seen[line] {
			seen[line] = true
			distinct = append(distinct, a)
		}
	}
	return distinct, sent
}

func TestPowerCut(t *testing.T) {
	if testing.Short() {
		t.Skip("child processes")
	}
	type power struct{ mode, point, unhealthy string }
	tests := []struct {
		name    string
		powers  []power
		state   string // final state of cmd1
		running string
		detail  string
	}{
		{"during the download", []power{{"update", "ota:download:partial", ""}, {"boot", "", ""}},
			proto.UpdateFailed, "1.0.0", "interrupted by a restart while downloading"},
		{"after the install's verify, before the switch", []power{{"update", "ota:install:before-switch", ""}, {"boot", "", ""}},
			proto.UpdateFailed, "1.0.0", "interrupted by a restart while installing"},
		{"after the switch, before the rebooting record", []power{{"update", "ota:install:after-switch", ""}, {"boot", "", ""}},
			proto.UpdateSucceeded, targetVersion, ""},
		{"before the restart", []power{{"update", "update:restart", ""}, {"boot", "", ""}},
			proto.UpdateSucceeded, targetVersion, ""},
		{"during the health check", []power{{"update", "", ""}, {"boot", "ota:health:during", ""}, {"boot", "", ""}},
			proto.UpdateSucceeded, targetVersion, ""},
		{"during a failing health check", []power{{"update", "", ""}, {"boot", "ota:health:during", targetVersion}, {"boot", "", targetVersion}},
			proto.UpdateRolledBack, "1.0.0", errUnhealthy.Error()},
		{"crash loop in the health check", []power{{"update", "", ""}, {"boot", "ota:health:during", ""}, {"boot", "ota:health:during", ""},
			{"boot", "ota:health:during", ""}, {"boot", "", ""}},
			proto.UpdateRolledBack, "1.0.0", "crash loop"},
		{"during the commit", []power{{"update", "", ""}, {"boot", "ota:confirm:before-commit", ""}, {"boot", "", ""}},
			proto.UpdateSucceeded, targetVersion, ""},
		{"after the report, before the pending file is removed", []power{{"update", "", ""}, {"boot", "update:reported", ""}, {"boot", "", ""}},
			proto.UpdateSucceeded, targetVersion, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCutRig(t)
			for _, p := range tt.powers {
				r.power(p.mode, "cmd1", p.point, p.unhealthy)
			}
			if got := r.running(); got != tt.running {
				t.Fatalf("runs %s, want %s", got, tt.running)
			}
			finals, sent := r.finals("cmd1")
			if len(finals) != 1 {
				t.Fatalf("%d distinct final answers: %+v", len(finals), finals)
			}
			// Killed after the answer went out and before the pending file
			// was removed, the next power-on sends the same answer again
			// (at least once); otherwise it is sent once.
			if want := 1 + strings.Count(tt.name, "after the report"); sent != want {
				t.Fatalf("the final answer was sent %d times, want %d", sent, want)
			}
			res := result(t, finals[0])
			if res.State != tt.state || res.Running != tt.running || !strings.Contains(res.Detail, tt.detail) {
				t.Fatalf("final %+v, want %s running %s detail with %q", res, tt.state, tt.running, tt.detail)
			}
			// Powering on again reports nothing more.
			_, before := r.finals("cmd1")
			r.power("boot", "cmd1", "", "")
			if _, after := r.finals("cmd1"); after != before {
				t.Fatalf("a later power-on reported again (%d → %d)", before, after)
			}
			if tt.running == "1.0.0" && tt.state == proto.UpdateFailed {
				// The operator retries: a new command resumes the kept
				// partial download and completes.
				r.power("update", "cmd2", "", "")
				r.power("boot", "cmd2", "", "")
				if f, _ := r.finals("cmd2"); len(f) != 1 || f[0].Status != "done" || r.running() != targetVersion {
					t.Fatalf("retry: %+v, runs %s", f, r.running())
				}
			}
		})
	}
	t.Run("download resumes across the kill", func(t *testing.T) {
		r := newCutRig(t)
		r.power("update", "cmd1", "ota:download:partial", "")
		r.power("boot", "cmd1", "", "")
		r.power("update", "cmd2", "", "")
		var resumed bool
		for _, rg := range r.srv.rangesSeen() {
			resumed = resumed || (strings.HasPrefix(rg, "bytes=") && rg != "bytes=0-")
		}
		if !resumed {
			t.Fatalf("no Range request after the kill: %q", r.srv.rangesSeen())
		}
	})
}
