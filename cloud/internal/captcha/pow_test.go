package captcha

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"livegate.dev/cloud/internal/clock"
)

func newPoW(t testing.TB, clk clock.Clock, max int64) *PoW {
	t.Helper()
	p, err := NewPoW(PoWConfig{Secret: bytes.Repeat([]byte{7}, 32), MaxNumber: max, Clock: clk, Step: 5, Window: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func solve(t testing.TB, p *PoW) string {
	t.Helper()
	c, err := p.NewChallenge("")
	if err != nil {
		t.Fatal(err)
	}
	payload, _, err := Solve(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// tamper decodes a payload, changes it and re-encodes it.
func tamper(t *testing.T, payload string, f func(*Solution)) string {
	t.Helper()
	raw, _ := base64.StdEncoding.DecodeString(payload)
	var s Solution
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	f(&s)
	b, _ := json.Marshal(s)
	return base64.StdEncoding.EncodeToString(b)
}

func TestPoWVerify(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	p := newPoW(t, clk, 2000)
	other := newPoW(t, clk, 2000)
	other.cfg.Secret = bytes.Repeat([]byte{8}, 32)
	good := solve(t, p)
	tests := []struct {
		name    string
		payload string
		want    error
	}{
		{"empty", "", ErrRequired},
		{"not base64", "!!!", ErrInvalid},
		{"not json", base64.StdEncoding.EncodeToString([]byte("[1]")), ErrInvalid},
		{"unknown field", base64.StdEncoding.EncodeToString([]byte(`{"algorithm":"SHA-256","x":1}`)), ErrInvalid},
		{"wrong number", tamper(t, good, func(s *Solution) { s.Number++ }), ErrInvalid},
		{"negative number", tamper(t, good, func(s *Solution) { s.Number = -1 }), ErrInvalid},
		{"other algorithm", tamper(t, good, func(s *Solution) { s.Algorithm = "SHA-1" }), ErrInvalid},
		{"forged signature", tamper(t, good, func(s *Solution) { s.Signature = other.sign(s.Challenge) }), ErrInvalid},
		{"salt changed", tamper(t, good, func(s *Solution) { s.Salt = "00?expires=99999999999" }), ErrInvalid},
		{"digit moved from the number into the expiry", shifted(t, p), ErrInvalid},
		{"good", good, nil},
		{"replayed", good, ErrReplayed},
		{"replayed upper-case signature", tamper(t, good, func(s *Solution) { s.Signature = upper(s.Signature) }), ErrReplayed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Verify(context.Background(), tt.payload, "")
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// shifted solves a challenge whose number has at least two digits, then
// moves its first digit to the end of the salt: the same string is hashed,
// so the hash and the signature still hold, and a salt without its closing
// "&" would carry an expiry ten times as far.
func shifted(t *testing.T, p *PoW) string {
	t.Helper()
	for {
		c, err := p.NewChallenge("")
		if err != nil {
			t.Fatal(err)
		}
		payload, n, err := Solve(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if n < 10 {
			continue
		}
		return tamper(t, payload, func(s *Solution) {
			d := strconv.FormatInt(s.Number, 10)
			s.Salt += d[:1]
			s.Number, _ = strconv.ParseInt(d[1:], 10, 64)
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func TestPoWExpiry(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	p := newPoW(t, clk, 1000)
	late := solve(t, p)
	onTime := solve(t, p)
	clk.Advance(5*time.Minute - time.Second)
	if err := p.Verify(context.Background(), onTime, ""); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	clk.Advance(time.Second)
	if err := p.Verify(context.Background(), late, ""); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v, want ErrExpired", err)
	}
	// Spent solutions are swept once expired, as the cache grows.
	p.pruneAt = 0
	if err := p.Verify(context.Background(), solve(t, p), ""); err != nil {
		t.Fatal(err)
	}
	if n := p.Spent(); n != 1 {
		t.Fatalf("spent after sweep = %d, want 1 (the expired one dropped)", n)
	}
}

func TestPoWDifficultyRisesUnderLoad(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	p := newPoW(t, clk, 100) // Step 5 within a minute, cap 6400
	want := []int64{100, 200, 400, 800, 1600, 3200, 6400, 6400}
	for i, w := range want {
		c, err := p.NewChallenge("")
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxNumber != w {
			t.Fatalf("after %d solutions: maxnumber %d, want %d", i*5, c.MaxNumber, w)
		}
		for range 5 {
			if err := p.Verify(context.Background(), solve(t, p), ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	clk.Advance(time.Minute)
	if d := p.Difficulty(""); d != 100 {
		t.Fatalf("a quiet minute later: maxnumber %d, want 100", d)
	}
}

// TestPoWDifficultyPerAddress: one address's solutions raise its own
// difficulty (AddressStep) before the global count (Step) moves, and
// other addresses keep the resting difficulty.
func TestPoWDifficultyPerAddress(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	p, err := NewPoW(PoWConfig{Secret: bytes.Repeat([]byte{7}, 32), MaxNumber: 100, Clock: clk, Step: 100, AddressStep: 2})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{100, 200, 400, 800} {
		if got := p.Difficulty("198.51.100.7"); got != want {
			t.Fatalf("after %d solutions from the address: %d, want %d", 2*i, got, want)
		}
		for range 2 {
			if err := p.Verify(context.Background(), solve(t, p), "198.51.100.7"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := p.Difficulty("203.0.113.9"); got != 100 {
		t.Fatalf("another address: %d, want 100", got)
	}
	clk.Advance(time.Minute)
	// Addresses whose window passed are swept as the map grows.
	p.addrPruneAt = 0
	if err := p.Verify(context.Background(), solve(t, p), "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	n := len(p.byAddr)
	p.mu.Unlock()
	if n != 1 {
		t.Fatalf("addresses held: %d, want 1 (198.51.100.7's minute has passed)", n)
	}
	if got := p.Difficulty("198.51.100.7"); got != 100 {
		t.Fatalf("a quiet minute later: %d, want 100", got)
	}
}

func TestNewPoWRefusesShortSecret(t *testing.T) {
	if _, err := NewPoW(PoWConfig{Secret: make([]byte, 31)}); err == nil {
		t.Fatal("a 31-byte secret was accepted")
	}
}

func BenchmarkPoWVerify(b *testing.B) {
	p := newPoW(b, clock.Real{}, 50)
	p.cfg.Step = 1 << 30
	payloads := make([]string, b.N)
	for i := range payloads {
		payloads[i] = solve(b, p)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := p.Verify(context.Background(), payloads[i], ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPoWSolve reports the expected work at each difficulty: the
// hashes a solver spends on average (maxnumber/2) and the time that takes
// in Go on this machine (a browser's worker is slower; docs/api.md gives
// Chromium's figures).
func BenchmarkPoWSolve(b *testing.B) {
	for _, max := range []int64{50_000, 200_000, 800_000, 3_200_000} {
		b.Run(itoa(max), func(b *testing.B) {
			salt := "0123456789abcdef01234567?expires=9999999999&"
			b.ReportMetric(float64(max)/2, "hashes/solve")
			for range b.N {
				n := max / 2
				c := Challenge{Algorithm: Algorithm, Challenge: HashHex(salt, n), MaxNumber: max, Salt: salt}
				if _, got, err := Solve(context.Background(), c); err != nil || got != n {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return "maxnumber=" + string(b) }
