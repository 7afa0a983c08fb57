package releases

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey is the advisory lock replicas take while migrating this
// package's tables (distinct from the main store's).
const migrateLockKey int64 = 0x6f7461726c73 // "otarls"

// Postgres is the Repo on PostgreSQL, in the tables ota_releases,
// ota_rollouts and ota_devices, created by this package's own migrations (recorded in
// ota_schema_migrations).
type Postgres struct{ pool *pgxpool.Pool }

var _ Repo = (*Postgres)(nil)

// OpenPostgres connects to dsn and applies the missing migrations.
func OpenPostgres(ctx context.Context, dsn string) (*Postgres, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("releases: postgres: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Postgres{pool: pool}, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("releases: migrations: %w", err)
	}
	sort.Strings(names)
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("releases: migrate: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
		return fmt.Errorf("releases: migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS ota_schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"); err != nil {
		return fmt.Errorf("releases: migrate: %w", err)
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("releases: migration %s: bad version: %w", base, err)
		}
		var done bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM ota_schema_migrations WHERE version = $1)", v).Scan(&done); err != nil {
			return fmt.Errorf("releases: migration %s: %w", base, err)
		}
		if done {
			continue
		}
		sql, err := migrationFS.ReadFile(name)
		if err != nil {
			return fmt.Errorf("releases: migration %s: %w", base, err)
		}
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			return fmt.Errorf("releases: migration %s: %w", base, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO ota_schema_migrations (version) VALUES ($1)", v); err != nil {
			return fmt.Errorf("releases: migration %s: %w", base, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("releases: migrate: commit: %w", err)
	}
	return nil
}

// Close closes the pool.
func (p *Postgres) Close() error { p.pool.Close(); return nil }

func pgErr(id string, err error) error {
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("releases: %s: %w", id, ErrNotFound)
	case errors.As(err, &pe) && pe.Code == "23505":
		return fmt.Errorf("releases: %s: %w", id, ErrExists)
	case err != nil && strings.Contains(err.Error(), "closed pool"):
		return fmt.Errorf("releases: %s: %w: %v", id, ErrClosed, err)
	}
	return fmt.Errorf("releases: %s: %w", id, err)
}

// CreateRelease implements Repo.
func (p *Postgres) CreateRelease(ctx context.Context, r *Release) error {
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("releases: encode %s: %w", r.ID, err)
	}
	if _, err := p.pool.Exec(ctx, "INSERT INTO ota_releases (id, uploaded_at, body) VALUES ($1, $2, $3)", r.ID, r.UploadedAt, body); err != nil {
		return pgErr(r.ID, err)
	}
	return nil
}

// GetRelease implements Repo.
func (p *Postgres) GetRelease(ctx context.Context, id string) (*Release, error) {
	var body []byte
	if err := p.pool.QueryRow(ctx, "SELECT body FROM ota_releases WHERE id = $1", id).Scan(&body); err != nil {
		return nil, pgErr(id, err)
	}
	r := new(Release)
	if err := json.Unmarshal(body, r); err != nil {
		return nil, fmt.Errorf("releases: decode %s: %w", id, err)
	}
	return r, nil
}

func pgList[T any](ctx context.Context, p *Postgres, query string) ([]*T, error) {
	rows, err := p.pool.Query(ctx, query)
	if err != nil {
		return nil, pgErr("list", err)
	}
	defer rows.Close()
	var out []*T
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, pgErr("list", err)
		}
		v := new(T)
		if err := json.Unmarshal(body, v); err != nil {
			return nil, fmt.Errorf("releases: decode: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, pgErr("list", err)
	}
	return out, nil
}

// ListReleases implements Repo.
func (p *Postgres) ListReleases(ctx context.Context) ([]*Release, error) {
	return pgList[Release](ctx, p, "SELECT body FROM ota_releases ORDER BY uploaded_at DESC, id")
}

