package update

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/download"
	"livegate.dev/ota/install"
	"livegate.dev/proto"
)

// Responder publishes a further answer to a command: the kiosk's
// *sync.Client (livegate.dev/firmware/sync) satisfies it. Respond should
// return once the answer is acknowledged by the broker, or with ctx's
// error.
type Responder interface {
	Respond(ctx context.Context, commandID string, resp proto.CommandResponse) error
}

// Clock is the time source of progress throttling.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Config configures an Agent.
type Config struct {
	// Installers are the A/B installers of this device by artifact kind:
	// firmware, and models if the kiosk's engine takes model packs.
	// Required (at least one).
	Installers map[artifact.Kind]*install.Device
	// Fetcher downloads artifacts; its Progress is set by the agent.
	// Set Fetcher.Client for a private CA (tests: an httptest TLS
	// server's client). Optional. Default: &download.Fetcher{}.
	Fetcher *download.Fetcher
	// Dir keeps the pending-report file and the downloads (on the data
	// partition, not in a slot). Required.
	Dir string
	// Responder publishes the answers after the first. Required.
	Responder Responder
	// Restart restarts the device into the new slot once it is switched:
	// a reboot on real boards, a process exit on sim (its supervisor
	// starts it again), a function in tests. Required.
	Restart func(ctx context.Context) error
	// MaxSize bounds UpdateArgs.Size. Optional. Default: 4 GiB.
	MaxSize int64
	// ProgressInterval and ProgressStep throttle download progress: an
	// answer at most every ProgressInterval, or sooner when the download
	// moved ProgressStep percent. Optional. Default: 5s and 10.
	ProgressInterval time.Duration
	ProgressStep     int
	// AnswerTimeout bounds the wait for the broker to take a progress
	// answer (a lost progress answer does not stop the update). Optional.
	// Default: 30s.
	AnswerTimeout time.Duration
	// FreeSpace reports the bytes free in Dir. Optional. Default: statfs.
	FreeSpace func(dir string) (int64, error)
	// Clock. Optional. Default: the system clock.
	Clock Clock
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
}

