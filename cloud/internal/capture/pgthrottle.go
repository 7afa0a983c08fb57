package capture

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var _ FailureThrottle = (*PGThrottle)(nil)

// PGThrottle is the FailureThrottle of a PostgreSQL deployment: every
// replica counts a key's failures in one shared table, so the limits hold
// across replicas and restarts. Keys (which name end users and client
// addresses, personal data) are stored as HMAC-SHA-256 digests, never in
// clear.
//
// Each Fail is one INSERT … ON CONFLICT DO UPDATE statement: the row lock it
// takes serialises concurrent failures of one key, so two replicas
// recording the Limit-th failure at once start exactly one cool-down. Rows
// with nothing left to remember (out of their window and cool-down) are
// deleted at most once a minute per replica.
//
// When the database cannot be reached (or answers slower than Timeout), the
// throttle neither lets every attempt through nor refuses every client: it
// decides from this replica's own in-memory Throttle, which records every
// failure all along. The limit then holds per replica (Limit × replicas in
// the worst case) and the per-session attempt limit still applies. The
// outage is logged at most once a minute, without any client data.
type PGThrottle struct {
	cfg   PGThrottleConfig
	pool  *pgxpool.Pool
	owned bool
	local *Throttle

	mu        sync.Mutex
	nextPrune time.Time
	nextLog   time.Time
	missed    int
}

// PGThrottleConfig configures a PGThrottle.
type PGThrottleConfig struct {
	// Key is the HMAC key for throttle keys, at least 16 bytes (derive it
	// from the master key with a purpose label). Required.
	Key []byte
	// Timeout bounds each database round trip. Optional. Default: 500 ms.
	Timeout time.Duration
	// Logger. Optional. Default: slog.Default().
	Logger *slog.Logger
}

func (c *PGThrottleConfig) defaults() error {
	if len(c.Key) < 16 {
		return errors.New("capture: PGThrottle: Key must be at least 16 bytes")
	}
	if c.Timeout <= 0 {
		c.Timeout = 500 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// pgThrottleLockKey is the advisory lock replicas take while migrating the
// throttle's tables.
const pgThrottleLockKey int64 = 0x6361707468726f74 // "capthrot"

// pgThrottleMigrations are applied in order, each once, recorded in
// capture_throttle_migrations.
var pgThrottleMigrations = []string{
	// 1: one row per client that failed recently.
	`CREATE TABLE capture_throttle (
		client   bytea PRIMARY KEY,            -- HMAC-SHA-256 of the client id
		fails    timestamptz[] NOT NULL,       -- failures in the window (at most Limit)
		until_at timestamptz,                  -- end of the cool-down, if any
		last_at  timestamptz NOT NULL          -- the latest failure
	);
	CREATE INDEX capture_throttle_last_at ON capture_throttle (last_at);`,
	// 2: each failure's rule may differ (tenant settings): a row says itself
	// until when its failures can count.
	`ALTER TABLE capture_throttle ADD COLUMN keep_until timestamptz;
	UPDATE capture_throttle SET keep_until = last_at + interval '3 minutes';
	ALTER TABLE capture_throttle ALTER COLUMN keep_until SET NOT NULL;
	DROP INDEX capture_throttle_last_at;
	CREATE INDEX capture_throttle_keep_until ON capture_throttle (keep_until);`,
}

// OpenPGThrottle connects to dsn, applies the missing migrations and returns
// the throttle; Close closes its connection pool.
func OpenPGThrottle(ctx context.Context, dsn string, cfg PGThrottleConfig) (*PGThrottle, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("capture: throttle database: %w", err)
	}
	t, err := NewPGThrottle(ctx, pool, cfg)
	if err != nil {
		pool.Close()
		return nil, err
	}
	t.owned = true
	return t, nil
}

// NewPGThrottle returns a throttle on an existing pool (Close leaves it
// open), after applying the missing migrations.
func NewPGThrottle(ctx context.Context, pool *pgxpool.Pool, cfg PGThrottleConfig) (*PGThrottle, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if err := migratePGThrottle(ctx, pool); err != nil {
		return nil, err
	}
	return &PGThrottle{cfg: cfg, pool: pool, local: NewThrottle()}, nil
}

// migratePGThrottle applies the missing migrations in one transaction under
// an advisory lock, so replicas starting together migrate once.
func migratePGThrottle(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", pgThrottleLockKey); err != nil {
			return fmt.Errorf("capture: throttle migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS capture_throttle_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"); err != nil {
			return fmt.Errorf("capture: throttle migrate: %w", err)
		}
		for i, sql := range pgThrottleMigrations {
			v := i + 1
			var done bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM capture_throttle_migrations WHERE version = $1)", v).Scan(&done); err != nil {
				return fmt.Errorf("capture: throttle migration %d: %w", v, err)
			}
			if done {
				continue
			}
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("capture: throttle migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO capture_throttle_migrations (version) VALUES ($1)", v); err != nil {
				return fmt.Errorf("capture: throttle migration %d: %w", v, err)
			}
		}
		return nil
	})
}

