-- PostgreSQL now stores the tsvector of its search text (postgres/migrations); the
-- SQLite store's full-text index is FTS5, in its own file: nothing changes here; the
-- number keeps the two migration sets aligned.
SELECT 1;
