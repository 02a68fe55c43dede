package server

import (
	"context"

	"github.com/agenttrace/agenttrace/postgres"
	"github.com/agenttrace/agenttrace/store"
)

// The PostgreSQL store, used when --database-url is given.
func init() {
	openPostgres = func(ctx context.Context, url string) (store.Store, error) {
		return postgres.Open(ctx, url)
	}
}
