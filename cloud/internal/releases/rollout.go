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

	"livegate.dev/ota/artifact"
	"livegate.dev/proto"
)

// Notifier sends the update command to one device (the fleet's MQTT
// command channel satisfies it).
type Notifier interface {
	SendUpdate(ctx context.Context, deviceID string, args proto.UpdateArgs) error
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
	ReportTimeoutSeconds int64 `json:"report_timeout_seconds,omitempty" doc:"A told device silent for this many seconds is marked failed (0: wait forever)."`
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

func newRolloutID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "rol_" + hex.EncodeToString(b[:])
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
// stage still pending, then records who was told. Failures stay pending
// with the error noted and are retried by Tick.
func (s *Service) notifyPending(ctx context.Context, id string, rel *Release) (*Rollout, error) {
	ro, err := s.cfg.Repo.GetRollout(ctx, id)
	if err != nil {
		return nil, err
	}
	if ro.State != RolloutRunning {
		return ro, nil
	}
	var ids []string
	for d, p := range ro.Devices {
		if p.Stage >= 0 && p.State == StatePending {
			ids = append(ids, d)
		}
	}
	sort.Strings(ids)
	args := proto.UpdateArgs{
		Kind: string(rel.Manifest.Kind), Version: rel.Manifest.Version, URL: s.cfg.ArtifactURL(rel.ID),
		SHA256: rel.SHA256, Size: rel.Size, Rollout: ro.ID,
	}
	sent := map[string]error{}
	for _, d := range ids {
		err := s.cfg.Notifier.SendUpdate(ctx, d, args)
		sent[d] = err
		if err != nil {
			s.cfg.Logger.Warn("rollout: update command not sent", slog.String("rollout_id", ro.ID), slog.String("device_id", d), slog.Any("error", err))
		}
	}
	if len(sent) == 0 {
		return ro, nil
	}
	err = s.cfg.Repo.UpdateRollout(ctx, id, func(r *Rollout) error {
		now := s.cfg.Clock.Now().UTC()
		for d, e := range sent {
			p := r.Devices[d]
			if p == nil || p.State != StatePending {
				continue // a report came in meanwhile
			}
			if e != nil {
				p.Error, p.UpdatedAt = "notify: "+e.Error(), now
				continue
			}
			p.State, p.Error, p.UpdatedAt = StateNotified, "", now
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
// devices silent for ReportTimeout failed (applying the abort rule),
// advances a stage AutoAdvanceAfter after it finished, and retries failed
// notifications. Call it periodically (Run does).
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
		if ro.ReportTimeout > 0 {
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

// expire marks told devices that stayed silent for ReportTimeout failed.
func (s *Service) expire(ctx context.Context, id string) (*Rollout, error) {
	var out *Rollout
	err := s.cfg.Repo.UpdateRollout(ctx, id, func(ro *Rollout) error {
		out = ro
		if ro.State != RolloutRunning || ro.ReportTimeout <= 0 {
			return nil
		}
		now := s.cfg.Clock.Now().UTC()
		n := 0
		for d, p := range ro.Devices {
			if p.Stage < 0 || p.State == StatePending || terminal(p.State) || now.Sub(p.UpdatedAt) < ro.ReportTimeout {
				continue
			}
			p.State, p.Error, p.UpdatedAt = StateFailed, fmt.Sprintf("no report for %s (last state %s)", ro.ReportTimeout, p.State), now
			s.cfg.Logger.Warn("rollout: device silent", slog.String("rollout_id", ro.ID), slog.String("device_id", d))
			n++
		}
		if n > 0 {
			ro.checkStageDone(now)
		}
		return nil
	})
	return out, err
}
