package outbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func open(t *testing.T, path string, o Options) *Outbox {
	t.Helper()
	ob, err := Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob
}

func TestOrderAckAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	ob := open(t, path, Options{})
	for i := range 10 {
		if _, err := ob.Append(fmt.Sprintf("m%02d", i), t0, []byte("payload")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ob.Append("m03", t0, []byte("x")); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate append: %v", err)
	}
	if n, err := ob.Delete("m00", "m05", "m05", "nope"); err != nil || n != 2 {
		t.Fatalf("Delete = %d, %v", n, err)
	}
	if n, _ := ob.Delete("m00"); n != 0 {
		t.Fatalf("second ack deleted %d", n)
	}
	ob.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v %v", fi.Mode(), err)
	}
	ob = open(t, path, Options{})
	if s := ob.Stats(); s.Entries != 8 || s.Bytes != 8*7 {
		t.Fatalf("stats after reopen: %+v", s)
	}
	// Has: queued entries, across the reopen; not acknowledged ones.
	for id, want := range map[string]bool{"m01": true, "m09": true, "m00": false, "m05": false, "nope": false} {
		if got, err := ob.Has(id); err != nil || got != want {
			t.Fatalf("Has(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
	var got []string
	var seq uint64
	for {
		es, err := ob.After(seq, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			got = append(got, e.ID)
			seq = e.Seq
		}
	}
	want := "[m01 m02 m03 m04 m06 m07 m08 m09]"
	if fmt.Sprint(got) != want {
		t.Fatalf("drain order %v, want %s", got, want)
	}
	// New appends keep sequencing after the old ones.
	if s, err := ob.Append("m10", t0, nil); err != nil || s <= seq {
		t.Fatalf("append after reopen: seq %d (last %d), %v", s, seq, err)
	}
}

func TestFullRefusesAndNeverEvicts(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		size int
		fits int
	}{
		{"count", Options{MaxEntries: 3}, 10, 3},
		{"bytes", Options{MaxBytes: 25}, 10, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ob := open(t, filepath.Join(t.TempDir(), "o.db"), tt.opts)
			for i := range tt.fits {
				if _, err := ob.Append(fmt.Sprint(i), t0, make([]byte, tt.size)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ob.Append("over", t0, make([]byte, tt.size)); !errors.Is(err, ErrFull) {
				t.Fatalf("append over the bound: %v", err)
			}
			es, _ := ob.After(0, 100)
			if len(es) != tt.fits || es[0].ID != "0" {
				t.Fatalf("entries after refusal: %d (first %v)", len(es), es)
			}
			if _, err := ob.Delete("0"); err != nil {
				t.Fatal(err)
			}
			if _, err := ob.Append("over", t0, make([]byte, tt.size)); err != nil {
				t.Fatalf("append after an ack freed space: %v", err)
			}
		})
	}
}

func TestAppendedWakesOnDurableAppendOnly(t *testing.T) {
	ob := open(t, filepath.Join(t.TempDir(), "o.db"), Options{MaxBytes: 1})
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	first := ob.Appended()
	if closed(first) {
		t.Fatal("Appended closed before any append")
	}
	if _, err := ob.Append("m1", t0, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if !closed(first) {
		t.Fatal("Append did not close the channel taken before it")
	}
	second := ob.Appended()
	if closed(second) {
		t.Fatal("the channel after an append is already closed")
	}
	tests := []struct {
		name    string
		id      string
		payload string
		want    error
	}{
		{"duplicate", "m1", "", ErrExists},
		{"full", "m2", "x", ErrFull},
	}
	for _, tt := range tests {
		if _, err := ob.Append(tt.id, t0, []byte(tt.payload)); !errors.Is(err, tt.want) {
			t.Fatalf("%s: append = %v, want %v", tt.name, err, tt.want)
		}
		if closed(second) {
			t.Fatalf("%s: a refused append woke the sender", tt.name)
		}
	}
}
