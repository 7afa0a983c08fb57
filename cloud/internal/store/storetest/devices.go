package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"livegate.dev/cloud/internal/core"
	"livegate.dev/cloud/internal/store"
)

func enrollment(device, token string) *store.Enrollment {
	return &store.Enrollment{Hash: core.HashSecret(token), DeviceID: device, TenantID: "ten_1",
		WebhookURL: "https://hooks.example.com/x", CreatedAt: T0, ExpiresAt: T0.Add(time.Hour)}
}

func deviceFrom(e *store.Enrollment) (*store.Device, error) {
	now := T0
	return &store.Device{ID: e.DeviceID, TenantID: e.TenantID, WebhookURL: e.WebhookURL, CreatedAt: T0, EnrolledAt: &now}, nil
}

func testEnrollment(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.CreateEnrollment(ctx, enrollment("kiosk-1", "tok1")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEnrollment(ctx, enrollment("kiosk-x", "tok1")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("same token hash: %v", err)
	}
	if err := s.CreateEnrollment(ctx, enrollment("kiosk-2", "tok2")); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEnrollment(ctx, enrollment("kiosk-3", "tok3")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
		now   time.Time
		fn    func(*store.Enrollment) (*store.Device, error)
		want  error
	}{
		{"unknown", "nope", T0, deviceFrom, store.ErrNotFound},
		{"expired", "tok2", T0.Add(time.Hour), deviceFrom, store.ErrNotFound},
		{"fn error writes nothing", "tok1", T0, func(*store.Enrollment) (*store.Device, error) { return nil, errBoom }, errBoom},
		{"ok", "tok1", T0.Add(time.Minute), deviceFrom, nil},
		{"used", "tok1", T0.Add(2 * time.Minute), deviceFrom, store.ErrNotFound},
	}
	for _, tt := range tests {
		d, err := s.ConsumeEnrollment(ctx, core.HashSecret(tt.token), tt.now, tt.fn)
		if !errors.Is(err, tt.want) || (tt.want == nil && (d == nil || d.ID != "kiosk-1")) {
			t.Fatalf("%s: ConsumeEnrollment = %+v, %v; want %v", tt.name, d, err, tt.want)
		}
	}
	if err := s.CreateEnrollment(ctx, enrollment("kiosk-1", "tok4")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("enrollment for an enrolled device id: %v", err)
	}
	// Two concurrent exchanges of one token: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ConsumeEnrollment(ctx, core.HashSecret("tok3"), T0, deviceFrom); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d concurrent exchanges of one token succeeded", wins.Load())
	}
}

var errBoom = errors.New("boom")

func testDevices(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, id := range []string{"k-b", "k-a", "k-c"} {
		e := enrollment(id, "t"+id)
		if i == 2 {
			e.TenantID = "ten_2"
		}
		if err := s.CreateEnrollment(ctx, e); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsumeEnrollment(ctx, e.Hash, T0, deviceFrom); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.GetDevice(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetDevice(nope): %v", err)
	}
	if _, err := s.UpdateDevice(ctx, "nope", func(*store.Device) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateDevice(nope): %v", err)
	}
	seen := T0.Add(time.Minute)
	d, err := s.UpdateDevice(ctx, "k-a", func(d *store.Device) error {
		d.Status, d.LastSeen, d.OutboxDepth, d.FirmwareVersion = "online", &seen, 7, "1.2.3"
		return nil
	})
	if err != nil || d.OutboxDepth != 7 {
		t.Fatalf("UpdateDevice: %+v %v", d, err)
	}
	if _, err := s.UpdateDevice(ctx, "k-a", func(d *store.Device) error { d.TenantID = "ten_x"; return nil }); err == nil {
		t.Fatal("tenant change accepted")
	}
	if _, err := s.UpdateDevice(ctx, "k-a", func(d *store.Device) error { d.OutboxDepth = 99; return errBoom }); !errors.Is(err, errBoom) {
		t.Fatalf("fn error: %v", err)
	}
	got, err := s.GetDevice(ctx, "k-a")
	if err != nil || got.Status != "online" || got.OutboxDepth != 7 || !got.LastSeen.Equal(seen) || got.FirmwareVersion != "1.2.3" {
		t.Fatalf("GetDevice after updates: %+v %v", got, err)
	}
	tests := []struct {
		tenant string
		want   []string
	}{
		{"", []string{"k-a", "k-b", "k-c"}},
		{"ten_1", []string{"k-a", "k-b"}},
		{"ten_9", nil},
	}
	for _, tt := range tests {
		ds, err := s.ListDevices(ctx, tt.tenant)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		if len(ids) != len(tt.want) || (len(ids) > 0 && ids[0] != tt.want[0]) || (len(ids) > 0 && ids[len(ids)-1] != tt.want[len(tt.want)-1]) {
			t.Fatalf("ListDevices(%q) = %v, want %v", tt.tenant, ids, tt.want)
		}
	}
}
