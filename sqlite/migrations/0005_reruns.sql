-- Re-run requests sent to agents' rerun_url, and each account's secret for
-- signing them (HMAC-SHA256; stored in clear because the server signs with
-- it, readable by the account's admins through GET /api/v1/rerun-secret).
CREATE TABLE reruns (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    new_run_id  TEXT NOT NULL,
    agent_id    TEXT NOT NULL,
    url         TEXT NOT NULL,
    key_id      TEXT NOT NULL DEFAULT '',
    key_name    TEXT NOT NULL DEFAULT '',
    overrides   TEXT,
    outcome     TEXT NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    duration_ns INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX reruns_run ON reruns(account_id, run_id, created_at);

CREATE TABLE rerun_secrets (
    account_id  TEXT PRIMARY KEY,
    secret      TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
