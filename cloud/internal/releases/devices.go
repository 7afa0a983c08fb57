package releases

import (
	"context"
	"fmt"

	"livegate.dev/cloud/internal/store"
)

// StoreDevices lists the fleet from the main store's device registry: every
// enrolled, unrevoked device, with its reported firmware version and the
// label "tenant" = its tenant id. The registry does not record board or
// labels: with Facts set they come from there (the board the device
// reports in its telemetry, the labels an operator set). Devices do not
// report their architecture, and devices without a known board are
// included by a rollout: they check the manifest themselves.
type StoreDevices struct {
	Store interface {
		ListDevices(ctx context.Context, tenantID string) ([]*store.Device, error)
	}
	// Facts holds boards, architectures and labels. Optional (a Repo
	// satisfies it).
	Facts interface {
		ListDeviceFacts(ctx context.Context) ([]*DeviceFacts, error)
	}
}

var _ Devices = StoreDevices{}

// List implements Devices.
func (s StoreDevices) List(ctx context.Context) ([]Device, error) {
	ds, err := s.Store.ListDevices(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("releases: list devices: %w", err)
	}
	facts := map[string]*DeviceFacts{}
	if s.Facts != nil {
		fs, err := s.Facts.ListDeviceFacts(ctx)
		if err != nil {
			return nil, fmt.Errorf("releases: list device facts: %w", err)
		}
		for _, f := range fs {
			facts[f.DeviceID] = f
		}
	}
	var out []Device
	for _, d := range ds {
		if d.Revoked() || d.EnrolledAt == nil {
			continue
		}
		dev := Device{ID: d.ID, FirmwareVersion: d.FirmwareVersion, Labels: map[string]string{}}
		if f := facts[d.ID]; f != nil {
			dev.Board = f.Board
			for k, v := range f.Labels {
				dev.Labels[k] = v
			}
		}
		dev.Labels["tenant"] = d.TenantID // reserved: never set by an operator
		out = append(out, dev)
	}
	return out, nil
}
