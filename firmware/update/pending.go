package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
	"livegate.dev/proto"
)

// Phases of an update in the pending file.
const (
	PhaseDownloading = "downloading" // accepted; fetching the artifact
	PhaseInstalling  = "installing"  // downloaded; verifying and writing the inactive slot, then switching
	PhaseRebooting   = "rebooting"   // switched; restarting into the new slot
)

const (
	pendingFile   = "pending.json"
	pendingFormat = 1
)

// Pending is the pending-report file: the update the device accepted and
// has not reported a final result for. It is written (temp file, fsync,
// rename, fsync the directory) when the update is accepted and at each
// phase, before the step it names, so it is on disk before the boot
// pointer switches and before the restart.
type Pending struct {
	Format   int       `json:"format"`
	Command  string    `json:"command"` // the update command's message id
	Rollout  string    `json:"rollout,omitempty"`
	Kind     string    `json:"kind"`
	Version  string    `json:"version"`
	From     string    `json:"from"` // the version that ran when it was accepted
	URL      string    `json:"url"`
	Size     int64     `json:"size"`
	SHA256   string    `json:"sha256"`
	Phase    string    `json:"phase"`
	Accepted time.Time `json:"accepted"`
	// Before is the boot environment's last rollback when the update was
	// accepted: a rollback is this update's only if it differs.
	Before *install.Rollback `json:"rollback_before,omitempty"`
	// Final is the final answer when it was decided before a restart (a
	// failed download or install) but not yet delivered.
	Final *proto.CommandResponse `json:"final,omitempty"`
}

func readPending(path string) (Pending, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Pending{}, err
	}
	var p Pending
	if err := json.Unmarshal(b, &p); err != nil || p.Format != pendingFormat || p.Command == "" {
		return Pending{}, fmt.Errorf("update: %s is corrupt (%v)", path, err)
	}
	return p, nil
}

func writePending(path string, p Pending) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(path, append(b, '\n'))
}