// Close closes the connection pool if OpenPGThrottle opened it.
func (t *PGThrottle) Close() error {
	if t.owned {
		t.pool.Close()
	}
	return nil
}

// digest is the stored form of a key.
func (t *PGThrottle) digest(key string) []byte {
	m := hmac.New(sha256.New, t.cfg.Key)
	m.Write([]byte(key))
	return m.Sum(nil)
}

// Blocked reports whether key is cooling down at now, and for how long.
func (t *PGThrottle) Blocked(key string, now time.Time) (bool, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.Timeout)
	defer cancel()
	var until *time.Time
	err := t.pool.QueryRow(ctx, "SELECT until_at FROM capture_throttle WHERE client = $1", t.digest(key)).Scan(&until)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, 0
	case err != nil:
		t.unavailable(now, err)
		return t.local.Blocked(key, now)
	}
	return cooling(until, now)
}

// pgFail records one failure at $2: failures older than the window ($3)
// are dropped, and the Limit-th ($4) in the window starts a cool-down until
// $5 and clears the count, exactly as Throttle.Fail does; the row is kept
// at least until $6 (the failure plus the window).
const pgFail = `
INSERT INTO capture_throttle AS t (client, fails, until_at, last_at, keep_until)
VALUES ($1, CASE WHEN $4::int <= 1 THEN '{}'::timestamptz[] ELSE ARRAY[$2::timestamptz] END,
        CASE WHEN $4::int <= 1 THEN $5::timestamptz END, $2, $6)
ON CONFLICT (client) DO UPDATE SET
  fails = CASE WHEN (SELECT count(*) FROM unnest(t.fails) f WHERE f > $3::timestamptz) + 1 >= $4::int
               THEN '{}'::timestamptz[]
               ELSE ARRAY(SELECT f FROM unnest(t.fails) f WHERE f > $3::timestamptz) || $2::timestamptz END,
  until_at = CASE WHEN (SELECT count(*) FROM unnest(t.fails) f WHERE f > $3::timestamptz) + 1 >= $4::int
                  THEN $5::timestamptz ELSE t.until_at END,
  last_at = greatest(t.last_at, $2::timestamptz),
  keep_until = greatest(t.keep_until, $6::timestamptz)
RETURNING until_at`

// Fail records a failed attempt under key at now and reports whether key
// is now cooling down under r.
func (t *PGThrottle) Fail(key string, r Rule, now time.Time) (bool, time.Duration) {
	lb, lw := t.local.Fail(key, r, now)
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.Timeout)
	defer cancel()
	var until *time.Time
	err := t.pool.QueryRow(ctx, pgFail, t.digest(key), now, now.Add(-r.Window), r.Limit, now.Add(r.Cooldown), now.Add(r.Window)).Scan(&until)
	if err != nil {
		t.unavailable(now, err)
		return lb, lw
	}
	t.prune(ctx, now)
	return cooling(until, now)
}

func cooling(until *time.Time, now time.Time) (bool, time.Duration) {
	if until == nil || !now.Before(*until) {
		return false, 0
	}
	return true, until.Sub(now)
}

// prune deletes, at most once a minute, the rows with nothing left to
// remember: no failure in their window and no cool-down running.
func (t *PGThrottle) prune(ctx context.Context, now time.Time) {
	t.mu.Lock()
	due := !now.Before(t.nextPrune)
	if due {
		t.nextPrune = now.Add(time.Minute)
	}
	t.mu.Unlock()
	if !due {
		return
	}
	if _, err := t.pool.Exec(ctx, "DELETE FROM capture_throttle WHERE keep_until <= $1 AND (until_at IS NULL OR until_at <= $1)", now); err != nil {
		t.unavailable(now, err)
	}
}

// unavailable logs a database failure at most once a minute. The error
// names the server, never a key (queries carry only digests, and pgx does
// not put arguments in errors).
func (t *PGThrottle) unavailable(now time.Time, err error) {
	t.mu.Lock()
	t.missed++
	if now.Before(t.nextLog) {
		t.mu.Unlock()
		return
	}
	n := t.missed
	t.missed, t.nextLog = 0, now.Add(time.Minute)
	t.mu.Unlock()
	t.cfg.Logger.Warn("capture: throttle database unavailable, counting failures in this replica's memory",
		slog.Int("errors", n), slog.String("error", err.Error()))
}
