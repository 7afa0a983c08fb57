package captcha

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"livegate.dev/cloud/internal/clock"
)

// Algorithm is the one hash PoW challenges use.
const Algorithm = "SHA-256"

// PoWConfig configures a PoW.
type PoWConfig struct {
	// Secret signs challenges (HMAC-SHA256). At least 32 bytes. Required.
	Secret []byte
	// TTL is how long a challenge can be solved and spent. Optional.
	// Default: 5 minutes.
	TTL time.Duration
	// MaxNumber is the difficulty at rest: the browser searches [0,
	// MaxNumber], MaxNumber/2 hashes on average. Optional. Default: 50,000.
	MaxNumber int64
	// MaxNumberCap bounds the raised difficulty. Optional. Default: 64 ×
	// MaxNumber.
	MaxNumberCap int64
	// Window and Step raise the difficulty under load: maxnumber doubles for
	// each Step solutions verified within the last Window. Optional.
	// Default: 1 minute and 60.
	Window time.Duration
	Step   int
	// AddressStep raises it for one client address besides: maxnumber
	// doubles again for each AddressStep solutions verified from that
	// address within Window, so one address hammering the route pays more
	// while a browser elsewhere keeps the lower difficulty. Optional.
	// Default: 10.
	AddressStep int
	// Clock. Optional. Default: clock.Real.
	Clock clock.Clock
}

func (c *PoWConfig) defaults() {
	if c.TTL <= 0 {
		c.TTL = 5 * time.Minute
	}
	if c.MaxNumber <= 0 {
		c.MaxNumber = 50_000
	}
	if c.MaxNumberCap <= 0 {
		c.MaxNumberCap = 64 * c.MaxNumber
	}
	if c.Window <= 0 {
		c.Window = time.Minute
	}
	if c.Step <= 0 {
		c.Step = 60
	}
	if c.AddressStep <= 0 {
		c.AddressStep = 10
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
}

// Challenge is what GET /api/v1/captcha/challenge returns.
type Challenge struct {
	Algorithm string `json:"algorithm" doc:"Always SHA-256."`
	Challenge string `json:"challenge" doc:"Hex SHA-256 of salt followed by the secret number in decimal."`
	MaxNumber int64  `json:"maxnumber" doc:"The secret number is in [0, maxnumber]: the page tries 0, 1, 2… (maxnumber/2 hashes on average). Raised under load."`
	Salt      string `json:"salt" doc:"Random hex, then ?expires=<unix seconds>&."`
	Signature string `json:"signature" doc:"Hex HMAC-SHA256 of challenge with the server's secret."`
}

// Solution is the JSON payload, base64-encoded in the X-Captcha header.
type Solution struct {
	Algorithm string `json:"algorithm"`
	Challenge string `json:"challenge"`
	Number    int64  `json:"number"`
	Salt      string `json:"salt"`
	Signature string `json:"signature"`
}

// PoW issues and verifies proof-of-work challenges. It is safe for
// concurrent use.
type PoW struct {
	cfg PoWConfig

	mu    sync.Mutex
	spent map[string]time.Time // signature → challenge expiry
	// pruneAt is the size of spent at which expired entries are next
	// swept (amortised: the sweep runs when the map has doubled).
	pruneAt int
	recent  []time.Time // verifications within Window, oldest first
	// byAddr holds each client address's verifications within Window,
	// oldest first; swept like spent.
	byAddr      map[string][]time.Time
	addrPruneAt int
}

var _ Verifier = (*PoW)(nil)

// NewPoW returns a PoW.
func NewPoW(cfg PoWConfig) (*PoW, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("captcha: PoW secret must be at least 32 bytes")
	}
	cfg.defaults()
	if cfg.MaxNumberCap < cfg.MaxNumber {
		return nil, fmt.Errorf("captcha: MaxNumberCap %d is below MaxNumber %d", cfg.MaxNumberCap, cfg.MaxNumber)
	}
	return &PoW{cfg: cfg, spent: map[string]time.Time{}, byAddr: map[string][]time.Time{}}, nil
}

// Kind is "pow".
func (p *PoW) Kind() string { return "pow" }

// Difficulty is the maxnumber a challenge issued now to addr gets ("" for
// the load of every address alone).
func (p *PoW) Difficulty(addr string) int64 {
	// A copy: the caller's string may share a buffer it reuses (Fiber's
	// c.IP() does), and a map assignment stores the key it is given.
	addr = strings.Clone(addr)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.difficultyLocked(p.cfg.Clock.Now(), addr)
}

func (p *PoW) difficultyLocked(now time.Time, addr string) int64 {
	p.pruneRecentLocked(now)
	doublings := len(p.recent) / p.cfg.Step
	if addr != "" {
		doublings += len(p.addrRecentLocked(now, addr)) / p.cfg.AddressStep
	}
	n := p.cfg.MaxNumber
	for ; doublings > 0 && n < p.cfg.MaxNumberCap; doublings-- {
		n *= 2
	}
	return min(n, p.cfg.MaxNumberCap)
}

// addrRecentLocked returns addr's verifications within Window (pruned).
func (p *PoW) addrRecentLocked(now time.Time, addr string) []time.Time {
	ts := p.byAddr[addr]
	cut := 0
	for cut < len(ts) && now.Sub(ts[cut]) >= p.cfg.Window {
		cut++
	}
	ts = ts[cut:]
	if len(ts) == 0 {
		delete(p.byAddr, addr)
	} else {
		p.byAddr[addr] = ts
	}
	return ts
}

