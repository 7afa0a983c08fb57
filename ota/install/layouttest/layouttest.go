// Package layouttest is the conformance suite every install.Layout must
// pass: the sim layout here, and a board's partition and bootloader layout
// when one is written. Call Run from the implementation's tests.
package layouttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"time"

	"livegate.dev/ota/artifact"
	"livegate.dev/ota/install"
)

// Run checks the Layout contract on fresh layouts made by newLayout.
func Run(t *testing.T, newLayout func(t *testing.T) install.Layout) {
	t.Run("unprovisioned", func(t *testing.T) {
		l := newLayout(t)
		if _, err := l.ReadEnv(); !errors.Is(err, install.ErrNotProvisioned) {
			t.Fatalf("ReadEnv on a new layout: %v, want ErrNotProvisioned", err)
		}
		for _, s := range []install.Slot{install.SlotA, install.SlotB} {
			if _, err := l.VerifySlot(s); !errors.Is(err, install.ErrSlotInvalid) {
				t.Errorf("VerifySlot(%s) on a new layout: %v, want ErrSlotInvalid", s, err)
			}
		}
		if l.SlotPath(install.SlotA) == l.SlotPath(install.SlotB) {
			t.Error("both slots have the same path")
		}
	})

	t.Run("env round trip", func(t *testing.T) {
		l := newLayout(t)
		envs := []install.Env{
			{Format: install.EnvFormat, Generation: 1, Active: install.SlotA, Slots: map[install.Slot]install.SlotInfo{
				install.SlotA: {Version: "1.0.0", State: install.StateGood}, install.SlotB: {State: install.StateEmpty}}},
			{Format: install.EnvFormat, Generation: 2, Active: install.SlotB, Fallback: install.SlotA, Trial: true, Attempts: 2,
				Slots: map[install.Slot]install.SlotInfo{
					install.SlotA: {Version: "1.0.0", State: install.StateGood}, install.SlotB: {Version: "1.1.0", State: install.StateTrial}},
				Rollback: &install.Rollback{Version: "0.9.0", Reason: "watchdog"}},
		}
		for _, e := range envs {
			if err := l.WriteEnv(e); err != nil {
				t.Fatal(err)
			}
			got, err := l.ReadEnv()
			if err != nil {
				t.Fatal(err)
			}
			if !sameEnv(got, e) {
				t.Fatalf("ReadEnv = %+v, want %+v", got, e)
			}
		}
	})

	t.Run("invalid env refused", func(t *testing.T) {
		l := newLayout(t)
		bad := []install.Env{
			{Format: install.EnvFormat, Active: "c", Slots: map[install.Slot]install.SlotInfo{install.SlotA: {}, install.SlotB: {}}},
			{Format: install.EnvFormat, Active: install.SlotA, Slots: map[install.Slot]install.SlotInfo{install.SlotA: {}}},
			{Format: 99, Active: install.SlotA, Slots: map[install.Slot]install.SlotInfo{install.SlotA: {}, install.SlotB: {}}},
		}
		for i, e := range bad {
			if err := l.WriteEnv(e); err == nil {
				t.Errorf("invalid env %d accepted", i)
			}
		}
		if _, err := l.ReadEnv(); !errors.Is(err, install.ErrNotProvisioned) {
			t.Errorf("a refused write left an env behind: %v", err)
		}
	})

	t.Run("slot write and verify", func(t *testing.T) {
		l := newLayout(t)
		ctx := context.Background()
		a, ma := image("1.0.0", 70_000)
		b, mb := image("1.1.0", 50_000)
		if err := l.WriteSlot(ctx, install.SlotA, ma, bytes.NewReader(a)); err != nil {
			t.Fatal(err)
		}
		if err := l.WriteSlot(ctx, install.SlotB, mb, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		for s, want := range map[install.Slot]string{install.SlotA: "1.0.0", install.SlotB: "1.1.0"} {
			m, err := l.VerifySlot(s)
			if err != nil || m.Version != want {
				t.Fatalf("VerifySlot(%s) = %v, %v; want %s", s, m, err, want)
			}
		}
		// Overwriting with a smaller image leaves no trace of the old one.
		c, mc := image("1.2.0", 1_000)
		if err := l.WriteSlot(ctx, install.SlotA, mc, bytes.NewReader(c)); err != nil {
			t.Fatal(err)
		}
		if m, err := l.VerifySlot(install.SlotA); err != nil || m.Version != "1.2.0" {
			t.Fatalf("after overwrite: %v, %v", m, err)
		}
	})

	t.Run("failed write leaves the slot invalid and the other intact", func(t *testing.T) {
		l := newLayout(t)
		ctx := context.Background()
		a, ma := image("1.0.0", 40_000)
		b, mb := image("1.1.0", 40_000)
		if err := l.WriteSlot(ctx, install.SlotA, ma, bytes.NewReader(a)); err != nil {
			t.Fatal(err)
		}
		if err := l.WriteSlot(ctx, install.SlotB, mb, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("payload sha256 mismatch")
		n, mn := image("1.2.0", 40_000)
		err := l.WriteSlot(ctx, install.SlotB, mn, io.MultiReader(bytes.NewReader(n[:20_000]), errReader{boom}))
		if !errors.Is(err, boom) {
			t.Fatalf("WriteSlot with a failing reader: %v, want the reader's error", err)
		}
		if _, err := l.VerifySlot(install.SlotB); !errors.Is(err, install.ErrSlotInvalid) {
			t.Errorf("slot B after a failed write: %v, want ErrSlotInvalid", err)
		}
		if m, err := l.VerifySlot(install.SlotA); err != nil || m.Version != "1.0.0" {
			t.Errorf("slot A after a failed write to B: %v, %v", m, err)
		}
		// A cancelled context stops the write too.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := l.WriteSlot(cctx, install.SlotB, mn, bytes.NewReader(n)); !errors.Is(err, context.Canceled) {
			t.Errorf("WriteSlot with a cancelled context: %v", err)
		}
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func image(version string, n int) ([]byte, *artifact.Manifest) {
	b := bytes.Repeat([]byte(version+" "), n/len(version)+1)[:n]
	sum := sha256.Sum256(b)
	return b, &artifact.Manifest{
		Format: artifact.ManifestFormat, Kind: artifact.KindFirmware, Version: version,
		Boards: []string{"any"}, Archs: []string{"any"}, MinVersion: "0.0.0",
		PayloadSize: int64(n), PayloadSHA256: hex.EncodeToString(sum[:]),
		Created: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	}
}

func sameEnv(a, b install.Env) bool {
	if a.Format != b.Format || a.Generation != b.Generation || a.Active != b.Active || a.Fallback != b.Fallback ||
		a.Trial != b.Trial || a.Attempts != b.Attempts || len(a.Slots) != len(b.Slots) {
		return false
	}
	for k, v := range a.Slots {
		if b.Slots[k] != v {
			return false
		}
	}
	if (a.Rollback == nil) != (b.Rollback == nil) {
		return false
	}
	return a.Rollback == nil || *a.Rollback == *b.Rollback
}
