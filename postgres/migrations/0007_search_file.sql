-- The SQLite store moved its full-text index to a file of its own (sqlite/search.go).
-- PostgreSQL keeps search_text in its tables: nothing changes here; the number keeps
-- the two migration sets aligned.
SELECT 1;
