package releases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
)

// Label limits.
const (
	maxLabels       = 32
	maxLabelKey     = 63
	maxLabelValue   = 255
	reservedLabel   = "tenant"
	labelKeyCharset = "A-Za-z0-9._/-"
)

// validLabels checks an operator's labels.
func validLabels(labels map[string]string) error {
	if len(labels) > maxLabels {
		return fmt.Errorf("releases: %w: %d labels; at most %d", ErrInvalid, len(labels), maxLabels)
	}
	for k, v := range labels {
		switch {
		case k == reservedLabel:
			return fmt.Errorf("releases: %w: label %q is reserved (every device carries its tenant id under it)", ErrInvalid, k)
		case len(k) == 0 || len(k) > maxLabelKey:
			return fmt.Errorf("releases: %w: label key %q must be 1–%d characters", ErrInvalid, k, maxLabelKey)
		case len(v) > maxLabelValue:
			return fmt.Errorf("releases: %w: label %q: value longer than %d characters", ErrInvalid, k, maxLabelValue)
		}
		for _, r := range k {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '/' || r == '-') {
				return fmt.Errorf("releases: %w: label key %q: only %s", ErrInvalid, k, labelKeyCharset)
			}
		}
	}
	return nil
}

// DeviceFacts returns what rollouts know about a device (empty facts for a
// device that reported nothing and has no labels).
func (s *Service) DeviceFacts(ctx context.Context, deviceID string) (*DeviceFacts, error) {
	f, err := s.cfg.Repo.GetDeviceFacts(ctx, deviceID)
	if errors.Is(err, ErrNotFound) {
		return &DeviceFacts{DeviceID: deviceID, Labels: map[string]string{}}, nil
	}
	if err != nil {
		return nil, err
	}
	if f.Labels == nil {
		f.Labels = map[string]string{}
	}
	return f, nil
}

// SetLabels replaces a device's labels. Rollouts started afterwards select
// on them.
func (s *Service) SetLabels(ctx context.Context, deviceID string, labels map[string]string) (*DeviceFacts, error) {
	if err := validLabels(labels); err != nil {
		return nil, err
	}
	var out DeviceFacts
	err := s.cfg.Repo.UpdateDeviceFacts(ctx, deviceID, func(f *DeviceFacts) error {
		f.Labels, f.UpdatedAt = maps.Clone(labels), s.cfg.Clock.Now().UTC()
		if f.Labels == nil {
			f.Labels = map[string]string{}
		}
		out = *f
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("device labels set", slog.String("device_id", deviceID), slog.Int("labels", len(labels)))
	return &out, nil
}
