-- Web UI sign-in sessions. Only the SHA-256 hash of the session token is
-- stored; the token itself lives in the browser's HttpOnly cookie. A session
-- acts through the API key it was opened with, so revoking the key ends it.
CREATE TABLE web_sessions (
    token_hash  TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions(expires_at);
CREATE INDEX web_sessions_key ON web_sessions(key_id);