func removePending(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// writeFileSync replaces path atomically and durably.
func writeFileSync(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return werr
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func freeSpace(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(uint64(st.Bavail) * uint64(st.Bsize)), nil
}

// ErrOnTrial: ReportPending was called while the slot of the pending
// update is still on trial; run install.Device.Start first.
var ErrOnTrial = errors.New("update: the new version is still on trial")

// Final computes the final answer to the pending update p: the answer it
// holds (a failure decided before a restart), or one from the boot
// environment of its installer, after install.Device.Start:
//   - the active slot runs p.Version: "done", succeeded;
//   - the boot environment's last rollback names p.Version: "failed",
//     rolled_back, with the rollback's reason;
//   - otherwise the update never reached a bootable switch (a restart or
//     power cut during the download or the install): "failed", failed.
//
// The answer depends only on p and the boot environment, so computing it
// again after another restart gives the same bytes.
func (a *Agent) Final(p Pending) (proto.CommandResponse, error) {
	if p.Final != nil {
		return *p.Final, nil
	}
	dev := a.cfg.Installers[artifact.Kind(p.Kind)]
	if dev == nil {
		return answer(p.Command, "failed", proto.UpdateFailed, p, "", "this device no longer takes "+p.Kind+" artifacts"), nil
	}
	env, err := dev.Env()
	if err != nil {
		return proto.CommandResponse{}, fmt.Errorf("update: report %s: %w", p.Command, err)
	}
	running := env.Slots[env.Active].Version
	if env.Trial {
		return proto.CommandResponse{}, fmt.Errorf("%w: %s %s (command %s)", ErrOnTrial, p.Kind, running, p.Command)
	}
	switch {
	case running == p.Version:
		return answer(p.Command, "done", proto.UpdateSucceeded, p, running, ""), nil
	case env.Rollback != nil && env.Rollback.Version == p.Version && p.Phase != PhaseDownloading &&
		(p.Before == nil || *p.Before != *env.Rollback):
		return answer(p.Command, "failed", proto.UpdateRolledBack, p, running, env.Rollback.Reason), nil
	default:
		return answer(p.Command, "failed", proto.UpdateFailed, p, running,
			fmt.Sprintf("interrupted by a restart while %s; %s still runs", p.Phase, running)), nil
	}
}

// ReportPending reports the final result of the update that was pending
// when the device last stopped, if any: call it after install.Device.Start
// (so the new version was confirmed or rolled back) and once the
// Responder can publish; it waits for the Responder (the broker's PUBACK
// for the sync client) until ctx is done. The pending file is removed
// only after the answer was acknowledged: a crash in between reports the
// same final answer again at the next start (at least once; the answer's
// bytes, and so the sync client's message id, are the same).
// It returns the answer sent (zero if nothing was pending).
func (a *Agent) ReportPending(ctx context.Context) (proto.CommandResponse, error) {
	p, err := readPending(a.pendingPath())
	if errors.Is(err, os.ErrNotExist) {
		return proto.CommandResponse{}, nil
	}
	if err != nil {
		// Unreadable (a torn write cannot happen: it is replaced
		// atomically; this is disk damage): drop it rather than block
		// every later update.
		a.log.Error("ota pending file unreadable, dropped", "err", err)
		return proto.CommandResponse{}, removePending(a.pendingPath())
	}
	a.mu.Lock()
	if a.job != nil && a.job.Command == p.Command {
		a.mu.Unlock()
		return proto.CommandResponse{}, fmt.Errorf("update: report %s: the update is running", p.Command)
	}
	a.mu.Unlock()
	r, err := a.Final(p)
	if err != nil {
		return proto.CommandResponse{}, err
	}
	a.mu.Lock()
	a.finals[p.Command] = r
	a.mu.Unlock()
	var res proto.UpdateResult
	json.Unmarshal(r.Result, &res)
	a.log.Info("ota update result", "command", p.Command, "kind", p.Kind, "version", p.Version, "state", res.State, "running", res.Running, "detail", res.Detail)
	hookStep("report")
	if err := a.cfg.Responder.Respond(ctx, p.Command, r); err != nil {
		return r, fmt.Errorf("update: report %s: %w", p.Command, err)
	}
	hookStep("reported")
	a.rememberFinal(r)
	if err := removePending(a.pendingPath()); err != nil {
		return r, fmt.Errorf("update: report %s: %w", p.Command, err)
	}
	return r, nil
}

// reportedFile keeps the final answers of the last maxReported updates,
// so a command redelivered after a restart gets its final answer again
// instead of a refusal ("already running").
const (
	reportedFile = "reported.json"
	maxReported  = 16
)

func (a *Agent) loadReported() {
	b, err := os.ReadFile(filepath.Join(a.cfg.Dir, reportedFile))
	if err != nil {
		return
	}
	var list []proto.CommandResponse
	if err := json.Unmarshal(b, &list); err != nil {
		a.log.Warn("ota reported answers unreadable, ignored", "err", err)
		return
	}
	for _, r := range list {
		if _, ok := a.finals[r.Of]; !ok {
			a.order = append(a.order, r.Of)
		}
		a.finals[r.Of] = r
	}
}

// rememberFinal records a delivered final answer (best effort: losing it
// only means a redelivered old command is refused instead of answered).
func (a *Agent) rememberFinal(r proto.CommandResponse) {
	a.mu.Lock()
	if _, ok := a.finals[r.Of]; !ok || !slices.Contains(a.order, r.Of) {
		a.order = append(a.order, r.Of)
	}
	a.finals[r.Of] = r
	for len(a.order) > maxReported {
		delete(a.finals, a.order[0])
		a.order = a.order[1:]
	}
	list := make([]proto.CommandResponse, 0, len(a.order))
	for _, id := range a.order {
		list = append(list, a.finals[id])
	}
	a.mu.Unlock()
	b, err := json.Marshal(list)
	if err == nil {
		err = writeFileSync(filepath.Join(a.cfg.Dir, reportedFile), b)
	}
	if err != nil {
		a.log.Warn("ota reported answers not saved", "err", err)
	}
}
