package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
)

// CreateAccount inserts an account; an existing id is a conflict.
func (s *Store) CreateAccount(ctx context.Context, a agenttrace.Account) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = s.now()
	}
	res, err := s.write.ExecContext(ctx, s.q(`INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`),
		a.ID, a.Name, a.CreatedAt.UnixNano())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return agenttrace.Errorf(agenttrace.ECONFLICT, "id: account %q already exists", a.ID)
	}
	return nil
}

// GetAccount returns one account.
func (s *Store) GetAccount(ctx context.Context, id string) (agenttrace.Account, error) {
	var a agenttrace.Account
	var created int64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT id, name, created_at FROM accounts WHERE id = ?`), id).Scan(&a.ID, &a.Name, &created)
	if isNoRows(err) {
		return a, notFound("account", id)
	}
	a.CreatedAt = time.Unix(0, created).UTC()
	return a, err
}

func joinScopes(sc []agenttrace.Scope) string {
	parts := make([]string, len(sc))
	for i, s := range sc {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

func splitScopes(s string) []agenttrace.Scope {
	var out []agenttrace.Scope
	for _, p := range strings.Split(s, ",") {
		if p != "" {
			out = append(out, agenttrace.Scope(p))
		}
	}
	return out
}

// CreateAPIKey stores a key (its hash, never its secret).
func (s *Store) CreateAPIKey(ctx context.Context, k agenttrace.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	admin := 0
	if k.ServerAdmin {
		admin = 1
	}
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO api_keys (id, account_id, name, prefix, hash, scopes, server_admin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		k.ID, k.AccountID, k.Name, k.Prefix, k.Hash, joinScopes(k.Scopes), admin, k.CreatedAt.UnixNano())
	return err
}

const keyCols = `id, account_id, name, prefix, hash, scopes, server_admin, created_at, last_used_at`

func scanKey(sc interface{ Scan(...any) error }) (agenttrace.APIKey, error) {
	var k agenttrace.APIKey
	var scopes string
	var admin int
	var created int64
	var used sql.NullInt64
	if err := sc.Scan(&k.ID, &k.AccountID, &k.Name, &k.Prefix, &k.Hash, &scopes, &admin, &created, &used); err != nil {
		return k, err
	}
	k.Scopes = splitScopes(scopes)
	k.ServerAdmin = admin == 1
	k.CreatedAt = time.Unix(0, created).UTC()
	k.LastUsedAt = fromNanos(used)
	return k, nil
}

// ListAPIKeys lists an account's keys, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, accountID string) ([]agenttrace.APIKey, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+keyCols+` FROM api_keys WHERE account_id = ? ORDER BY created_at, id`), accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []agenttrace.APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteAPIKey revokes a key of the account.
func (s *Store) DeleteAPIKey(ctx context.Context, accountID, id string) error {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM api_keys WHERE account_id = ? AND id = ?`), accountID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("key", id)
	}
	return nil
}

// APIKeyByHash finds a key by its secret's hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (agenttrace.APIKey, error) {
	k, err := scanKey(s.read.QueryRowContext(ctx, s.q(`SELECT `+keyCols+` FROM api_keys WHERE hash = ?`), hash))
	if isNoRows(err) {
		return k, agenttrace.Errorf(agenttrace.ENOTFOUND, "key not found")
	}
	return k, err
}

// TouchAPIKey records a use of the key; last_used_at never moves back.
func (s *Store) TouchAPIKey(ctx context.Context, id string, t time.Time) error {
	_, err := s.write.ExecContext(ctx, s.q(`UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`),
		t.UnixNano(), id, t.UnixNano())
	return err
}

// CountAPIKeys counts every key of every account.
func (s *Store) CountAPIKeys(ctx context.Context) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys`).Scan(&n)
	return n, err
}
