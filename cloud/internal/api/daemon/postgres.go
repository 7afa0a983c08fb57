package daemon

import (
	"context"

	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/store/postgres"
)

// openPostgres opens the PostgreSQL store (running its migrations).
func openPostgres(ctx context.Context, dsn string, maxConns int) (store.Store, error) {
	if maxConns <= 0 {
		maxConns = 32
	}
	return postgres.Open(ctx, dsn, postgres.Options{MaxConns: int32(maxConns)})
}
