package releases

import (
	"context"
	"encoding/json"
	"log/slog"

	"livegate.dev/proto"
)

// StateFromResponse maps a device's response to an update command to a
// progress state for Report: a reportable proto.UpdateResult.State wins
// (rebooting counts as installing: the install is not finished until the
// new version passed its health check); otherwise accepted → downloading,
// done → succeeded, failed and refused → failed. ok is false when the
// response says nothing usable.
func StateFromResponse(r proto.CommandResponse) (state string, ok bool) {
	if len(r.Result) > 0 {
		var res proto.UpdateResult
		if json.Unmarshal(r.Result, &res) == nil {
			if res.State == proto.UpdateRebooting {
				return StateInstalling, true
			}
			if reportable[res.State] {
				return res.State, true
			}
		}
	}
	switch r.Status {
	case "accepted":
		return StateDownloading, true
	case "done":
		return StateSucceeded, true
	case "failed", "refused":
		return StateFailed, true
	}
	return "", false
}

// CommandResponse records a device's answer to an update command: the
// rollout comes from the answer's proto.UpdateResult.Rollout, not from a
// remembered command id, so an answer sent after the device restarted
// into the new version (or after the cloud restarted) still lands.
// Responses to other commands, and answers naming no rollout, are ignored.
// The fleet calls it for every command response (see fleet.Listener).
func (s *Service) CommandResponse(ctx context.Context, deviceID string, r *proto.CommandResponse) {
	if r == nil || len(r.Result) == 0 {
		return
	}
	var res proto.UpdateResult
	if json.Unmarshal(r.Result, &res) != nil || res.Rollout == "" {
		return
	}
	state, ok := StateFromResponse(*r)
	if !ok {
		return
	}
	var detail string // progress details ("40 % of …") are not kept (the figures are): only why a device failed
	if failure(state) {
		if detail = res.Detail; detail == "" {
			detail = r.Error
		}
	}
	log := s.cfg.Logger.With(slog.String("rollout_id", res.Rollout), slog.String("device_id", deviceID), slog.String("state", state))
	var err error
	if f := (Figures{res.BytesDone, res.BytesTotal}); state == StateDownloading && f.valid() {
		_, err = s.ReportDownload(ctx, res.Rollout, deviceID, f)
	} else {
		_, err = s.Report(ctx, res.Rollout, deviceID, state, detail)
	}
	if err != nil {
		log.Warn("rollout: device report not recorded", slog.Any("error", err))
		return
	}
	log.Debug("rollout: device report")
}

// Telemetry keeps the board a device reports in its device facts (one
// write when it changes, none otherwise). The fleet calls it for every
// telemetry message (see fleet.Listener).
func (s *Service) Telemetry(ctx context.Context, deviceID string, t *proto.Telemetry) {
	if t == nil || t.Board == "" {
		return
	}
	if f, err := s.cfg.Repo.GetDeviceFacts(ctx, deviceID); err == nil && f.Board == t.Board {
		return
	}
	err := s.cfg.Repo.UpdateDeviceFacts(ctx, deviceID, func(f *DeviceFacts) error {
		f.Board, f.UpdatedAt = t.Board, s.cfg.Clock.Now().UTC()
		return nil
	})
	if err != nil {
		s.cfg.Logger.Warn("releases: device board not recorded", slog.String("device_id", deviceID), slog.Any("error", err))
	}
}
