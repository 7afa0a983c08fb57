package daemon

import (
	"context"
	"errors"

	"livegate.dev/cloud/internal/store"
)

// openPostgres opens the PostgreSQL store.
func openPostgres(ctx context.Context, dsn string) (store.Store, error) {
	return nil, errors.New("daemon: the PostgreSQL store is not wired into this build yet")
}
