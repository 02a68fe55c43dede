-- Full-text search reads a stored tsvector instead of an index on the expression
-- to_tsvector('simple', search_text). A GIN index keeps no word positions, so for a
-- phrase query (phraseto_tsquery) PostgreSQL parsed the whole text again for every
-- row the index offered: a phrase of two common words over 340,000 steps of prose
-- took 23 s. The tsvector holds the positions. It takes the place of search_text
-- (a copy of the inputs, outputs and errors, which keep their own columns), is
-- computed once when the text is written, and the updates of a run's totals no longer
-- parse its text again. Converting rewrites both tables once: 1 min 41 s for
-- 340,000 steps of prose on 2 vCPUs.
--
-- The text is taken again from the input, output and error columns, with the JSON
-- string escapes decoded as the store now does (sqlstore.SearchBody): search_text held
-- the raw JSON, where "line\nnext" gave the word "nnext" and never "next". Here jsonb's
-- text form decodes the \u escapes and the rest are replaced; jsonb orders object
-- keys its own way, which only matters to a phrase that spans two members.
-- A tsvector holds at most 1 MB. Text with more distinct words than that (a tool's output
-- of 30,000 ids fits in the 1 MiB a payload may take) made to_tsvector fail, and with it the
-- whole batch. agenttrace_tsvector indexes the first half of such a text, or quarter, and so
-- on, whichever fits first.
CREATE FUNCTION agenttrace_tsvector(t text) RETURNS tsvector LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    RETURN to_tsvector('simple', t);
EXCEPTION WHEN program_limit_exceeded THEN
    RETURN agenttrace_tsvector(left(t, length(t) / 2));
END $$;

CREATE FUNCTION pg_temp.agenttrace_json_text(j text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF j IS NULL THEN
        RETURN '';
    END IF;
    RETURN replace(replace(replace(replace(replace(replace(
        replace(j::jsonb::text, '\\', E'\x01'),
        '\n', E'\n'), '\t', E'\t'), '\r', E'\r'), '\"', '"'), '\/', '/'), E'\x01', '\');
EXCEPTION WHEN others THEN
    RETURN j; -- not JSON: as it is
END $$;

DROP INDEX runs_search;
DROP INDEX steps_search;
ALTER TABLE runs ALTER COLUMN search_text DROP DEFAULT;
ALTER TABLE runs ALTER COLUMN search_text TYPE tsvector USING agenttrace_tsvector(
    pg_temp.agenttrace_json_text(input) || E'\n' || pg_temp.agenttrace_json_text(output) || E'\n' || coalesce(reported_error_message, ''));
ALTER TABLE runs RENAME COLUMN search_text TO search;
ALTER TABLE runs ALTER COLUMN search SET DEFAULT ''::tsvector;
ALTER TABLE steps ALTER COLUMN search_text DROP DEFAULT;
ALTER TABLE steps ALTER COLUMN search_text TYPE tsvector USING agenttrace_tsvector(
    pg_temp.agenttrace_json_text(input) || E'\n' || pg_temp.agenttrace_json_text(output) || E'\n' || coalesce(error_message, ''));
ALTER TABLE steps RENAME COLUMN search_text TO search;
ALTER TABLE steps ALTER COLUMN search SET DEFAULT ''::tsvector;
CREATE INDEX runs_search ON runs USING GIN (search);
CREATE INDEX steps_search ON steps USING GIN (search);
DROP FUNCTION pg_temp.agenttrace_json_text(text);
