-- Times are stored as INTEGER Unix nanoseconds (UTC): compact, sortable, exact.
-- JSON payloads are stored as TEXT.

CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,          -- comma-separated
    server_admin INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE agents (
    account_id  TEXT NOT NULL,
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    rerun_url   TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE runs (
    account_id     TEXT NOT NULL,
    id             TEXT NOT NULL,
    agent_id       TEXT NOT NULL,          -- '' while only steps of the run have arrived
    status         TEXT NOT NULL,
    trigger        TEXT NOT NULL DEFAULT '',
    input          TEXT,
    output         TEXT,
    error_type     TEXT,
    error_message  TEXT,                   -- NULL: no error
    error_step_id  TEXT,                   -- first failed step (derived)
    started_at     INTEGER,                -- as reported, else derived from steps
    ended_at       INTEGER,
    sort_time      INTEGER NOT NULL,       -- started_at, else first seen: the default order
    duration_ms    REAL NOT NULL DEFAULT 0,
    own_credits    REAL NOT NULL DEFAULT 0,
    credits        REAL NOT NULL DEFAULT 0, -- own_credits + sum of step credits (derived)
    input_tokens   INTEGER NOT NULL DEFAULT 0,
    output_tokens  INTEGER NOT NULL DEFAULT 0,
    own_input_tokens  INTEGER NOT NULL DEFAULT 0,
    own_output_tokens INTEGER NOT NULL DEFAULT 0,
    metadata       TEXT,
    session_id     TEXT NOT NULL DEFAULT '',
    rerun_of       TEXT NOT NULL DEFAULT '',
    step_count     INTEGER NOT NULL DEFAULT 0,
    reported       INTEGER NOT NULL DEFAULT 0, -- 1 once the run itself (not only steps) arrived
    reported_start INTEGER,                -- started_at as the client gave it
    reported_end   INTEGER,
    reported_duration REAL,
    reported_error_type    TEXT,
    reported_error_message TEXT,       -- the run's own error; error_* adds the first failed step's
    PRIMARY KEY (account_id, id)
);
CREATE INDEX runs_time ON runs(account_id, sort_time DESC, id DESC);
CREATE INDEX runs_agent_time ON runs(account_id, agent_id, sort_time DESC, id DESC);
CREATE INDEX runs_agent_status_time ON runs(account_id, agent_id, status, sort_time DESC, id DESC);
CREATE INDEX runs_status_time ON runs(account_id, status, sort_time DESC, id DESC);
CREATE INDEX runs_duration ON runs(account_id, duration_ms DESC, id DESC);
CREATE INDEX runs_credits ON runs(account_id, credits DESC, id DESC);
CREATE INDEX runs_session ON runs(account_id, session_id) WHERE session_id <> '';
CREATE INDEX runs_rerun_of ON runs(account_id, rerun_of) WHERE rerun_of <> '';

CREATE TABLE run_tags (
    account_id TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    tag        TEXT NOT NULL,
    PRIMARY KEY (account_id, tag, run_id)
);
CREATE INDEX run_tags_run ON run_tags(account_id, run_id);

CREATE TABLE steps (
    account_id    TEXT NOT NULL,
    run_id        TEXT NOT NULL,
    id            TEXT NOT NULL,
    parent_id     TEXT NOT NULL DEFAULT '',
    seq           INTEGER NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    type          TEXT NOT NULL,
    status        TEXT NOT NULL,
    input         TEXT,
    output        TEXT,
    error_type    TEXT,
    error_message TEXT,
    started_at    INTEGER,
    ended_at      INTEGER,
    duration_ms   REAL NOT NULL DEFAULT 0,
    credits       REAL NOT NULL DEFAULT 0,
    credits_reported INTEGER NOT NULL DEFAULT 0,
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    model         TEXT NOT NULL DEFAULT '',
    metadata      TEXT,
    PRIMARY KEY (account_id, run_id, id)
);
CREATE UNIQUE INDEX steps_seq ON steps(account_id, run_id, seq);
CREATE INDEX steps_model ON steps(account_id, model, run_id) WHERE model <> '';

-- Full-text search over inputs, outputs and errors. rowid is the rowid of the
-- runs or steps row, so a re-ingested item replaces its entry by rowid.
CREATE VIRTUAL TABLE runs_fts USING fts5(body, content = '', contentless_delete = 1, tokenize = 'unicode61');
CREATE VIRTUAL TABLE steps_fts USING fts5(body, content = '', contentless_delete = 1, tokenize = 'unicode61');

CREATE TABLE prices (
    account_id         TEXT NOT NULL,
    model              TEXT NOT NULL,
    input_per_million  REAL NOT NULL,
    output_per_million REAL NOT NULL,
    PRIMARY KEY (account_id, model)
);

-- Verdicts of evaluators on runs; current = 1 marks the latest verdict per
-- (run, evaluator), older ones are kept as history.
CREATE TABLE eval_results (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    run_id         TEXT NOT NULL,
    evaluator_id   TEXT NOT NULL,
    evaluator_name TEXT NOT NULL,
    verdict        TEXT NOT NULL,
    score          REAL,
    reason         TEXT NOT NULL DEFAULT '',
    step_id        TEXT NOT NULL DEFAULT '',
    job_id         TEXT NOT NULL DEFAULT '',
    current        INTEGER NOT NULL DEFAULT 1,
    created_at     INTEGER NOT NULL
);
CREATE INDEX eval_results_run ON eval_results(account_id, run_id, current);
CREATE INDEX eval_results_name ON eval_results(account_id, evaluator_name, verdict, run_id) WHERE current = 1;