func configDefault(c Config) (Config, error) {
	if len(c.Installers) == 0 || c.Dir == "" || c.Responder == nil || c.Restart == nil {
		return c, errors.New("update: config needs Installers, Dir, Responder and Restart")
	}
	for k, d := range c.Installers {
		if d == nil {
			return c, fmt.Errorf("update: installer %q is nil", k)
		}
	}
	if c.Fetcher == nil {
		c.Fetcher = &download.Fetcher{}
	}
	if c.MaxSize <= 0 {
		c.MaxSize = 4 << 30
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = 5 * time.Second
	}
	if c.ProgressStep <= 0 {
		c.ProgressStep = 10
	}
	if c.AnswerTimeout <= 0 {
		c.AnswerTimeout = 30 * time.Second
	}
	if c.FreeSpace == nil {
		c.FreeSpace = freeSpace
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// Agent acts on update commands: it validates them, downloads, installs
// and restarts in the background, and reports progress and the final
// result. Its methods are safe for concurrent use.
type Agent struct {
	cfg Config
	log *slog.Logger

	base   context.Context
	cancel context.CancelFunc
	wg     gosync.WaitGroup

	mu     gosync.Mutex
	job    *Pending                         // the update in progress, if any
	finals map[string]proto.CommandResponse // final answers of recent updates, by command id
	order  []string                         // their command ids, oldest first (kept in Dir/reported.json)
}

// New checks cfg, creates Dir and returns an Agent. Call ReportPending
// once the device has booted (install.Device.Start) and Close on shutdown.
func New(cfg Config) (*Agent, error) {
	cfg, err := configDefault(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "downloads"), 0o700); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &Agent{cfg: cfg, log: cfg.Logger, base: ctx, cancel: cancel, finals: map[string]proto.CommandResponse{}}
	a.loadReported()
	return a, nil
}

// Close stops an update in progress (the download is kept for resuming;
// the pending file makes the next start report the update as interrupted)
// and waits for it.
func (a *Agent) Close() error {
	a.cancel()
	a.wg.Wait()
	return nil
}

// Wait blocks until no update runs in the background (tests, examples).
func (a *Agent) Wait() { a.wg.Wait() }

// Busy returns the update in progress, if any.
func (a *Agent) Busy() (Pending, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.job == nil {
		return Pending{}, false
	}
	return *a.job, true
}

// Running returns the version of the active slot of kind: the running
// one, except between an install's switch and the restart, when it is the
// version the restart boots on trial ("" if the device has no such
// installer or is not provisioned).
func (a *Agent) Running(kind artifact.Kind) string {
	d := a.cfg.Installers[kind]
	if d == nil {
		return ""
	}
	env, err := d.Env()
	if err != nil {
		return ""
	}
	return env.Slots[env.Active].Version
}

// Refusal reasons, the first word of UpdateResult.Detail of a refusal.
const (
	RefusedMalformed = "malformed"    // the args do not parse or a field is invalid
	RefusedKind      = "no-installer" // this device takes no artifacts of that kind
	RefusedBusy      = "busy"         // another update is in progress or not yet reported
	RefusedRunning   = "running"      // the version already runs
	RefusedDowngrade = "downgrade"    // the version is not newer than the running one
	RefusedTrial     = "trial"        // a new version is on trial (not yet confirmed)
	RefusedDeadline  = "deadline"     // UpdateArgs.Deadline has passed
	RefusedSpace     = "no-space"     // not enough free space for the download
)

// HandleCommand answers an update command at once: "refused" with a
// failed UpdateResult whose Detail starts with one of the Refused…
// reasons, or "accepted" (downloading) after which the update runs in the
// background and reports through the Responder. Commands of other kinds
// are refused: route by kind before calling it.
func (a *Agent) HandleCommand(_ context.Context, id string, cmd *proto.Command) proto.CommandResponse {
	if cmd.Kind != proto.CommandUpdate {
		return proto.CommandResponse{Of: id, Status: "refused", Error: fmt.Sprintf("command %q is not an update", cmd.Kind)}
	}
	var args proto.UpdateArgs
	dec := json.NewDecoder(strings.NewReader(string(cmd.Args)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&args); err != nil {
		return refuse(id, args, "", RefusedMalformed, "args: "+err.Error())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if r, ok := a.finals[id]; ok { // a redelivery after the final answer
		return r
	}
	if a.job != nil && a.job.Command == id { // a redelivery while running
		return answer(id, "accepted", UpdateState(a.job.Phase), *a.job, a.Running(artifact.Kind(a.job.Kind)), "")
	}
	if p, err := readPending(a.pendingPath()); err == nil && p.Command == id {
		// A redelivery after a restart, before the result went out: the
		// result, or the phase while the new slot is still on trial.
		if r, err := a.Final(p); err == nil {
			return r
		}
		return answer(id, "accepted", UpdateState(p.Phase), p, p.From, "")
	}
	p, reason, detail := a.check(id, args)
	if reason == "" && a.base.Err() != nil {
		reason, detail = RefusedBusy, "the kiosk is shutting down"
	}
	if reason != "" {
		a.log.Warn("ota update refused", "command", id, "version", args.Version, "reason", reason, "detail", detail)
		return refuse(id, args, a.Running(artifact.Kind(args.Kind)), reason, detail)
	}
	if err := writePending(a.pendingPath(), p); err != nil {
		return refuse(id, args, p.From, RefusedSpace, "cannot persist the update: "+err.Error())
	}
	a.job = &p
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.run(a.base, p)
	}()
	a.log.Info("ota update accepted", "command", id, "kind", p.Kind, "version", p.Version, "from", p.From, "rollout", p.Rollout)
	return answer(id, "accepted", proto.UpdateDownloading, p, p.From, "")
}

// check validates args against the device; it returns the pending record
// or a refusal reason and detail. a.mu is held.
func (a *Agent) check(id string, args proto.UpdateArgs) (Pending, string, string) {
	p := Pending{Format: pendingFormat, Command: id, Rollout: args.Rollout, Kind: args.Kind, Version: args.Version,
		URL: args.URL, Size: args.Size, SHA256: args.SHA256, Phase: PhaseDownloading, Accepted: a.cfg.Clock.Now().UTC()}
	kind := artifact.Kind(args.Kind)
	if args.Kind != string(artifact.KindFirmware) && args.Kind != string(artifact.KindModels) {
		return p, RefusedMalformed, fmt.Sprintf("kind %q is not firmware or models", args.Kind)
	}
	dev := a.cfg.Installers[kind]
	if dev == nil {
		return p, RefusedKind, fmt.Sprintf("this device takes no %s artifacts", args.Kind)
	}
	want, err := artifact.ParseVersion(args.Version)
	if err != nil {
		return p, RefusedMalformed, fmt.Sprintf("version %q: %v", args.Version, err)
	}
	u, err := url.Parse(args.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return p, RefusedMalformed, fmt.Sprintf("url %q is not an https URL", redact(args.URL))
	}
	if args.Size <= 0 || args.Size > a.cfg.MaxSize {
		return p, RefusedMalformed, fmt.Sprintf("size %d not within (0, %d]", args.Size, a.cfg.MaxSize)
	}
	if b, err := hex.DecodeString(args.SHA256); err != nil || len(b) != 32 || strings.ToLower(args.SHA256) != args.SHA256 {
		return p, RefusedMalformed, fmt.Sprintf("sha256 %q is not 64 lower-case hex digits", args.SHA256)
	}
	if args.Deadline != "" {
		dl, err := time.Parse(time.RFC3339, args.Deadline)
		if err != nil {
			return p, RefusedMalformed, fmt.Sprintf("deadline %q is not RFC 3339", args.Deadline)
		}
		if !a.cfg.Clock.Now().Before(dl) {
			return p, RefusedDeadline, "the deadline " + args.Deadline + " has passed"
		}
	}
	if a.job != nil {
		return p, RefusedBusy, fmt.Sprintf("update %s to %s %s is in progress (%s)", a.job.Command, a.job.Kind, a.job.Version, a.job.Phase)
	}
	if old, err := readPending(a.pendingPath()); err == nil {
		return p, RefusedBusy, fmt.Sprintf("the result of update %s to %s %s is not reported yet", old.Command, old.Kind, old.Version)
	} else if !errors.Is(err, os.ErrNotExist) {
		return p, RefusedBusy, "the pending update file is unreadable: " + err.Error()
	}
	env, err := dev.Env()
	if err != nil {
		return p, RefusedKind, fmt.Sprintf("the %s slots are not usable: %v", args.Kind, err)
	}
	p.From = env.Slots[env.Active].Version
	p.Before = env.Rollback
	if env.Trial {
		return p, RefusedTrial, fmt.Sprintf("%s %s is on trial, not yet confirmed", args.Kind, p.From)
	}
	if cur, err := artifact.ParseVersion(p.From); err == nil {
		switch c := want.Compare(cur); {
		case c == 0:
			return p, RefusedRunning, fmt.Sprintf("%s %s already runs", args.Kind, p.From)
		case c < 0:
			return p, RefusedDowngrade, fmt.Sprintf("%s %s runs; %s is older", args.Kind, p.From, args.Version)
		}
	}
	need := args.Size
	if st, err := os.Stat(a.downloadPath(p)); err == nil {
		need -= st.Size()
	} else if st, err := os.Stat(a.downloadPath(p) + ".part"); err == nil {
		need -= st.Size()
	}
	if free, err := a.cfg.FreeSpace(a.cfg.Dir); err == nil && free < need {
		return p, RefusedSpace, fmt.Sprintf("%d bytes free in %s, the download needs %d", free, a.cfg.Dir, need)
	}
	return p, "", ""
}

// redact drops a URL's query (it may carry a token) for messages.
func redact(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		return s[:i] + "?…"
	}
	return s
}

func refuse(id string, args proto.UpdateArgs, running, reason, detail string) proto.CommandResponse {
	p := Pending{Rollout: args.Rollout, Version: args.Version}
	return answer(id, "refused", proto.UpdateFailed, p, running, reason+": "+detail)
}

func answer(id, status, state string, p Pending, running, detail string) proto.CommandResponse {
	res, _ := json.Marshal(proto.UpdateResult{State: state, Rollout: p.Rollout, Version: p.Version, Running: running, Detail: detail})
	r := proto.CommandResponse{Of: id, Status: status, Result: res}
	if status == "refused" || status == "failed" {
		r.Error = detail
	}
	return r
}

// progressAnswer is a download progress answer: the figures in
// BytesDone/BytesTotal, and as a percentage in Detail.
func progressAnswer(p Pending, done, total int64, pct int) proto.CommandResponse {
	res, _ := json.Marshal(proto.UpdateResult{State: proto.UpdateDownloading, Rollout: p.Rollout, Version: p.Version, Running: p.From,
		Detail: fmt.Sprintf("%d%% (%d of %d bytes)", pct, done, total), BytesDone: done, BytesTotal: total})
	return proto.CommandResponse{Of: p.Command, Status: "accepted", Result: res}
}

// UpdateState maps a pending phase to the UpdateResult state reported
// while it lasts.
func UpdateState(phase string) string {
	switch phase {
	case PhaseInstalling:
		return proto.UpdateInstalling
	case PhaseRebooting:
		return proto.UpdateRebooting
	}
	return proto.UpdateDownloading
}

func (a *Agent) pendingPath() string { return filepath.Join(a.cfg.Dir, pendingFile) }

func (a *Agent) downloadPath(p Pending) string {
	return filepath.Join(a.cfg.Dir, "downloads", fmt.Sprintf("%s-%s-%s.lgota", p.Kind, p.Version, p.SHA256[:16]))
}

// send publishes a progress answer, bounded by AnswerTimeout; a lost
// progress answer is logged, not fatal.
func (a *Agent) send(ctx context.Context, r proto.CommandResponse) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.AnswerTimeout)
	defer cancel()
	if err := a.cfg.Responder.Respond(ctx, r.Of, r); err != nil {
		a.log.Warn("ota progress answer not delivered", "command", r.Of, "err", err)
	}
}

