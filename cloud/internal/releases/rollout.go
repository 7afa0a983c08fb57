package releases

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"livegate.dev/cloud/internal/fleet/resend"
	"livegate.dev/ota/artifact"
	"livegate.dev/proto"
)

// Notifier sends the update command to one device (the fleet's MQTT
// command channel satisfies it) with the message id and expiry the rollout
// chose. A rollout sends the same command (same id, same expiry) again
// until the device answers: the device answers a repeated id from its
// records and never installs twice.
type Notifier interface {
	SendUpdate(ctx context.Context, deviceID, commandID string, expiresAt time.Time, args proto.UpdateArgs) error
}

// Device is what a rollout needs to know about a device.
type Device struct {
	ID              string
	Board           string
	Arch            string
	Labels          map[string]string
	FirmwareVersion string
}

// Devices lists the fleet.
type Devices interface {
	List(ctx context.Context) ([]Device, error)
}

// RolloutRequest starts a rollout.
type RolloutRequest struct {
	ReleaseID string            `json:"release_id"`
	Labels    map[string]string `json:"labels,omitempty" doc:"Only devices carrying all these labels take part."`
	Stages    []float64         `json:"stages,omitempty" doc:"Cumulative percentages of the eligible devices, increasing, each in (0, 100]. Default [100]."`
	// AbortFailures and AbortPercent: see Rollout. Both 0 means no automatic abort.
	AbortFailures int     `json:"abort_failures,omitempty" doc:"Abort when the current stage has this many failed or rolled-back devices (0: off)."`
	AbortPercent  float64 `json:"abort_percent,omitempty" doc:"Abort when failed or rolled-back devices reach this percentage of the current stage (0: off)."`
	// AutoAdvanceAfter: see Rollout.
	AutoAdvanceAfter time.Duration `json:"-"`
	// AutoAdvanceSeconds is AutoAdvanceAfter in the JSON API.
	AutoAdvanceSeconds int64 `json:"auto_advance_seconds,omitempty" doc:"Advance this many seconds after every device of the current stage finished (0: advance manually)."`
	// ReportTimeout: see Rollout.
	ReportTimeout time.Duration `json:"-"`
	// ReportTimeoutSeconds is ReportTimeout in the JSON API.
	ReportTimeoutSeconds int64 `json:"report_timeout_seconds,omitempty" doc:"A told device silent for this many seconds is marked failed (0: no report timeout; a device that never answered its update command is still marked failed when the command expires, 72 h after it was first sent)."`
}

// bucket is a device's stable place in [0, 10000) for one rollout.
func bucket(rolloutID, deviceID string) int {
	h := sha256.Sum256([]byte(rolloutID + "\x00" + deviceID))
	return int(binary.BigEndian.Uint64(h[:8]) % 10000)
}

// inStage reports whether a device in bucket b belongs to stage s.
func (ro *Rollout) inStage(b, s int) bool {
	return s >= 0 && s < len(ro.Stages) && float64(b) < ro.Stages[s]*100
}