func (p *PoW) pruneRecentLocked(now time.Time) {
	cut := 0
	for cut < len(p.recent) && now.Sub(p.recent[cut]) >= p.cfg.Window {
		cut++
	}
	p.recent = p.recent[cut:]
}

// NewChallenge makes a signed challenge at the current difficulty for a
// client at addr.
func (p *PoW) NewChallenge(addr string) (Challenge, error) {
	now := p.cfg.Clock.Now()
	max := p.Difficulty(addr)
	n, err := rand.Int(rand.Reader, big.NewInt(max+1))
	if err != nil {
		return Challenge{}, fmt.Errorf("captcha: secret number: %w", err)
	}
	var raw [12]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Challenge{}, fmt.Errorf("captcha: salt: %w", err)
	}
	// The salt ends in "&" so that no digit can move between the expiry
	// and the number: without it, salt "…?expires=1700000000" with number
	// 123 hashes as salt "…?expires=17000000001" with number 23, an expiry
	// pushed centuries ahead under the same signature.
	salt := hex.EncodeToString(raw[:]) + "?expires=" + strconv.FormatInt(now.Add(p.cfg.TTL).Unix(), 10) + "&"
	ch := HashHex(salt, n.Int64())
	return Challenge{Algorithm: Algorithm, Challenge: ch, MaxNumber: max, Salt: salt, Signature: p.sign(ch)}, nil
}

func (p *PoW) sign(challenge string) string {
	m := hmac.New(sha256.New, p.cfg.Secret)
	m.Write([]byte(challenge))
	return hex.EncodeToString(m.Sum(nil))
}

// HashHex is the hex SHA-256 of salt followed by n in decimal.
func HashHex(salt string, n int64) string {
	sum := sha256.Sum256([]byte(salt + strconv.FormatInt(n, 10)))
	return hex.EncodeToString(sum[:])
}

// Verify checks a base64 JSON Solution: signature (constant time), hash,
// expiry, then spends it (a second use gets ErrReplayed).
func (p *PoW) Verify(_ context.Context, payload, remoteIP string) error {
	remoteIP = strings.Clone(remoteIP) // see Difficulty
	if payload == "" {
		return ErrRequired
	}
	if len(payload) > 1024 {
		return fmt.Errorf("%w: payload over 1024 bytes", ErrInvalid)
	}
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return fmt.Errorf("%w: not base64", ErrInvalid)
	}
	var s Solution
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return fmt.Errorf("%w: not a solution object", ErrInvalid)
	}
	if s.Algorithm != Algorithm {
		return fmt.Errorf("%w: algorithm must be %s", ErrInvalid, Algorithm)
	}
	if !hmac.Equal([]byte(p.sign(s.Challenge)), []byte(strings.ToLower(s.Signature))) {
		return fmt.Errorf("%w: signature does not match", ErrInvalid)
	}
	if s.Number < 0 || !hmac.Equal([]byte(HashHex(s.Salt, s.Number)), []byte(s.Challenge)) {
		return fmt.Errorf("%w: number does not solve the challenge", ErrInvalid)
	}
	expires, err := saltExpiry(s.Salt)
	if err != nil {
		return err
	}
	now := p.cfg.Clock.Now()
	if !now.Before(expires) {
		return ErrExpired
	}
	if expires.After(now.Add(p.cfg.TTL + time.Minute)) {
		return fmt.Errorf("%w: expiry further ahead than this server issues", ErrInvalid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.spent) >= p.pruneAt {
		for sig, exp := range p.spent {
			if !now.Before(exp) {
				delete(p.spent, sig)
			}
		}
		p.pruneAt = max(1024, 2*len(p.spent))
	}
	if _, dup := p.spent[strings.ToLower(s.Signature)]; dup {
		return ErrReplayed
	}
	p.spent[strings.ToLower(s.Signature)] = expires
	p.pruneRecentLocked(now)
	p.recent = append(p.recent, now)
	if remoteIP != "" {
		if len(p.byAddr) >= p.addrPruneAt {
			for a := range p.byAddr {
				p.addrRecentLocked(now, a)
			}
			p.addrPruneAt = max(1024, 2*len(p.byAddr))
		}
		p.byAddr[remoteIP] = append(p.addrRecentLocked(now, remoteIP), now)
	}
	return nil
}

func saltExpiry(salt string) (time.Time, error) {
	_, q, ok := strings.Cut(salt, "?")
	if !ok || !strings.HasSuffix(q, "&") {
		return time.Time{}, fmt.Errorf("%w: salt has no expiry", ErrInvalid)
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: salt parameters", ErrInvalid)
	}
	sec, err := strconv.ParseInt(v.Get("expires"), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: salt has no expiry", ErrInvalid)
	}
	return time.Unix(sec, 0), nil
}

// Solve searches [0, c.MaxNumber] for the number that solves c and returns
// the base64 payload for the X-Captcha header (what the capture page's
// worker does; for tests, benchmarks and non-browser clients).
func Solve(ctx context.Context, c Challenge) (string, int64, error) {
	for n := int64(0); n <= c.MaxNumber; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return "", n, ctx.Err()
		}
		if HashHex(c.Salt, n) == c.Challenge {
			b, _ := json.Marshal(Solution{Algorithm: c.Algorithm, Challenge: c.Challenge, Number: n, Salt: c.Salt, Signature: c.Signature})
			return base64.StdEncoding.EncodeToString(b), n, nil
		}
	}
	return "", c.MaxNumber, fmt.Errorf("captcha: no number in [0, %d] solves the challenge", c.MaxNumber)
}

// Spent is the number of solutions held against replay (expired ones are
// swept as the cache grows).
func (p *PoW) Spent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.spent)
}
