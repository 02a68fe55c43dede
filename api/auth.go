package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
)

type ctxKey struct{}

// KeyFrom returns the API key that authenticated the request.
func KeyFrom(ctx context.Context) (agenttrace.APIKey, bool) {
	k, ok := ctx.Value(ctxKey{}).(agenttrace.APIKey)
	return k, ok
}

// WithKey returns ctx carrying k (the web UI uses it for session sign-ins).
func WithKey(ctx context.Context, k agenttrace.APIKey) context.Context {
	return context.WithValue(ctx, ctxKey{}, k)
}

// BearerSecret extracts the secret of an "Authorization: Bearer" header.
func BearerSecret(r *http.Request) string { return ParseBearer(r.Header.Get("Authorization")) }

// ParseBearer answers the secret of an authorization value "Bearer SECRET"
// ("" when it is not one); gRPC metadata carries the same value.
func ParseBearer(v string) string {
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// Authenticate resolves the request's bearer key (EUNAUTHORIZED if none or unknown).
func (s *Server) Authenticate(r *http.Request) (agenttrace.APIKey, error) {
	secret := BearerSecret(r)
	if secret == "" {
		return agenttrace.APIKey{}, agenttrace.Errorf(agenttrace.EUNAUTHORIZED, "Authorization: missing bearer API key (send \"Authorization: Bearer KEY\")")
	}
	return s.KeyForSecret(r.Context(), secret)
}

// KeyForSecret looks a secret up by its hash, and records the use.
func (s *Server) KeyForSecret(ctx context.Context, secret string) (agenttrace.APIKey, error) {
	k, err := s.Store.APIKeyByHash(ctx, agenttrace.HashSecret(secret))
	if agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND {
		return k, agenttrace.Errorf(agenttrace.EUNAUTHORIZED, "Authorization: unknown or revoked API key")
	}
	if err == nil {
		s.TouchKey(ctx, &k)
	}
	return k, err
}

// touchEvery bounds how often a key's last_used_at is written: at most once
// a minute per key, so that authenticating stays a read.
const touchEvery = time.Minute

// TouchKey records that k was used now, when its last_used_at is older than
// touchEvery. A failure to record is logged, never fatal to the request.
func (s *Server) TouchKey(ctx context.Context, k *agenttrace.APIKey) {
	now := time.Now().UTC()
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < touchEvery {
		return
	}
	if err := s.Store.TouchAPIKey(ctx, k.ID, now); err != nil {
		Logger.Warn("recording a key's last use", "key", k.ID, "err", err)
		return
	}
	k.LastUsedAt = &now
}

// RequireScope checks that k carries scope.
func RequireScope(k agenttrace.APIKey, scope agenttrace.Scope) error {
	if !k.Has(scope) {
		return agenttrace.Errorf(agenttrace.EFORBIDDEN, "this API key lacks the %q scope", scope)
	}
	return nil
}

// Auth wraps a handler: it authenticates the bearer key and checks its scope.
func (s *Server) Auth(scope agenttrace.Scope, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := s.Authenticate(r)
		if err == nil {
			err = RequireScope(k, scope)
		}
		if err != nil {
			WriteError(w, r, err)
			return
		}
		h(w, r.WithContext(WithKey(r.Context(), k)))
	})
}

func account(r *http.Request) string {
	k, _ := KeyFrom(r.Context())
	return k.AccountID
}