// eligible reports whether d may take rel (and why not).
func eligible(rel *Release, d Device, labels map[string]string) bool {
	for k, v := range labels {
		if d.Labels[k] != v {
			return false
		}
	}
	// An unknown board or architecture is included: the device checks the
	// manifest itself and refuses (reported failed) if it does not fit.
	if d.Board != "" && !contains(rel.Manifest.Boards, d.Board) || d.Arch != "" && !contains(rel.Manifest.Archs, d.Arch) {
		return false
	}
	if rel.Manifest.Kind == artifact.KindFirmware && d.FirmwareVersion != "" {
		cur, err := artifact.ParseVersion(d.FirmwareVersion)
		next, err2 := artifact.ParseVersion(rel.Manifest.Version)
		if err == nil && err2 == nil && cur.Compare(next) >= 0 {
			return false // already there
		}
		if min, err := artifact.ParseVersion(rel.Manifest.MinVersion); err == nil && rel.Manifest.MinVersion != "" && cur.Compare(min) < 0 {
			return false // needs an intermediate release
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func newRolloutID() string { return randomID("rol_") }

// newCommandID is an update command's message id.
func newCommandID() string { return randomID("cmd_") }

func randomID(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// StartRollout creates a rollout of req.ReleaseID over the devices that fit
// it now and notifies the first stage.
func (s *Service) StartRollout(ctx context.Context, req RolloutRequest) (*Rollout, error) {
	if s.cfg.Notifier == nil || s.cfg.Devices == nil {
		return nil, errNoFleet
	}
	if len(req.Stages) == 0 {
		req.Stages = []float64{100}
	}
	prev := 0.0
	for i, p := range req.Stages {
		if p <= prev || p > 100 {
			return nil, fmt.Errorf("releases: %w: stages[%d] = %v: stages must increase, each in (0, 100]", ErrInvalid, i, p)
		}
		prev = p
	}
	if req.AbortFailures < 0 || req.AbortPercent < 0 || req.AbortPercent > 100 || req.AutoAdvanceAfter < 0 || req.AutoAdvanceSeconds < 0 ||
		req.ReportTimeout < 0 || req.ReportTimeoutSeconds < 0 {
		return nil, fmt.Errorf("releases: %w: abort_failures, abort_percent (≤ 100), auto_advance_seconds and report_timeout_seconds must not be negative", ErrInvalid)
	}
	if req.ReportTimeout == 0 {
		req.ReportTimeout = time.Duration(req.ReportTimeoutSeconds) * time.Second
	}
	if req.AutoAdvanceAfter == 0 {
		req.AutoAdvanceAfter = time.Duration(req.AutoAdvanceSeconds) * time.Second
	}
	rel, err := s.cfg.Repo.GetRelease(ctx, req.ReleaseID)
	if err != nil {
		return nil, err
	}
	devs, err := s.cfg.Devices.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("releases: list devices: %w", err)
	}
	now := s.cfg.Clock.Now().UTC()
	ro := &Rollout{
		ID: newRolloutID(), ReleaseID: rel.ID, Labels: req.Labels, Stages: req.Stages,
		AbortFailures: req.AbortFailures, AbortPercent: req.AbortPercent, AutoAdvanceAfter: req.AutoAdvanceAfter,
		ReportTimeout: req.ReportTimeout, State: RolloutRunning, CreatedAt: now, UpdatedAt: now, Devices: map[string]*Progress{},
	}
	for _, d := range devs {
		if eligible(rel, d, req.Labels) {
			b := bucket(ro.ID, d.ID)
			ro.Devices[d.ID] = &Progress{Bucket: b, Stage: -1, State: StatePending, UpdatedAt: now}
		}
	}
	ro.enterStage(0, now)
	if err := s.cfg.Repo.CreateRollout(ctx, ro); err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("rollout started", slog.String("rollout_id", ro.ID), slog.String("release_id", rel.ID),
		slog.Int("devices", len(ro.Devices)), slog.Any("stages", ro.Stages))
	return s.notifyPending(ctx, ro.ID, rel)
}

// enterStage makes s the current stage and puts its new devices in it.
func (ro *Rollout) enterStage(st int, now time.Time) {
	ro.Stage, ro.StageDoneAt, ro.UpdatedAt = st, time.Time{}, now
	for _, p := range ro.Devices {
		if p.Stage < 0 && ro.inStage(p.Bucket, st) {
			p.Stage, p.UpdatedAt = st, now
		}
	}
	ro.checkStageDone(now)
}

// stageCounts counts the current stage's devices, finished ones and failures.
func (ro *Rollout) stageCounts() (n, done, failed int) {
	for _, p := range ro.Devices {
		if p.Stage != ro.Stage {
			continue
		}
		n++
		if terminal(p.State) {
			done++
		}
		if failure(p.State) {
			failed++
		}
	}
	return n, done, failed
}

// checkStageDone applies the abort rule and notes when the stage finished.
func (ro *Rollout) checkStageDone(now time.Time) {
	if ro.State != RolloutRunning {
		return
	}
	n, done, failed := ro.stageCounts()
	switch {
	case ro.AbortFailures > 0 && failed >= ro.AbortFailures:
		ro.State, ro.Reason = RolloutAborted, fmt.Sprintf("stage %d: %d failures ≥ abort_failures %d", ro.Stage, failed, ro.AbortFailures)
	case ro.AbortPercent > 0 && n > 0 && float64(failed)*100 >= ro.AbortPercent*float64(n):
		ro.State, ro.Reason = RolloutAborted, fmt.Sprintf("stage %d: %d of %d devices failed ≥ abort_percent %v", ro.Stage, failed, n, ro.AbortPercent)
	case done == n && ro.StageDoneAt.IsZero():
		ro.StageDoneAt = now
		if ro.Stage == len(ro.Stages)-1 {
			ro.State = RolloutCompleted
		}
	}
	ro.UpdatedAt = now
}

// notifyPending sends the update command to every device of a started
// stage still pending, and again to told devices that stayed silent past
// their repeat time (resendDue), then records who was told. Failures stay
// pending with the error noted and are retried by Tick.
func (s *Service) notifyPending(ctx context.Context, id string, rel *Release) (*Rollout, error) {
	return s.send(ctx, id, rel, func(_ string, p *Progress, now time.Time) bool {
		return p.State == StatePending || s.resendDue(p, now)
	})
}

// resendDue reports whether a told device that has not answered is due a
// repeat of its command: ResendAfter after the first send, twice as long
// after each repeat (up to MaxResendAfter), while the command is valid:
// the fleet's schedule of repeats (resend.Backoff).
func (s *Service) resendDue(p *Progress, now time.Time) bool {
	if p.State != StateNotified || p.Command == "" || !now.Before(p.CommandExpiresAt) {
		return false
	}
	return resend.Backoff{First: s.cfg.ResendAfter, Max: s.cfg.MaxResendAfter}.Due(p.SentAt, p.Sends, now)
}

// canResend: a told device that has not answered and whose command (with
// an id to repeat) is still valid.
func canResend(p *Progress, now time.Time) bool {
	return p.State == StateNotified && p.Command != "" && now.Before(p.CommandExpiresAt)
}

// DeviceOnline sends the update command again to deviceID in every running
// rollout that told it and has no answer from it yet (and tells it now if
// telling it failed before): its session on the broker just came (back)
// online, and a command sent while it had none was lost. The command keeps
// its message id, so a device that did get it answers from its records.
// The fleet calls it (see fleet.Listener).
func (s *Service) DeviceOnline(ctx context.Context, deviceID string) {
	ros, err := s.cfg.Repo.ListRollouts(ctx)
	if err != nil {
		s.cfg.Logger.Warn("rollout: device online: list rollouts", slog.String("device_id", deviceID), slog.Any("error", err))
		return
	}
	for _, ro := range ros {
		p := ro.Devices[deviceID]
		now := s.cfg.Clock.Now().UTC()
		if ro.State != RolloutRunning || p == nil || p.Stage < 0 || p.State != StatePending && !canResend(p, now) {
			continue
		}
		rel, err := s.cfg.Repo.GetRelease(ctx, ro.ReleaseID)
		if err == nil {
			_, err = s.send(ctx, ro.ID, rel, func(d string, p *Progress, now time.Time) bool {
				return d == deviceID && (p.State == StatePending || canResend(p, now))
			})
		}
		if err != nil {
			s.cfg.Logger.Warn("rollout: device online: update command not sent again", slog.String("rollout_id", ro.ID),
				slog.String("device_id", deviceID), slog.Any("error", err))
		}
	}
}

// send sends the update command to the devices of started stages that
// pick selects, and records it. A device's command id and expiry are
// chosen and stored before its first send and kept for every repeat (also
// when a send failed: the broker may have taken it), so the device sees
// one command however often it is sent; a pending device whose command
// expired before it could be sent gets a new one.
func (s *Service) send(ctx context.Context, id string, rel *Release, pick func(deviceID string, p *Progress, now time.Time) bool) (*Rollout, error) {
	type cmd struct {
		id      string
		expires time.Time
	}
	todo := map[string]cmd{}
	var ro *Rollout
	err := s.cfg.Repo.UpdateRollout(ctx, id, func(r *Rollout) error {
		ro = r
		if r.State != RolloutRunning {
			return errUnchanged
		}
		now := s.cfg.Clock.Now().UTC()
		changed := false
		for d, p := range r.Devices {
			if p.Stage < 0 || !pick(d, p, now) {
				continue
			}
			if p.State == StatePending && (p.Command == "" || !now.Before(p.CommandExpiresAt)) {
				p.Command, p.CommandExpiresAt, changed = newCommandID(), now.Add(s.cfg.CommandTTL), true
			}
			todo[d] = cmd{p.Command, p.CommandExpiresAt}
		}
		if !changed {
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	if err != nil || len(todo) == 0 {
		return ro, err
	}
	ids := make([]string, 0, len(todo))
	for d := range todo {
		ids = append(ids, d)
	}
	sort.Strings(ids)
	args := proto.UpdateArgs{
		Kind: string(rel.Manifest.Kind), Version: rel.Manifest.Version, URL: s.cfg.ArtifactURL(rel.ID),
		SHA256: rel.SHA256, Size: rel.Size, Rollout: id,
	}
	sent := map[string]error{}
	for _, d := range ids {
		c := todo[d]
		err := s.cfg.Notifier.SendUpdate(ctx, d, c.id, c.expires, args)
		sent[d] = err
		if err != nil {
			s.cfg.Logger.Warn("rollout: update command not sent", slog.String("rollout_id", id), slog.String("device_id", d),
				slog.String("command_id", c.id), slog.Any("error", err))
		}
	}
	err = s.cfg.Repo.UpdateRollout(ctx, id, func(r *Rollout) error {
		now := s.cfg.Clock.Now().UTC()
		for d, e := range sent {
			p := r.Devices[d]
			if p == nil || p.Command != todo[d].id || p.State != StatePending && p.State != StateNotified {
				continue // a report came in meanwhile
			}
			if e != nil {
				if p.State == StatePending {
					p.Error, p.UpdatedAt = "notify: "+e.Error(), now
				}
				continue
			}
			if p.State == StatePending {
				// Told now: ReportTimeout counts from here. A repeat
				// does not move UpdatedAt (the device is as silent).
				p.State, p.Error, p.UpdatedAt = StateNotified, "", now
			}
			p.SentAt = now
			p.Sends++
		}
		ro = r
		return nil
	})
	return ro, err
}

// Rollout returns a rollout with its per-device progress.
func (s *Service) Rollout(ctx context.Context, id string) (*Rollout, error) {
	return s.cfg.Repo.GetRollout(ctx, id)
}

// Rollouts lists every rollout, newest first.
func (s *Service) Rollouts(ctx context.Context) ([]*Rollout, error) {
	return s.cfg.Repo.ListRollouts(ctx)
}

// Stop stops a running rollout: no further device is told. Devices already
// told may still install; their reports are still recorded.
func (s *Service) Stop(ctx context.Context, id, reason string) (*Rollout, error) {
	var out *Rollout
	err := s.cfg.Repo.UpdateRollout(ctx, id, func(ro *Rollout) error {
		if ro.State != RolloutRunning {
			return fmt.Errorf("releases: stop %s: %w (%s)", id, ErrFinished, ro.State)
		}
		if reason == "" {
			reason = "stopped by an operator"
		}
		ro.State, ro.Reason, ro.UpdatedAt = RolloutStopped, reason, s.cfg.Clock.Now().UTC()
		out = ro
		return nil
	})
	if err == nil {
		s.cfg.Logger.Info("rollout stopped", slog.String("rollout_id", id))
	}
	return out, err
}

// Advance moves a running rollout to its next stage and notifies the
// devices that joined. It refuses on the last stage (ErrFinished).
func (s *Service) Advance(ctx context.Context, id string) (*Rollout, error) {
	var rel string
	err := s.cfg.Repo.UpdateRollout(ctx, id, func(ro *Rollout) error {
		if ro.State != RolloutRunning {
			return fmt.Errorf("releases: advance %s: %w (%s)", id, ErrFinished, ro.State)
		}
		if ro.Stage+1 >= len(ro.Stages) {
			return fmt.Errorf("releases: advance %s: %w: already at the last stage", id, ErrFinished)
		}
		ro.enterStage(ro.Stage+1, s.cfg.Clock.Now().UTC())
		rel = ro.ReleaseID
		return nil
	})
	if err != nil {
		return nil, err
	}
	r, err := s.cfg.Repo.GetRelease(ctx, rel)
	if err != nil {
		return nil, fmt.Errorf("releases: advance %s: release %s: %w", id, rel, err)
	}
	return s.notifyPending(ctx, id, r)
}

// Report records a device's progress in a rollout (from its command
// responses or status messages); state is one of downloading, installing,
// succeeded, failed, rolled_back. It is idempotent: a repeated report, or
// one that would move the device backwards (installing after succeeded,
// anything after a failure), changes nothing. It applies the abort rule.
func (s *Service) Report(ctx context.Context, rolloutID, deviceID, state, detail string) (*Rollout, error) {
	return s.report(ctx, rolloutID, deviceID, state, detail, Figures{})
}

// Figures are a download's progress: bytes on the device and the
// artifact's size (both 0: no figure).
type Figures struct{ Done, Total int64 }

func (f Figures) valid() bool { return f.Total > 0 && f.Done >= 0 && f.Done <= f.Total }

// ReportDownload records a download progress figure: the device moves to
// downloading if it was not further, and while it is downloading its
// figures are updated when the count of bytes grew (or the size changed);
// a figure that went backwards (a redelivered older answer) is ignored.
// A new figure counts as a report for ReportTimeout: a slow download that
// keeps making progress is not timed out.
func (s *Service) ReportDownload(ctx context.Context, rolloutID, deviceID string, f Figures) (*Rollout, error) {
	if !f.valid() {
		return nil, fmt.Errorf("releases: report: %w: %d of %d bytes", ErrInvalid, f.Done, f.Total)
	}
	return s.report(ctx, rolloutID, deviceID, StateDownloading, "", f)
}

func (s *Service) report(ctx context.Context, rolloutID, deviceID, state, detail string, f Figures) (*Rollout, error) {
	if !reportable[state] {
		return nil, fmt.Errorf("releases: report: %w: state %q", ErrInvalid, state)
	}
	var out *Rollout
	err := s.cfg.Repo.UpdateRollout(ctx, rolloutID, func(ro *Rollout) error {
		p := ro.Devices[deviceID]
		if p == nil || p.Stage < 0 {
			return fmt.Errorf("releases: report: %w: device %s is not in a started stage of %s", ErrInvalid, deviceID, rolloutID)
		}
		// Answers come repeated and out of order (QoS 1, a final answer
		// sent after a restart): never move a device backwards, and a
		// failure stays a failure. Only a failure may follow a success.
		now := s.cfg.Clock.Now().UTC()
		if state == StateDownloading && p.State == StateDownloading && f.valid() &&
			(f.Done > p.BytesDone || f.Total != p.BytesTotal) {
			p.BytesDone, p.BytesTotal, p.UpdatedAt = f.Done, f.Total, now
			out = ro
			return nil
		}
		if failure(p.State) || rank(state) < rank(p.State) || state == p.State ||
			p.State == StateSucceeded && !failure(state) {
			out = ro
			return errUnchanged // nothing to write
		}
		p.State, p.Error, p.UpdatedAt = state, detail, now
		switch {
		case f.valid():
			p.BytesDone, p.BytesTotal = f.Done, f.Total
		case state == StateInstalling || state == StateSucceeded || state == StateRolledBack:
			// Past the download: the device verified the whole file
			// (its last progress answer may come later, or not at all).
			p.BytesDone = p.BytesTotal
		}
		was := ro.State
		ro.checkStageDone(now)
		if was == RolloutRunning && ro.State == RolloutAborted {
			s.cfg.Logger.Warn("rollout aborted", slog.String("rollout_id", ro.ID), slog.String("reason", ro.Reason))
		}
		out = ro
		return nil
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	return out, err
}

// errUnchanged ends an UpdateRollout without writing.
var errUnchanged = errors.New("unchanged")

// Tick does the clock-driven work of every running rollout: it marks
// devices silent for ReportTimeout, and told devices that never answered
// before their command expired, failed (applying the abort rule), advances
// a stage AutoAdvanceAfter after it finished, retries failed
// notifications and repeats the command to told devices that have not
// answered (resendDue). Call it periodically (Run does).
func (s *Service) Tick(ctx context.Context) error {
	ros, err := s.cfg.Repo.ListRollouts(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, ro := range ros {
		if ro.State != RolloutRunning {
			continue
		}
		if s.anyDevice(ro, func(p *Progress, now time.Time) bool { return expiryReason(ro, p, now) != "" }) {
			if ro, err = s.expire(ctx, ro.ID); err != nil {
				errs = append(errs, err)
				continue
			}
			if ro.State != RolloutRunning {
				continue
			}
		}
		if ro.AutoAdvanceAfter > 0 && !ro.StageDoneAt.IsZero() && !s.cfg.Clock.Now().Before(ro.StageDoneAt.Add(ro.AutoAdvanceAfter)) &&
			ro.Stage+1 < len(ro.Stages) {
			if _, err := s.Advance(ctx, ro.ID); err != nil && !errors.Is(err, ErrFinished) {
				errs = append(errs, err)
			}
			continue
		}
		if !s.anyDevice(ro, func(p *Progress, now time.Time) bool { return p.State == StatePending || s.resendDue(p, now) }) {
			continue // nothing to send: no write
		}
		rel, err := s.cfg.Repo.GetRelease(ctx, ro.ReleaseID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := s.notifyPending(ctx, ro.ID, rel); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Run calls Tick every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.cfg.Clock.After(interval):
		}
		if err := s.Tick(ctx); err != nil {
			s.cfg.Logger.Warn("rollout tick", slog.Any("error", err))
		}
	}
}

// anyDevice reports whether a device of a started stage of ro (a snapshot)
// satisfies f now.
func (s *Service) anyDevice(ro *Rollout, f func(p *Progress, now time.Time) bool) bool {
	now := s.cfg.Clock.Now().UTC()
	for _, p := range ro.Devices {
		if p.Stage >= 0 && f(p, now) {
			return true
		}
	}
	return false
}

// expiryReason says why a told device of rollout ro fails now ("": it
// does not): it never answered before its update command expired (it
// would refuse the command now, so no answer can come), or it stayed
// silent for the rollout's ReportTimeout.
func expiryReason(ro *Rollout, p *Progress, now time.Time) string {
	if p.State == StatePending || terminal(p.State) {
		return ""
	}
	if p.State == StateNotified && !p.CommandExpiresAt.IsZero() && !now.Before(p.CommandExpiresAt) {
		return fmt.Sprintf("no answer to the update command before it expired at %s (sent %d times)",
			p.CommandExpiresAt.Format(time.RFC3339), p.Sends)
	}
	if ro.ReportTimeout > 0 && now.Sub(p.UpdatedAt) >= ro.ReportTimeout {
		return fmt.Sprintf("no report for %s (last state %s)", ro.ReportTimeout, p.State)
	}
	return ""
}

// expire marks told devices that stayed silent for ReportTimeout failed,
// and told devices that never answered before their update command
// expired.
func (s *Service) expire(ctx context.Context, id string) (*Rollout, error) {
	var out *Rollout
	err := s.cfg.Repo.UpdateRollout(ctx, id, func(ro *Rollout) error {
		out = ro
		if ro.State != RolloutRunning {
			return errUnchanged
		}
		now := s.cfg.Clock.Now().UTC()
		n := 0
		for d, p := range ro.Devices {
			if p.Stage < 0 {
				continue
			}
			why := expiryReason(ro, p, now)
			if why == "" {
				continue
			}
			p.State, p.Error, p.UpdatedAt = StateFailed, why, now
			s.cfg.Logger.Warn("rollout: device silent", slog.String("rollout_id", ro.ID), slog.String("device_id", d), slog.String("error", why))
			n++
		}
		if n == 0 {
			return errUnchanged
		}
		ro.checkStageDone(now)
		return nil
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	return out, err
}
