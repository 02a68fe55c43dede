-- The full-text index moves to its own file (agenttrace.db.search, see
-- sqlite/search.go), built from the runs and steps when the store opens.
-- search_pending names the rows each batch gave the indexer, until the
-- search file records them as indexed.
DROP TABLE runs_fts;
DROP TABLE steps_fts;
CREATE TABLE search_pending (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    run_rowids  TEXT NOT NULL,
    step_rowids TEXT NOT NULL
);
