package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestSignFormat(t *testing.T) {
	at := time.Unix(1767225600, 0)
	body := []byte(`{"id":"evt_1","type":"session.completed","created":1767225600,"data":{}}`)
	secret := []byte("whsec_test")
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("1767225600." + string(body)))
	want := "t=1767225600,v1=" + hex.EncodeToString(m.Sum(nil))
	if got := Sign([][]byte{secret}, at, body); got != want {
		t.Fatalf("Sign = %s\nwant   %s", got, want)
	}
	if got := Sign(nil, at, body); got != "" {
		t.Fatalf("Sign without secrets = %q, want empty", got)
	}
	two := Sign([][]byte{[]byte("new"), []byte("old")}, at, body)
	if n := strings.Count(two, ",v1="); n != 2 {
		t.Fatalf("two secrets gave %d v1 values: %s", n, two)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1767225600, 0)
	body := []byte(`{"id":"evt_1"}`)
	secret := []byte("whsec_a")
	other := []byte("whsec_b")
	valid := Sign([][]byte{secret}, now, body)
	sigOf := func(s []byte, at time.Time, b []byte) string {
		return strings.TrimPrefix(Sign([][]byte{s}, at, b), fmt.Sprintf("t=%d,", at.Unix()))
	}
	cases := []struct {
		name   string
		header string
		body   []byte
		secret []byte
		now    time.Time
		want   error
	}{
		{"valid", valid, body, secret, now, nil},
		{"valid within tolerance (late)", valid, body, secret, now.Add(4 * time.Minute), nil},
		{"valid within tolerance (clock behind)", valid, body, secret, now.Add(-4 * time.Minute), nil},
		{"too old", valid, body, secret, now.Add(6 * time.Minute), ErrTimestampOutOfTolerance},
		{"from the future", valid, body, secret, now.Add(-6 * time.Minute), ErrTimestampOutOfTolerance},
		{"tampered body", valid, []byte(`{"id":"evt_2"}`), secret, now, ErrNoValidSignature},
		{"body with added whitespace", valid, []byte(`{"id": "evt_1"}`), secret, now, ErrNoValidSignature},
		{"wrong secret", valid, body, other, now, ErrNoValidSignature},
		{"second of two matches", Sign([][]byte{other, secret}, now, body), body, secret, now, nil},
		{"timestamp swapped", fmt.Sprintf("t=%d,", now.Unix()+1) + sigOf(secret, now, body), body, secret, now, ErrNoValidSignature},
		{"spaces around elements", strings.ReplaceAll(valid, ",", " , "), body, secret, now, nil},
		{"unknown scheme ignored", valid + ",v0=deadbeef,v2=xyz", body, secret, now, nil},
		{"order swapped", sigOf(secret, now, body) + fmt.Sprintf(",t=%d", now.Unix()), body, secret, now, nil},
		{"empty", "", body, secret, now, ErrInvalidHeader},
		{"no t", sigOf(secret, now, body), body, secret, now, ErrInvalidHeader},
		{"no v1", fmt.Sprintf("t=%d", now.Unix()), body, secret, now, ErrInvalidHeader},
		{"only other schemes", fmt.Sprintf("t=%d,v0=abcd", now.Unix()), body, secret, now, ErrInvalidHeader},
		{"two t", valid + ",t=1", body, secret, now, ErrInvalidHeader},
		{"t not a number", "t=abc,v1=" + strings.Repeat("0", 64), body, secret, now, ErrInvalidHeader},
		{"t negative", "t=-5,v1=" + strings.Repeat("0", 64), body, secret, now, ErrInvalidHeader},
		{"t with plus", "t=+5,v1=" + strings.Repeat("0", 64), body, secret, now, ErrInvalidHeader},
		{"v1 short", fmt.Sprintf("t=%d,v1=abcd", now.Unix()), body, secret, now, ErrInvalidHeader},
		{"v1 not hex", fmt.Sprintf("t=%d,v1=%s", now.Unix(), strings.Repeat("z", 64)), body, secret, now, ErrInvalidHeader},
		{"element without =", valid + ",junk", body, secret, now, ErrInvalidHeader},
		{"too many v1", fmt.Sprintf("t=%d", now.Unix()) + strings.Repeat(",v1="+strings.Repeat("0", 64), 9), body, secret, now, ErrInvalidHeader},
		{"too long", valid + strings.Repeat(",x=1", 2000), body, secret, now, ErrInvalidHeader},
	}
	for _, c := range cases {
		err := Verify(c.header, c.body, c.secret, 0, c.now)
		if c.want == nil && err != nil {
			t.Errorf("%s: Verify = %v, want nil", c.name, err)
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
	// A custom tolerance applies.
	if err := Verify(valid, body, secret, time.Hour, now.Add(59*time.Minute)); err != nil {
		t.Errorf("tolerance 1h, 59 min late: %v", err)
	}
}

// FuzzVerify feeds arbitrary headers and bodies to Verify: it must never
// panic, and must accept only a header carrying the right MAC.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1767225600, 0)
	secret := []byte("whsec_fuzz")
	f.Add(Sign([][]byte{secret}, now, []byte(`{}`)), []byte(`{}`))
	f.Add("t=1767225600,v1=00", []byte("x"))
	f.Add("t=,v1=", []byte(""))
	f.Add(",,,", []byte("{"))
	f.Add("t=1767225600,v1="+strings.Repeat("a", 64)+",v1="+strings.Repeat("b", 64), []byte(`{"a":1}`))
	f.Add("t=99999999999999999999,v1=", []byte{0xff})
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := Verify(header, body, secret, 0, now)
		if err != nil {
			if !errors.Is(err, ErrInvalidHeader) && !errors.Is(err, ErrNoValidSignature) && !errors.Is(err, ErrTimestampOutOfTolerance) {
				t.Fatalf("Verify(%q) returned an undocumented error: %v", header, err)
			}
			return
		}
		ts, sigs, perr := parseHeader(header)
		if perr != nil {
			t.Fatalf("Verify accepted %q that parseHeader rejects: %v", header, perr)
		}
		want := mac(secret, fmt.Sprint(ts), body)
		found := false
		for _, s := range sigs {
			found = found || hmac.Equal(s, want)
		}
		if !found {
			t.Fatalf("Verify accepted %q without a matching MAC", header)
		}
	})
}

// FuzzSignVerify: what Sign makes, Verify accepts for each secret, and
// rejects for any other body.
func FuzzSignVerify(f *testing.F) {
	f.Add([]byte("whsec_a"), []byte("whsec_b"), []byte(`{"id":"evt_1"}`), int64(1767225600))
	f.Add([]byte(""), []byte("x"), []byte(""), int64(0))
	f.Fuzz(func(t *testing.T, s1, s2, body []byte, unix int64) {
		if unix < 0 || unix > 1<<40 {
			return
		}
		at := time.Unix(unix, 0)
		h := Sign([][]byte{s1, s2}, at, body)
		for _, s := range [][]byte{s1, s2} {
			if err := Verify(h, body, s, 0, at); err != nil {
				t.Fatalf("Verify(Sign) = %v", err)
			}
		}
		if err := Verify(h, append(append([]byte{}, body...), '!'), s1, 0, at); err == nil {
			t.Fatal("Verify accepted a changed body")
		}
	})
}
