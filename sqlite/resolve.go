package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"unicode"

	"github.com/agenttrace/agenttrace/store/sqlfilter"
)

// rareMatches is how many entries of runs_fts, and of steps_fts, a text may
// match for the store to look its runs up before the query runs.
var rareMatches = 2000 // a variable for the tests

// denseShare is the share of entries a phrase matches from which a page of
// it is found by asking FTS5 about each run (MATCH with the run's rowid,
// ~0.3 ms each) rather than by collecting every match first: for a phrase
// FTS5 checks the words' positions in every entry that holds them all
// (0.5 s for a phrase of the two commonest words over 1M steps of prose).
var denseShare = 0.25

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
		plan, err := lookUp(ctx, read, text)
		if err != nil {
			return nil, err
		}
		switch {
		case plan.rare:
			if d.Runs == nil {
				d.Runs = map[string][]int64{}
			}
			d.Runs[text] = plan.runs
		case plan.dense:
			if d.Dense == nil {
				d.Dense = map[string]bool{}
			}
			d.Dense[text] = true
		}
	}
	return d, nil
}

// textPlan is what looking a text up found: the runs of a rare text, or
// that a phrase matches most entries.
type textPlan struct {
	rare  bool
	runs  []int64
	dense bool
}

// lookUp reads the first rareMatches+1 entries text matches in runs_fts,
// then in steps_fts. When both are fewer it answers the runs they belong to;
// otherwise whether text is a phrase (two words or more) that matches at
// least denseShare of the entries it was read through.
func lookUp(ctx context.Context, read *sql.DB, text string) (textPlan, error) {
	phrase := sqlfilter.FTS5Phrase(text)
	var entries []int64
	for _, table := range []string{"runs_fts", "steps_fts"} {
		ids, rare, err := matchRowids(ctx, read, `SELECT rowid FROM `+table+` WHERE `+table+` MATCH ? LIMIT `+strconv.Itoa(rareMatches+1), phrase)
		if err != nil {
			return textPlan{}, err
		}
		if !rare {
			// FTS5 answers rowids in ascending order
			dense := len(ids) > 0 && words(text) > 1 && float64(len(ids))/float64(ids[len(ids)-1]-ids[0]+1) >= denseShare
			return textPlan{dense: dense}, nil
		}
		if table == "runs_fts" {
			entries = ids
			continue
		}
		runs := entries
		if len(ids) > 0 {
			ofSteps, _, err := matchRowids(ctx, read, `SELECT r.rowid FROM steps s JOIN runs r ON r.account_id = s.account_id AND r.id = s.run_id
				WHERE s.rowid IN (`+sqlfilter.IntList(ids)+`)`)
			if err != nil {
				return textPlan{}, err
			}
			runs = append(runs, ofSteps...)
		}
		slices.Sort(runs)
		return textPlan{rare: true, runs: slices.Compact(runs)}, nil
	}
	panic("unreachable")
}

// words counts the words of text as the unicode61 tokenizer finds them:
// runs of letters and digits.
func words(text string) int {
	n, in := 0, false
	for _, c := range text {
		w := unicode.IsLetter(c) || unicode.IsDigit(c)
		if w && !in {
			n++
		}
		in = w
	}
	return n
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
