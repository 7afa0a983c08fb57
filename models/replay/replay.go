package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"

	"livegate.dev/models/liveness"
)

// Replay reads a recording from r, feeds every recorded frame to a new
// Analyzer built from the recorded configuration (its plans instead of
// random draws) and returns the verdict the producer stored and the one the
// replay got. Frames the analyzer refuses (ErrBadFrame, ErrTimestamp) are
// passed over, as producers do; any other Feed error ends the replay.
func Replay(ctx context.Context, models *liveness.Models, r io.Reader) (stored, got Summary, err error) {
	rd, err := NewReader(r)
	if err != nil {
		return Summary{}, Summary{}, err
	}
	return rd.Replay(ctx, models)
}

// Replay is the package's Replay on a Reader that has read nothing but its
// header (so that a caller can look at the header first).
func (r *Reader) Replay(ctx context.Context, models *liveness.Models) (stored, got Summary, err error) {
	if r.frames > 0 || r.err != nil || r.tr != nil {
		return Summary{}, Summary{}, errors.New("replay: the reader has already read frames")
	}
	a, err := r.analyzer(models)
	if err != nil {
		return Summary{}, Summary{}, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return Summary{}, Summary{}, err
		}
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Summary{}, Summary{}, err
		}
		if _, err := a.Feed(ctx, f); err != nil && !errors.Is(err, liveness.ErrBadFrame) && !errors.Is(err, liveness.ErrTimestamp) {
			return Summary{}, Summary{}, fmt.Errorf("replay: session %q, frame %d: %w", r.hdr.SessionID, r.frames-1, err)
		}
	}
	return r.tr.Verdict, Summarize(a.Verdict()), nil
}

// analyzer builds the Analyzer of the recorded configuration and checks
// that it runs on the recorded plans.
func (r *Reader) analyzer(models *liveness.Models) (*liveness.Analyzer, error) {
	c := r.hdr.Config
	cfg := c.Liveness()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: session %q: configuration: %w", ErrCorrupt, r.hdr.SessionID, err)
	}
	if cfg.Mode == liveness.Active && len(c.ChallengePlan) == 0 {
		return nil, fmt.Errorf("%w: session %q: active mode without a challenge plan", ErrCorrupt, r.hdr.SessionID)
	}
	if c.LightControlled && len(c.LightPlan) == 0 {
		return nil, fmt.Errorf("%w: session %q: light controlled without a light plan", ErrCorrupt, r.hdr.SessionID)
	}
	// Every draw is replaced by a plan; the fixed generator only makes
	// sure that nothing random could slip in.
	a := liveness.New(cfg, models, rand.New(rand.NewPCG(0, 0)))
	if got := ConfigOf(a); !slices.Equal(got.ChallengePlan, c.ChallengePlan) || !slices.Equal(got.LightPlan, c.LightPlan) {
		return nil, fmt.Errorf("%w: session %q: the analyzer did not take the recorded plans", ErrCorrupt, r.hdr.SessionID)
	}
	return a, nil
}
