// Package layouttest is the conformance suite every install.Layout must
// pass: the sim layout here, and a board's partition and bootloader layout
// when one is written. Call Run from the implementation's tests, and
// RunTrees as well for a layout that holds models packs.
package layouttest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
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

// RunTrees checks, on top of Run, a layout that unpacks models packs (tree
// payloads, install.TreeIndex): a pack is unpacked under SlotPath and
// verifies, a new pack replaces the old files, and a pack that is not a
// safe tree (here: a path traversal entry) fails WriteSlot with
// install.ErrBadTree, leaving that slot invalid, nothing outside it, and
// the other slot intact.
func RunTrees(t *testing.T, newLayout func(t *testing.T) install.Layout) {
	t.Run("tree payload unpacked and verified", func(t *testing.T) {
		l := newLayout(t)
		ctx := context.Background()
		p1, m1 := tree(t, "1.0.0", map[string]string{"a.onnx": "model a 1", "b.onnx": "model b 1"})
		if err := l.WriteSlot(ctx, install.SlotA, m1, bytes.NewReader(p1)); err != nil {
			t.Fatal(err)
		}
		p2, m2 := tree(t, "1.1.0", map[string]string{"a.onnx": "model a 2"})
		if err := l.WriteSlot(ctx, install.SlotB, m2, bytes.NewReader(p2)); err != nil {
			t.Fatal(err)
		}
		p3, m3 := tree(t, "1.2.0", map[string]string{"c.onnx": "model c 3"})
		if err := l.WriteSlot(ctx, install.SlotA, m3, bytes.NewReader(p3)); err != nil {
			t.Fatal(err)
		}
		for s, want := range map[install.Slot]map[string]string{
			install.SlotA: {"c.onnx": "model c 3", "a.onnx": "", "b.onnx": ""},
			install.SlotB: {"a.onnx": "model a 2"},
		} {
			if _, err := l.VerifySlot(s); err != nil {
				t.Fatalf("VerifySlot(%s): %v", s, err)
			}
			for name, content := range want {
				b, err := os.ReadFile(filepath.Join(l.SlotPath(s), name))
				if content == "" {
					if err == nil {
						t.Errorf("slot %s still holds %s of an older pack", s, name)
					}
					continue
				}
				if err != nil || string(b) != content {
					t.Errorf("slot %s: %s = %q, %v; want %q", s, name, b, err, content)
				}
			}
		}
	})

	t.Run("unsafe tree refused", func(t *testing.T) {
		l := newLayout(t)
		ctx := context.Background()
		p1, m1 := tree(t, "1.0.0", map[string]string{"a.onnx": "model a 1"})
		if err := l.WriteSlot(ctx, install.SlotA, m1, bytes.NewReader(p1)); err != nil {
			t.Fatal(err)
		}
		if err := l.WriteSlot(ctx, install.SlotB, m1, bytes.NewReader(p1)); err != nil {
			t.Fatal(err)
		}
		evil, me := tree(t, "1.1.0", map[string]string{"a.onnx": "model a 2", "../../evil": "x"})
		if err := l.WriteSlot(ctx, install.SlotB, me, bytes.NewReader(evil)); !errors.Is(err, install.ErrBadTree) {
			t.Fatalf("WriteSlot of a traversal pack: %v, want ErrBadTree", err)
		}
		if _, err := l.VerifySlot(install.SlotB); !errors.Is(err, install.ErrSlotInvalid) {
			t.Errorf("slot B after a refused pack: %v, want ErrSlotInvalid", err)
		}
		if _, err := os.Stat(filepath.Join(l.SlotPath(install.SlotB), "a.onnx")); err == nil {
			t.Error("a file of the refused pack was unpacked")
		}
		if _, err := os.Stat(filepath.Join(l.SlotPath(install.SlotB), "..", "..", "evil")); err == nil {
			t.Error("a file escaped the slot")
		}
		if m, err := l.VerifySlot(install.SlotA); err != nil || m.Version != "1.0.0" {
			t.Errorf("slot A after a refused pack in B: %v, %v", m, err)
		}
	})
}

// tree is a signed-size models pack with files, written without the
// install package's checks (so that unsafe names can be made).
func tree(t *testing.T, version string, files map[string]string) ([]byte, *artifact.Manifest) {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	ix := install.TreeIndex{Format: install.TreeFormat}
	for _, n := range names {
		sum := sha256.Sum256([]byte(files[n]))
		ix.Files = append(ix.Files, install.TreeFile{Name: n, Size: int64(len(files[n])), SHA256: hex.EncodeToString(sum[:])})
	}
	ib, err := json.Marshal(ix)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	put := func(name string, body []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	put(install.TreeIndexName, ib)
	for _, n := range names {
		put(n, []byte(files[n]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	_, m := image(version, 1)
	sum := sha256.Sum256(b.Bytes())
	m.Kind = artifact.KindModels
	m.PayloadSize, m.PayloadSHA256 = int64(b.Len()), hex.EncodeToString(sum[:])
	return b.Bytes(), m
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
