-- Full-text search reads a stored tsvector instead of an index on the expression
-- to_tsvector('simple', search_text). A GIN index keeps no word positions, so for a
-- phrase query (phraseto_tsquery) PostgreSQL parsed the whole text again for every
-- row the index offered: a phrase of two common words over 340,000 steps of prose
-- took 23 s. The tsvector holds the positions. It takes the place of search_text
-- (a copy of the inputs, outputs and errors, which keep their own columns), is
-- computed once when the text is written, and the updates of a run's totals no longer
-- parse its text again. Converting rewrites both tables once: about 3 minutes for
-- 340,000 steps of prose on 2 vCPUs.
DROP INDEX runs_search;
DROP INDEX steps_search;
ALTER TABLE runs ALTER COLUMN search_text DROP DEFAULT;
ALTER TABLE runs ALTER COLUMN search_text TYPE tsvector USING to_tsvector('simple', search_text);
ALTER TABLE runs RENAME COLUMN search_text TO search;
ALTER TABLE runs ALTER COLUMN search SET DEFAULT ''::tsvector;
ALTER TABLE steps ALTER COLUMN search_text DROP DEFAULT;
ALTER TABLE steps ALTER COLUMN search_text TYPE tsvector USING to_tsvector('simple', search_text);
ALTER TABLE steps RENAME COLUMN search_text TO search;
ALTER TABLE steps ALTER COLUMN search SET DEFAULT ''::tsvector;
CREATE INDEX runs_search ON runs USING GIN (search);
CREATE INDEX steps_search ON steps USING GIN (search);
