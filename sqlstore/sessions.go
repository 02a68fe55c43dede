package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/store"
)

var (
	_ store.Sessions   = (*Store)(nil)
	_ store.AgentIndex = (*Store)(nil)
)

// CreateSession stores a web session and sweeps expired ones.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM web_sessions WHERE expires_at < ?`), ss.CreatedAt.UnixNano()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO web_sessions (token_hash, account_id, key_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`),
			ss.TokenHash, ss.AccountID, ss.KeyID, ss.CreatedAt.UnixNano(), ss.ExpiresAt.UnixNano())
		return err
	})
}

type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// SessionByHash answers an unexpired session and its (unrevoked) key, in one query.
func (s *Store) SessionByHash(ctx context.Context, hash string, now time.Time) (store.Session, agenttrace.APIKey, error) {
	ss := store.Session{TokenHash: hash}
	var created, expires int64
	row := s.read.QueryRowContext(ctx, s.q(`SELECT k.id, k.account_id, k.name, k.prefix, k.hash, k.scopes, k.server_admin, k.created_at, k.last_used_at,
		w.account_id, w.key_id, w.created_at, w.expires_at
		FROM web_sessions w JOIN api_keys k ON k.id = w.key_id AND k.account_id = w.account_id
		WHERE w.token_hash = ? AND w.expires_at > ?`), hash, now.UnixNano())
	k, err := scanKey(scanFunc(func(dest ...any) error {
		return row.Scan(append(dest, &ss.AccountID, &ss.KeyID, &created, &expires)...)
	}))
	if isNoRows(err) {
		return ss, k, agenttrace.Errorf(agenttrace.ENOTFOUND, "session not found")
	}
	if err != nil {
		return ss, k, err
	}
	ss.CreatedAt, ss.ExpiresAt = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
	return ss, k, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	_, err := s.write.ExecContext(ctx, s.q(`DELETE FROM web_sessions WHERE token_hash = ?`), hash)
	return err
}

// AgentIDs lists the account's agents (no statistics), by id.
func (s *Store) AgentIDs(ctx context.Context, accountID string) ([]agenttrace.Agent, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT id, name FROM agents WHERE account_id = ? ORDER BY id`), accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []agenttrace.Agent
	for rows.Next() {
		var a agenttrace.Agent
		if err := rows.Scan(&a.ID, &a.Name); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
