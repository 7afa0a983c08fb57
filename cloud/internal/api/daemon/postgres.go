package daemon

import (
	"context"

	"livegate.dev/cloud/internal/store"
	"livegate.dev/cloud/internal/store/postgres"
)

// openPostgres opens the PostgreSQL store (running its migrations).
func openPostgres(ctx context.Context, dsn string) (store.Store, error) {
	return postgres.Open(ctx, dsn, postgres.Options{})
}
