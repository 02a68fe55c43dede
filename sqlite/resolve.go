package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
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

// concentrationSample is how many of the first matching steps of a text
// that is not rare are looked up to tell whether they belong to few runs
// (10 or more a run), and concentratedMatches how many such steps are then
// collected at most.
var concentrationSample, concentratedMatches = 200, 50_000

// ResolveTexts looks up the full-text terms of a query before it runs. A
// rare text (an id, an email, an uncommon word) is compiled into the list of
// the runs it matches, which the query reads by rowid: left to the query, it
// would test run after run in sort order against the whole match and, as few
// match, go through every run (140 ms over 100,000 runs of prose, growing
// with the store); the rowids are of every account's runs, the query keeps
// its own. A common text is left to the query (see
// sqlfilter.SQLite.Paged): a page of it is found early in sort order. Finding
// out costs at most rareMatches+1 rowids read from each index, and ~12 µs per
// matching step to find its run (over 100,000 runs of prose: 23 ms at 2,000
// steps, 142 ms at 12,000, where the paged query takes 6.5 ms).
func (dialect) ResolveTexts(ctx context.Context, read *sql.DB, _ string, texts []string, paged bool) (sqlfilter.Dialect, error) {
	d := sqlfilter.SQLite{Paged: paged}
	seen := map[string]bool{}
	for _, text := range texts {
		if seen[text] {
			continue // a query may name a text twice (x -x)
		}
		seen[text] = true
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
// then in steps_fts. When both are fewer it answers the runs they belong to.
// Otherwise it answers whether text is a phrase (two words or more) that
// matches at least denseShare of the entries it was read through; or, when
// the steps it matches belong to few runs (an id repeated through a few long
// runs, which a page in sort order would look for through every run), the
// runs of up to concentratedMatches of them.
func lookUp(ctx context.Context, read *sql.DB, text string) (textPlan, error) {
	phrase := sqlfilter.FTS5Phrase(text)
	first := func(table string, limit int) ([]int64, bool, error) {
		return matchRowids(ctx, read, limit, `SELECT rowid FROM `+table+` WHERE `+table+` MATCH ? LIMIT `+strconv.Itoa(limit+1), phrase)
	}
	runs, few, err := first("runs_fts", rareMatches)
	if err != nil || !few {
		return textPlan{dense: isDense(text, runs)}, err
	}
	steps, few, err := first("steps_fts", rareMatches)
	if err != nil {
		return textPlan{}, err
	}
	if !few {
		if isDense(text, steps) {
			return textPlan{dense: true}, nil
		}
		sample, err := runsOfSteps(ctx, read, steps[:min(len(steps), concentrationSample)])
		if err != nil || len(sample)*10 > min(len(steps), concentrationSample) {
			return textPlan{}, err // fewer than 10 matching steps a run
		}
		if steps, few, err = first("steps_fts", concentratedMatches); err != nil || !few {
			return textPlan{}, err
		}
	}
	ofSteps, err := runsOfSteps(ctx, read, steps)
	if err != nil {
		return textPlan{}, err
	}
	runs = append(runs, ofSteps...)
	slices.Sort(runs)
	return textPlan{rare: true, runs: slices.Compact(runs)}, nil
}

// isDense tells whether text is a phrase whose first matching entries, ids
// in ascending order as FTS5 answers them, make up at least denseShare of
// the rowids they span.
func isDense(text string, ids []int64) bool {
	return len(ids) > 0 && words(text) > 1 && float64(len(ids))/float64(ids[len(ids)-1]-ids[0]+1) >= denseShare
}

// runsOfSteps answers the rowids of the runs of steps (steps rowids), once
// each.
func runsOfSteps(ctx context.Context, read *sql.DB, steps []int64) ([]int64, error) {
	if len(steps) == 0 {
		return nil, nil
	}
	list, _ := json.Marshal(steps)
	runs, _, err := matchRowids(ctx, read, len(steps), `SELECT DISTINCT r.rowid FROM steps s JOIN runs r ON r.account_id = s.account_id AND r.id = s.run_id
		WHERE s.rowid IN (SELECT value FROM json_each(?))`, string(list))
	return runs, err
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

// matchRowids reads the integers a query answers; few is false when they
// are more than limit (the query reads at most one more).
func matchRowids(ctx context.Context, read *sql.DB, limit int, query string, args ...any) (ids []int64, few bool, err error) {
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
	return ids, len(ids) <= limit, nil
}
