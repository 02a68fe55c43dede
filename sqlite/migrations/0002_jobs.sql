-- Background jobs of every kind. A worker claims a job by setting status
-- running, its name and a lease; a job whose lease ran out (its worker died)
-- may be claimed again.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    params      TEXT,
    result      TEXT,
    error       TEXT NOT NULL DEFAULT '',
    progress    INTEGER NOT NULL DEFAULT 0,
    total       INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    worker      TEXT NOT NULL DEFAULT '',
    lease_until INTEGER NOT NULL DEFAULT 0,
    cancel      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX jobs_account_kind ON jobs(account_id, kind, created_at DESC);
CREATE INDEX jobs_claim ON jobs(status, kind, created_at);
