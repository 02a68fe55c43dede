package agenttrace

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// DefaultAccountID is the account created on first start.
const DefaultAccountID = "default"

// Account is the tenant: everything else belongs to exactly one account.
type Account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Scope is a permission an API key carries.
type Scope string

const (
	ScopeIngest Scope = "ingest"
	ScopeRead   Scope = "read"
	ScopeExport Scope = "export"
	ScopeAdmin  Scope = "admin"
)

// AllScopes lists every scope, in the order they are shown.
var AllScopes = []Scope{ScopeIngest, ScopeRead, ScopeExport, ScopeAdmin}

// ParseScope checks that s names a scope.
func ParseScope(s string) (Scope, error) {
	for _, sc := range AllScopes {
		if string(sc) == s {
			return sc, nil
		}
	}
	return "", Errorf(EINVALID, "scopes: unknown scope %q (supported: ingest, read, export, admin)", s)
}

// APIKey is a stored key. The secret itself is never stored, only its hash.
type APIKey struct {
	ID          string     `json:"id"`
	AccountID   string     `json:"account_id"`
	Name        string     `json:"name"`
	Prefix      string     `json:"prefix"` // the first characters of the secret, to recognise it
	Hash        string     `json:"-"`
	Scopes      []Scope    `json:"scopes"`
	ServerAdmin bool       `json:"server_admin,omitempty"` // may create accounts
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
}

// Has reports whether the key carries scope s. The admin scope implies all others.
func (k APIKey) Has(s Scope) bool {
	return slices.Contains(k.Scopes, s) || slices.Contains(k.Scopes, ScopeAdmin)
}

// KeyPrefix is how every secret starts, so leaked keys are easy to scan for.
const KeyPrefix = "at_"

// NewSecret returns a fresh random API key secret.
func NewSecret() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return KeyPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// HashSecret is how a secret is stored and looked up. Secrets are random with
// 120 bits of entropy, so a fast hash is enough (no password stretching needed).
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SecretPrefix is the visible part of a secret shown in key lists.
func SecretPrefix(secret string) string {
	if len(secret) > 10 {
		return secret[:10]
	}
	return secret
}

// NewID returns a random identifier with the given prefix, sortable by creation time.
func NewID(prefix string) string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	ts := uint64(time.Now().UnixMilli())
	var tb [6]byte
	for i := 5; i >= 0; i-- {
		tb[i] = byte(ts)
		ts >>= 8
	}
	return prefix + hex.EncodeToString(tb[:]) + hex.EncodeToString(b)
}
