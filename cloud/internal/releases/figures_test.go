package releases

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"livegate.dev/cloud/internal/clock"
	"livegate.dev/cloud/internal/pgtest"
	"livegate.dev/proto"
)

// TestDownloadFigures: the download figures in the devices' progress
// answers are kept per device (latest first, never backwards), survive the
// device moving on, reset the report timeout, and show in the rollout view;
// on bbolt and on PostgreSQL.
func TestDownloadFigures(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) Repo
	}{
		{"bbolt", func(t *testing.T) Repo {
			r, err := OpenBolt(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		}},
		{"postgres", func(t *testing.T) Repo {
			dsn, err := pgtest.Start(t).NewDatabase("figures")
			if err != nil {
				t.Fatal(err)
			}
			r, err := OpenPostgres(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { testDownloadFigures(t, st.open(t)) })
	}
}

func testDownloadFigures(t *testing.T, repo Repo) {
	ctx := context.Background()
	e := &env{clk: clock.NewFake(t0), keys: newKeys(t), notes: &recorder{fail: map[string]bool{}}, dir: t.TempDir()}
	var err error
	e.svc, err = New(Config{DataDir: e.dir, Repo: repo, Roots: []ed25519.PublicKey{e.keys.root.Public()},
		Notifier: e.notes, Devices: fleet{{ID: "k1"}, {ID: "k2"}, {ID: "k3"}, {ID: "k4"}, {ID: "k5"}}, Clock: e.clk, MaxArtifactSize: 1 << 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ro, err := e.svc.StartRollout(ctx, RolloutRequest{ReleaseID: e.release(t).ID, ReportTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	answer := func(dev, status, state string, done, total int64) *Progress {
		t.Helper()
		res, _ := json.Marshal(proto.UpdateResult{State: state, Rollout: ro.ID, BytesDone: done, BytesTotal: total,
			Detail: fmt.Sprintf("%d of %d", done, total)})
		e.svc.CommandResponse(ctx, dev, &proto.CommandResponse{Of: "cmd_x", Status: status, Result: res})
		got, err := e.svc.Rollout(ctx, ro.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.Devices[dev]
	}
	steps := []struct {
		name                 string
		dev, status, state   string
		done, total          int64
		wantState            string
		wantDone, wantTotal  int64
		wantUpdatedAdvancing bool
	}{
		{"accepted, no figure", "k1", "accepted", proto.UpdateDownloading, 0, 0, StateDownloading, 0, 0, true},
		{"first figure", "k1", "accepted", proto.UpdateDownloading, 100, 1000, StateDownloading, 100, 1000, true},
		{"more", "k1", "accepted", proto.UpdateDownloading, 400, 1000, StateDownloading, 400, 1000, true},
		{"redelivered older figure", "k1", "accepted", proto.UpdateDownloading, 100, 1000, StateDownloading, 400, 1000, false},
		{"repeated figure", "k1", "accepted", proto.UpdateDownloading, 400, 1000, StateDownloading, 400, 1000, false},
		{"nonsense figure", "k1", "accepted", proto.UpdateDownloading, 2000, 1000, StateDownloading, 400, 1000, false},
		{"complete", "k1", "accepted", proto.UpdateDownloading, 1000, 1000, StateDownloading, 1000, 1000, true},
		{"installing keeps the figure", "k1", "accepted", proto.UpdateInstalling, 0, 0, StateInstalling, 1000, 1000, true},
		{"late figure after installing", "k1", "accepted", proto.UpdateDownloading, 1000, 1000, StateInstalling, 1000, 1000, false},
		{"succeeded", "k1", "done", proto.UpdateSucceeded, 0, 0, StateSucceeded, 1000, 1000, true},
		{"first answer with a figure (resumed)", "k2", "accepted", proto.UpdateDownloading, 700, 1000, StateDownloading, 700, 1000, true},
		{"older device, no figures", "k3", "accepted", proto.UpdateDownloading, 0, 0, StateDownloading, 0, 0, true},
		{"k4 at 30 %", "k4", "accepted", proto.UpdateDownloading, 300, 1000, StateDownloading, 300, 1000, true},
		{"installing completes the figure", "k4", "accepted", proto.UpdateInstalling, 0, 0, StateInstalling, 1000, 1000, true},
		{"its last progress answer, late", "k4", "accepted", proto.UpdateDownloading, 900, 1000, StateInstalling, 1000, 1000, false},
		{"k5 at 40 %", "k5", "accepted", proto.UpdateDownloading, 400, 1000, StateDownloading, 400, 1000, true},
		{"a failed download keeps where it stopped", "k5", "failed", proto.UpdateFailed, 0, 0, StateFailed, 400, 1000, true},
	}
	for _, s := range steps {
		before, _ := e.svc.Rollout(ctx, ro.ID)
		prev := before.Devices[s.dev].UpdatedAt
		e.clk.Advance(time.Second)
		p := answer(s.dev, s.status, s.state, s.done, s.total)
		if p.State != s.wantState || p.BytesDone != s.wantDone || p.BytesTotal != s.wantTotal {
			t.Fatalf("%s: %s %d of %d, want %s %d of %d", s.name, p.State, p.BytesDone, p.BytesTotal, s.wantState, s.wantDone, s.wantTotal)
		}
		if advanced := p.UpdatedAt.After(prev); advanced != s.wantUpdatedAdvancing {
			t.Fatalf("%s: updated_at moved %v, want %v", s.name, advanced, s.wantUpdatedAdvancing)
		}
	}

	// A download that keeps making progress is not timed out; a silent one is.
	for range 3 {
		e.clk.Advance(40 * time.Second)
		p := answer("k2", "accepted", proto.UpdateDownloading, mustProgress(t, e, ro.ID, "k2")+100, 1000)
		if p.State != StateDownloading {
			t.Fatalf("k2 %s after progress", p.State)
		}
		if err := e.svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := e.svc.Rollout(ctx, ro.ID)
	if got.Devices["k2"].State != StateDownloading || got.Devices["k3"].State != StateFailed {
		t.Fatalf("after 120 s: k2 %+v, k3 %+v", got.Devices["k2"], got.Devices["k3"])
	}

	// The rollout view (GET /admin/v1/rollouts/{id}) carries the figures.
	b, err := json.Marshal(view(got, true))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(b), `"bytes_done":1000,"bytes_total":1000`) != 3 || !strings.Contains(string(b), `"bytes_done":400,"bytes_total":1000`) {
		t.Fatalf("view: %s", b)
	}
	var back RolloutView
	if err := json.Unmarshal(b, &back); err != nil || back.Devices["k2"].BytesDone != 1000 || back.Devices["k3"].BytesTotal != 0 {
		t.Fatalf("view decoded: %+v %v", back.Devices, err)
	}
}

func mustProgress(t *testing.T, e *env, rolloutID, dev string) int64 {
	t.Helper()
	ro, err := e.svc.Rollout(context.Background(), rolloutID)
	if err != nil {
		t.Fatal(err)
	}
	return ro.Devices[dev].BytesDone
}