// fail ends the job with a final "failed" answer. The answer is kept in
// the pending file until the broker took it, so a restart before that
// reports this answer, not an "interrupted" one.
func (a *Agent) fail(ctx context.Context, p Pending, detail string) {
	a.log.Warn("ota update failed", "command", p.Command, "version", p.Version, "detail", detail)
	r := answer(p.Command, "failed", proto.UpdateFailed, p, a.Running(artifact.Kind(p.Kind)), detail)
	p.Final = &r
	if err := writePending(a.pendingPath(), p); err != nil {
		a.log.Error("ota pending file not updated with the result", "err", err)
	}
	a.mu.Lock()
	a.finals[p.Command] = r
	a.job = nil
	a.mu.Unlock()
	if err := a.cfg.Responder.Respond(ctx, p.Command, r); err != nil {
		a.log.Warn("ota final answer not delivered; reported at the next start", "command", p.Command, "err", err)
		return
	}
	a.rememberFinal(r)
	if err := removePending(a.pendingPath()); err != nil {
		a.log.Error("ota pending file not removed", "err", err)
	}
}

// run is the background part: download, install, restart.
func (a *Agent) run(ctx context.Context, p Pending) {
	dev := a.cfg.Installers[artifact.Kind(p.Kind)]
	dst := a.downloadPath(p)
	a.cleanDownloads(dst)
	rep := newReporter(ctx, a)
	defer rep.close()
	fail := func(detail string) {
		rep.close() // progress first, then the final answer
		a.fail(ctx, p, detail)
	}

	// 1. Download (resumable; the partial file survives restarts).
	f := *a.cfg.Fetcher
	last := a.cfg.Clock.Now() // "accepted" was the first answer
	lastPct := 0
	f.Progress = func(done, total int64) {
		pct := int(done * 100 / total)
		now := a.cfg.Clock.Now()
		if done < total && pct < lastPct+a.cfg.ProgressStep && now.Sub(last) < a.cfg.ProgressInterval {
			return
		}
		if pct == lastPct {
			return
		}
		last, lastPct = now, pct
		rep.send(proto.UpdateDownloading, progressAnswer(p, done, total, pct))
	}
	hookStep("download")
	if err := f.Fetch(ctx, p.URL, dst, p.Size, p.SHA256); err != nil {
		if ctx.Err() != nil {
			a.stopped(p)
			return
		}
		fail("download: " + redactErr(err, p.URL))
		return
	}

	// 2. Install: verify everything before a byte is written, write the
	// inactive slot, switch. The pending file says "installing" first, so
	// a restart from here on is reported.
	p.Phase = PhaseInstalling
	if !a.persist(ctx, p, fail) {
		return
	}
	rep.send(proto.UpdateInstalling, answer(p.Command, "accepted", proto.UpdateInstalling, p, p.From, ""))
	hookStep("install")
	fh, err := os.Open(dst)
	if err != nil {
		fail("install: " + err.Error())
		return
	}
	m, err := dev.Install(ctx, fh)
	fh.Close()
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, artifact.ErrPayloadMismatch) {
			a.stopped(p)
			return
		}
		reason := artifact.Reason(err)
		detail := "install: " + err.Error()
		if reason != "" {
			detail = "refused (" + reason + "): " + err.Error()
			os.Remove(dst) // a refused artifact is not kept for a retry
		}
		fail(detail)
		return
	}
	if m.Version != p.Version {
		// The signed manifest is the truth; report what was installed.
		a.log.Warn("ota artifact version differs from the command", "command", p.Version, "artifact", m.Version)
		p.Version = m.Version
	}

	// 3. Switched: the next start runs the new slot on trial.
	p.Phase = PhaseRebooting
	if !a.persist(ctx, p, fail) {
		return
	}
	os.Remove(dst)
	rep.send(proto.UpdateRebooting, answer(p.Command, "accepted", proto.UpdateRebooting, p, p.From, ""))
	rep.flush() // "rebooting" reaches the broker (or AnswerTimeout passes) before the restart
	hookStep("restart")
	a.log.Info("ota restarting into the new slot", "command", p.Command, "kind", p.Kind, "version", p.Version)
	if err := a.cfg.Restart(ctx); err != nil {
		// The switch is on disk: the next start, whenever it comes, boots
		// the new slot and reports. Nothing else to do here.
		a.log.Error("ota restart failed: the new slot runs at the next start", "err", err)
	}
}

