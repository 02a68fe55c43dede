package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strconv"

	"github.com/agenttrace/agenttrace/store/sqlfilter"
)

// rareMatches is how many entries of runs_fts, and of steps_fts, a text may
// match for the store to look its runs up before the query runs.
var rareMatches = 2000 // a variable for the tests

// ResolveTexts looks up the full-text terms of a query before it runs. A
// rare text (an id, an email, an uncommon word) is compiled into the list of
// the runs it matches, which the query reads by rowid: left to the query, it
// would test run after run in sort order against the whole match and, as few
// match, go through every run (140 ms over 100,000 runs of prose, growing
// with the store). A common text is left to the query (see
// sqlfilter.SQLite.Paged): a page of it is found early in sort order. Finding
// out costs at most rareMatches+1 rowids read from each index, and ~12 µs per
// matching step to find its run (over 100,000 runs of prose: 23 ms at 2,000
// steps, 142 ms at 12,000, where the paged query takes 6.5 ms).
func (dialect) ResolveTexts(ctx context.Context, read *sql.DB, texts []string, paged bool) (sqlfilter.Dialect, error) {
	d := sqlfilter.SQLite{Paged: paged}
	for _, text := range texts {
		if _, done := d.Runs[text]; done {
			continue
		}
		rowids, rare, err := rareRuns(ctx, read, text)
		if err != nil {
			return nil, err
		}
		if rare {
			if d.Runs == nil {
				d.Runs = map[string][]int64{}
			}
			d.Runs[text] = rowids
		}
	}
	return d, nil
}

// rareRuns answers the rowids of the runs that text matches, itself or by a
// step, when it matches at most rareMatches entries of each index.
func rareRuns(ctx context.Context, read *sql.DB, text string) ([]int64, bool, error) {
	phrase := sqlfilter.FTS5Phrase(text)
	runs, rare, err := matchRowids(ctx, read, `SELECT rowid FROM runs_fts WHERE runs_fts MATCH ? LIMIT `+strconv.Itoa(rareMatches+1), phrase)
	if err != nil || !rare {
		return nil, false, err
	}
	steps, rare, err := matchRowids(ctx, read, `SELECT rowid FROM steps_fts WHERE steps_fts MATCH ? LIMIT `+strconv.Itoa(rareMatches+1), phrase)
	if err != nil || !rare {
		return nil, false, err
	}
	if len(steps) > 0 {
		ofSteps, _, err := matchRowids(ctx, read, `SELECT r.rowid FROM steps s JOIN runs r ON r.account_id = s.account_id AND r.id = s.run_id
			WHERE s.rowid IN (`+sqlfilter.IntList(steps)+`)`)
		if err != nil {
			return nil, false, err
		}
		runs = append(runs, ofSteps...)
	}
	slices.Sort(runs)
	return slices.Compact(runs), true, nil
}

// matchRowids reads the integers a query answers; rare is false when they
// are more than rareMatches (the query reads at most one more).
func matchRowids(ctx context.Context, read *sql.DB, query string, args ...any) (ids []int64, rare bool, err error) {
	rows, err := read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, false, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return ids, len(ids) <= rareMatches, nil
}
