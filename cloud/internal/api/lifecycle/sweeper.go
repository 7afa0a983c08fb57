package lifecycle

import (
	"context"
	"log/slog"
)

const sweepBatch = 256

// RunSweeper expires sessions past their TTL until ctx ends: every
// SweepInterval on the service clock it lists expiring sessions and expires
// each (queuing session.expired). It returns ctx.Err().
func (s *Service) RunSweeper(ctx context.Context) error {
	for {
		s.SweepOnce(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.cfg.Clock.After(s.cfg.SweepInterval):
		}
	}
}

// SweepOnce expires every session whose TTL has passed and returns how many
// it expired.
func (s *Service) SweepOnce(ctx context.Context) int {
	n := 0
	for ctx.Err() == nil {
		ids, err := s.cfg.Store.ListExpiring(ctx, s.cfg.Clock.Now(), sweepBatch)
		if err != nil {
			s.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "sweeper: listing expiring sessions", slog.Any("error", err))
			return n
		}
		for _, id := range ids {
			if _, err := s.Expire(ctx, id); err != nil {
				s.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "sweeper: expiring session", slog.String("session_id", id), slog.Any("error", err))
				return n
			}
			n++
		}
		if len(ids) < sweepBatch {
			return n
		}
	}
	return n
}
