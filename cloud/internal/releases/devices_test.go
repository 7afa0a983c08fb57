package releases

import (
	"context"
	"testing"
	"time"

	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/store/bolt"
)

func TestStoreDevices(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, id := range []string{"kiosk-1", "kiosk-2", "kiosk-3"} {
		hash := []byte{byte(i), 1, 2, 3}
		if err := st.CreateEnrollment(ctx, &store.Enrollment{Hash: hash, DeviceID: id, TenantID: "ten_a", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			continue // never enrolled
		}
		_, err := st.ConsumeEnrollment(ctx, hash, t0, func(e *store.Enrollment) (*store.Device, error) {
			now := t0
			return &store.Device{ID: e.DeviceID, TenantID: e.TenantID, CreatedAt: now, EnrolledAt: &now, FirmwareVersion: "1.1.0"}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.UpdateDevice(ctx, "kiosk-2", func(d *store.Device) error { r := t0; d.RevokedAt = &r; return nil }); err != nil {
		t.Fatal(err)
	}
	got, err := StoreDevices{Store: st}.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "kiosk-1" || got[0].FirmwareVersion != "1.1.0" || got[0].Labels["tenant"] != "ten_a" {
		t.Fatalf("devices %+v", got)
	}
	// Unknown board and arch are included by a rollout.
	e := newEnv(t, fleet(got))
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: e.release(t).ID, Labels: map[string]string{"tenant": "ten_a"}})
	if err != nil || len(ro.Devices) != 1 {
		t.Fatalf("rollout over the store's devices: %v %v", ro, err)
	}
}

// registry is a device registry of enrolled devices of tenant ten_a.
type registry []string

func (r registry) ListDevices(context.Context, string) ([]*store.Device, error) {
	var out []*store.Device
	for _, id := range r {
		now := t0
		out = append(out, &store.Device{ID: id, TenantID: "ten_a", CreatedAt: now, EnrolledAt: &now})
	}
	return out, nil
}
