package store

import (
	"context"
	"time"

	"github.com/agenttrace/agenttrace"
)

// Session is a web UI sign-in. Only the hash of its token is stored.
type Session struct {
	TokenHash string
	AccountID string
	KeyID     string // the API key the session acts as
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Sessions stores web UI sessions (implemented by sqlstore).
type Sessions interface {
	// CreateSession stores s and removes expired sessions.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash answers the unexpired session with this token hash and
	// the API key it acts as: ENOTFOUND when there is none, it expired, or
	// its key was revoked.
	SessionByHash(ctx context.Context, hash string, now time.Time) (Session, agenttrace.APIKey, error)
	// DeleteSession ends a session (no error if it does not exist).
	DeleteSession(ctx context.Context, hash string) error
}

// AgentIndex lists agents without their run statistics: cheap enough for a
// filter picker on every page load, however many runs there are.
type AgentIndex interface {
	AgentIDs(ctx context.Context, accountID string) ([]agenttrace.Agent, error)
}
