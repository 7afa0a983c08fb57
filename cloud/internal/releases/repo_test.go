package releases

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"livegate.dev/cloud/internal/pgtest"
	"livegate.dev/ota/artifact"
)

// testRepo is the suite every Repo passes.
func testRepo(t *testing.T, open func(t *testing.T) Repo) {
	ctx := context.Background()
	rel := func(id string, at time.Time) *Release {
		return &Release{ID: id, UploadedAt: at, Size: 10, SHA256: "ab",
			Manifest: artifact.Manifest{Format: 1, Kind: artifact.KindFirmware, Version: "1.2.0", Boards: []string{"sim"}, Archs: []string{"amd64"}, Created: at}}
	}
	t.Run("releases", func(t *testing.T) {
		r := open(t)
		if err := r.CreateRelease(ctx, rel("rel_a", t0)); err != nil {
			t.Fatal(err)
		}
		if err := r.CreateRelease(ctx, rel("rel_b", t0.Add(time.Second))); err != nil {
			t.Fatal(err)
		}
		if err := r.CreateRelease(ctx, rel("rel_a", t0)); !errors.Is(err, ErrExists) {
			t.Fatalf("duplicate: %v", err)
		}
		got, err := r.GetRelease(ctx, "rel_a")
		if err != nil || got.Manifest.Version != "1.2.0" || !got.UploadedAt.Equal(t0) || got.Manifest.Boards[0] != "sim" {
			t.Fatalf("get %+v %v", got, err)
		}
		if _, err := r.GetRelease(ctx, "rel_x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
		list, err := r.ListReleases(ctx)
		if err != nil || len(list) != 2 || list[0].ID != "rel_b" {
			t.Fatalf("list %v %v", list, err)
		}
		if err := r.DeleteRelease(ctx, "rel_a"); err != nil {
			t.Fatal(err)
		}
		if err := r.DeleteRelease(ctx, "rel_a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
	})
	t.Run("rollouts", func(t *testing.T) {
		r := open(t)
		ro := &Rollout{ID: "rol_1", ReleaseID: "rel_a", Stages: []float64{10, 100}, State: RolloutRunning, CreatedAt: t0,
			Devices: map[string]*Progress{"d1": {Bucket: 5, Stage: 0, State: StatePending}}}
		if err := r.CreateRollout(ctx, ro); err != nil {
			t.Fatal(err)
		}
		if err := r.CreateRollout(ctx, ro); !errors.Is(err, ErrExists) {
			t.Fatalf("duplicate: %v", err)
		}
		if err := r.CreateRollout(ctx, &Rollout{ID: "rol_2", CreatedAt: t0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		// Concurrent updates do not lose each other's writes.
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := r.UpdateRollout(ctx, "rol_1", func(ro *Rollout) error {
					ro.Devices[fmt.Sprintf("n%d", i)] = &Progress{State: StateNotified}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		boom := errors.New("boom")
		if err := r.UpdateRollout(ctx, "rol_1", func(ro *Rollout) error { ro.State = RolloutStopped; return boom }); !errors.Is(err, boom) {
			t.Fatalf("update error: %v", err)
		}
		if err := r.UpdateRollout(ctx, "rol_x", func(*Rollout) error { return nil }); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update missing: %v", err)
		}
		got, err := r.GetRollout(ctx, "rol_1")
		if err != nil || len(got.Devices) != 9 || got.State != RolloutRunning || got.Devices["d1"].Bucket != 5 || got.Stages[0] != 10 {
			t.Fatalf("after updates: %+v %v", got, err)
		}
		list, err := r.ListRollouts(ctx)
		if err != nil || len(list) != 2 || list[0].ID != "rol_2" {
			t.Fatalf("list %v %v", list, err)
		}
		if _, err := r.GetRollout(ctx, "rol_x"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
	})
	t.Run("device facts", func(t *testing.T) {
		r := open(t)
		if _, err := r.GetDeviceFacts(ctx, "k1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
		if err := r.UpdateDeviceFacts(ctx, "k2", func(f *DeviceFacts) error { f.Board = "rpi5"; return nil }); err != nil {
			t.Fatal(err)
		}
		// Concurrent updates of one device do not lose each other's writes.
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := r.UpdateDeviceFacts(ctx, "k1", func(f *DeviceFacts) error {
					if f.Labels == nil {
						f.Labels = map[string]string{}
					}
					f.Labels[fmt.Sprintf("l%d", i)] = "x"
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		boom := errors.New("boom")
		if err := r.UpdateDeviceFacts(ctx, "k2", func(f *DeviceFacts) error { f.Board = "sim"; return boom }); !errors.Is(err, boom) {
			t.Fatalf("update error: %v", err)
		}
		got, err := r.GetDeviceFacts(ctx, "k1")
		if err != nil || got.DeviceID != "k1" || len(got.Labels) != 8 {
			t.Fatalf("k1 %+v %v", got, err)
		}
		list, err := r.ListDeviceFacts(ctx)
		if err != nil || len(list) != 2 || list[0].DeviceID != "k1" || list[1].Board != "rpi5" {
			t.Fatalf("list %+v %v", list, err)
		}
	})
	t.Run("close", func(t *testing.T) {
		r := open(t)
		if err := r.CreateRelease(ctx, rel("rel_p", t0)); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.GetRelease(ctx, "rel_p"); err == nil {
			t.Fatal("read after close succeeded")
		}
	})
}

func TestRepoBolt(t *testing.T) {
	testRepo(t, func(t *testing.T) Repo {
		r, err := OpenBolt(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	})
}

func TestRepoPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	n := 0
	testRepo(t, func(t *testing.T) Repo {
		n++
		dsn, err := srv.NewDatabase(fmt.Sprintf("releases%d", n))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		r, err := OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		// A second open (another replica) migrates nothing and works.
		r2, err := OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		r2.Close()
		t.Cleanup(func() { r.Close() })
		return r
	})
}
