-- Finished export files kept in the database, in parts of 1 MiB, when the
-- server runs as one of several replicas (any replica serves the download).
CREATE TABLE export_files (
    job_id TEXT NOT NULL,
    part   INTEGER NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (job_id, part)
);
