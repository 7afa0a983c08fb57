package releases

import (
	"context"
	"fmt"

	"livegate.dev/cloud/internal/store"
)

// StoreDevices lists the fleet from the main store's device registry: every
// enrolled, unrevoked device, with its reported firmware version and the
// label "tenant" = its tenant id. The registry does not record board or
// architecture yet, so they are left unknown (such devices are included and
// check the manifest themselves).
type StoreDevices struct {
	Store interface {
		ListDevices(ctx context.Context, tenantID string) ([]*store.Device, error)
	}
}

var _ Devices = StoreDevices{}

// List implements Devices.
func (s StoreDevices) List(ctx context.Context) ([]Device, error) {
	ds, err := s.Store.ListDevices(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("releases: list devices: %w", err)
	}
	var out []Device
	for _, d := range ds {
		if d.Revoked() || d.EnrolledAt == nil {
			continue
		}
		out = append(out, Device{ID: d.ID, FirmwareVersion: d.FirmwareVersion, Labels: map[string]string{"tenant": d.TenantID}})
	}
	return out, nil
}