// DeleteRelease implements Repo.
func (p *Postgres) DeleteRelease(ctx context.Context, id string) error {
	tag, err := p.pool.Exec(ctx, "DELETE FROM ota_releases WHERE id = $1", id)
	if err != nil {
		return pgErr(id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("releases: %s: %w", id, ErrNotFound)
	}
	return nil
}

// CreateRollout implements Repo.
func (p *Postgres) CreateRollout(ctx context.Context, ro *Rollout) error {
	body, err := json.Marshal(ro)
	if err != nil {
		return fmt.Errorf("releases: encode %s: %w", ro.ID, err)
	}
	if _, err := p.pool.Exec(ctx, "INSERT INTO ota_rollouts (id, release_id, created_at, body) VALUES ($1, $2, $3, $4)",
		ro.ID, ro.ReleaseID, ro.CreatedAt, body); err != nil {
		return pgErr(ro.ID, err)
	}
	return nil
}

// GetRollout implements Repo.
func (p *Postgres) GetRollout(ctx context.Context, id string) (*Rollout, error) {
	var body []byte
	if err := p.pool.QueryRow(ctx, "SELECT body FROM ota_rollouts WHERE id = $1", id).Scan(&body); err != nil {
		return nil, pgErr(id, err)
	}
	ro := new(Rollout)
	if err := json.Unmarshal(body, ro); err != nil {
		return nil, fmt.Errorf("releases: decode %s: %w", id, err)
	}
	return ro, nil
}

// ListRollouts implements Repo.
func (p *Postgres) ListRollouts(ctx context.Context) ([]*Rollout, error) {
	return pgList[Rollout](ctx, p, "SELECT body FROM ota_rollouts ORDER BY created_at DESC, id")
}

// UpdateRollout implements Repo (SELECT … FOR UPDATE in one transaction).
func (p *Postgres) UpdateRollout(ctx context.Context, id string, fn func(*Rollout) error) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return pgErr(id, err)
	}
	defer tx.Rollback(ctx)
	var body []byte
	if err := tx.QueryRow(ctx, "SELECT body FROM ota_rollouts WHERE id = $1 FOR UPDATE", id).Scan(&body); err != nil {
		return pgErr(id, err)
	}
	ro := new(Rollout)
	if err := json.Unmarshal(body, ro); err != nil {
		return fmt.Errorf("releases: decode %s: %w", id, err)
	}
	if err := fn(ro); err != nil {
		return err
	}
	out, err := json.Marshal(ro)
	if err != nil {
		return fmt.Errorf("releases: encode %s: %w", id, err)
	}
	if _, err := tx.Exec(ctx, "UPDATE ota_rollouts SET body = $2 WHERE id = $1", id, out); err != nil {
		return pgErr(id, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return pgErr(id, err)
	}
	return nil
}

// GetDeviceFacts implements Repo.
func (p *Postgres) GetDeviceFacts(ctx context.Context, deviceID string) (*DeviceFacts, error) {
	var body []byte
	if err := p.pool.QueryRow(ctx, "SELECT body FROM ota_devices WHERE id = $1", deviceID).Scan(&body); err != nil {
		return nil, pgErr(deviceID, err)
	}
	f := new(DeviceFacts)
	if err := json.Unmarshal(body, f); err != nil {
		return nil, fmt.Errorf("releases: decode device %s: %w", deviceID, err)
	}
	return f, nil
}

// ListDeviceFacts implements Repo.
func (p *Postgres) ListDeviceFacts(ctx context.Context) ([]*DeviceFacts, error) {
	return pgList[DeviceFacts](ctx, p, "SELECT body FROM ota_devices ORDER BY id")
}

// UpdateDeviceFacts implements Repo: the row is created if missing, then
// locked (SELECT … FOR UPDATE) for fn, in one transaction.
func (p *Postgres) UpdateDeviceFacts(ctx context.Context, deviceID string, fn func(*DeviceFacts) error) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return pgErr(deviceID, err)
	}
	defer tx.Rollback(ctx)
	empty, _ := json.Marshal(&DeviceFacts{DeviceID: deviceID})
	if _, err := tx.Exec(ctx, "INSERT INTO ota_devices (id, body) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", deviceID, empty); err != nil {
		return pgErr(deviceID, err)
	}
	var body []byte
	if err := tx.QueryRow(ctx, "SELECT body FROM ota_devices WHERE id = $1 FOR UPDATE", deviceID).Scan(&body); err != nil {
		return pgErr(deviceID, err)
	}
	f := new(DeviceFacts)
	if err := json.Unmarshal(body, f); err != nil {
		return fmt.Errorf("releases: decode device %s: %w", deviceID, err)
	}
	if err := fn(f); err != nil {
		return err
	}
	f.DeviceID = deviceID
	out, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("releases: encode device %s: %w", deviceID, err)
	}
	if _, err := tx.Exec(ctx, "UPDATE ota_devices SET body = $2 WHERE id = $1", deviceID, out); err != nil {
		return pgErr(deviceID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return pgErr(deviceID, err)
	}
	return nil
}
