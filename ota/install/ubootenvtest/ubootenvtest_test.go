package ubootenvtest

import (
	"os"
	"path/filepath"
	"testing"
)

func newEnv(t *testing.T) *Env {
	dir := t.TempDir()
	return &Env{Paths: [2]string{filepath.Join(dir, "env0"), filepath.Join(dir, "env1")}, Size: Size}
}

// A copy cut short while saved fails its CRC; the other copy stays current.
func TestTornSaveKeepsOldCopy(t *testing.T) {
	e := newEnv(t)
	if err := e.Save(map[string]string{"x": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Save(map[string]string{"x": "2"}); err != nil {
		t.Fatal(err)
	}
	cur, _, _, err := e.current()
	if err != nil {
		t.Fatal(err)
	}
	// The next save goes to the other copy; tear it halfway.
	if err := e.Save(map[string]string{"x": "3"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(e.Paths[1-cur])
	if err != nil {
		t.Fatal(err)
	}
	for i := Size / 2; i < Size; i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(e.Paths[1-cur], b, 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := e.Load()
	if err != nil || v["x"] != "2" {
		t.Fatalf("after a torn save: %v, %v; want x=2", v, err)
	}
}

// The flag byte wraps: 0 after 255 is newer.
func TestFlagWrap(t *testing.T) {
	e := newEnv(t)
	for i := range 300 {
		if err := e.Set(map[string]string{"n": string(rune('a' + i%26))}); err != nil {
			t.Fatal(err)
		}
		v, err := e.Load()
		if err != nil || v["n"] != string(rune('a'+i%26)) {
			t.Fatalf("save %d: %v, %v", i, v, err)
		}
	}
}

func TestPowerOn(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want Boot
		slot string
	}{
		{"not on trial", map[string]string{VarSlot: "b", VarUpgrade: "0", VarBootCount: "0"}, Boot{Slot: "b"}, "b"},
		{"first trial boot", map[string]string{VarSlot: "b", VarUpgrade: "1", VarBootCount: "0", VarBootLimit: "3"}, Boot{Slot: "b", Counted: true, Count: 1}, "b"},
		{"last trial boot", map[string]string{VarSlot: "b", VarUpgrade: "1", VarBootCount: "2", VarBootLimit: "3"}, Boot{Slot: "b", Counted: true, Count: 3}, "b"},
		{"limit passed", map[string]string{VarSlot: "b", VarUpgrade: "1", VarBootCount: "3", VarBootLimit: "3"}, Boot{Slot: "a", Counted: true, FellBack: true, Count: 4}, "a"},
		{"limit passed on a", map[string]string{VarSlot: "a", VarUpgrade: "1", VarBootCount: "1", VarBootLimit: "1"}, Boot{Slot: "b", Counted: true, FellBack: true, Count: 2}, "b"},
		{"unset slot boots a", map[string]string{}, Boot{Slot: "a"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if err := e.Save(tt.vars); err != nil {
				t.Fatal(err)
			}
			got, err := PowerOn(e)
			if err != nil || got != tt.want {
				t.Fatalf("PowerOn = %+v, %v; want %+v", got, err, tt.want)
			}
			v, _ := e.Load()
			if v[VarSlot] != tt.slot || (tt.want.FellBack && v[VarUpgrade] != "0") {
				t.Fatalf("env after power-on: %v", v)
			}
		})
	}
}