// persist rewrites the pending file; a failure ends the job as failed
// before the switch, or leaves it for the next start after.
func (a *Agent) persist(ctx context.Context, p Pending, fail func(string)) bool {
	if err := writePending(a.pendingPath(), p); err != nil {
		if p.Phase == PhaseRebooting {
			a.log.Error("ota pending file not updated; the next start reports from the installing record", "err", err)
			return true
		}
		fail("cannot persist the update: " + err.Error())
		return false
	}
	a.mu.Lock()
	a.job = &p
	a.mu.Unlock()
	return true
}

// stopped: the agent was closed mid-update. The pending file stays: the
// next start reports the update as interrupted.
func (a *Agent) stopped(p Pending) {
	a.log.Info("ota update stopped by shutdown", "command", p.Command, "phase", p.Phase)
	a.mu.Lock()
	a.job = nil
	a.mu.Unlock()
}

// cleanDownloads removes every download but keep (and its partial file).
func (a *Agent) cleanDownloads(keep string) {
	dir := filepath.Dir(keep)
	es, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var names []string
	for _, e := range es {
		n := filepath.Join(dir, e.Name())
		if n != keep && n != keep+".part" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		os.Remove(n)
	}
}

func redactErr(err error, u string) string {
	return strings.ReplaceAll(err.Error(), u, redact(u))
}

// hookStep is a test hook called at the steps of an update ("download",
// "install", "restart").
var hookStep = func(string) {}
