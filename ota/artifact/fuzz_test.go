package artifact

import (
	"bytes"
	"io"
	"testing"
)

// FuzzOpen feeds arbitrary bytes (seeded with a real artifact and damaged
// copies of it) to Open: it must never panic, and whatever it accepts must
// be exactly the signed payload.
func FuzzOpen(f *testing.F) {
	k := newKeys(f)
	good := build(f, manifestFor(payload), payload, k.signing, nil)
	f.Add(good)
	f.Add(good[:1500])
	flipped := append([]byte(nil), good...)
	flipped[700] ^= 0x20
	f.Add(flipped)
	f.Add([]byte{})
	tr := k.trust(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), tr, device)
		if err != nil {
			if Reason(err) == "error" {
				t.Fatalf("refusal without a reason code: %v", err)
			}
			return
		}
		got, err := io.ReadAll(r)
		if err == nil && !bytes.Equal(got, payload) {
			t.Fatal("accepted a payload that is not the signed one")
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.2.3", "1.0.0-rc.1+b", "0.0.0", "01.2.3", "1..2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		if v.String() != s {
			t.Fatalf("round trip %q -> %q", s, v.String())
		}
		if v.Compare(v) != 0 {
			t.Fatalf("%q not equal to itself", s)
		}
	})
}
