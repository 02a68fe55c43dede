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
    progress    BIGINT NOT NULL DEFAULT 0,
    total       BIGINT NOT NULL DEFAULT 0,
    attempts    BIGINT NOT NULL DEFAULT 0,
    worker      TEXT NOT NULL DEFAULT '',
    lease_until BIGINT NOT NULL DEFAULT 0,
    cancel      BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_account_kind ON jobs(account_id, kind, created_at DESC);
CREATE INDEX jobs_claim ON jobs(status, kind, created_at);
