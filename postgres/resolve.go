package postgres

import (
	"context"
	"database/sql"
	"slices"

	"github.com/agenttrace/agenttrace/store/sqlfilter"
)

// rareMatches is how many runs, and how many steps, of an account a text may
// match for the store to look its runs up before the query runs.
var rareMatches = 2000 // a variable for the tests

// concentratedMatches is how many matching steps are collected at most when
// the first rareMatches+1 of them belong to few runs (10 or more a run: an
// id repeated through a few long runs, which a page in sort order would
// look for through every run).
var concentratedMatches = 50_000

// ResolveTexts looks up the full-text terms of a query before it runs (see
// Filter). A rare text (an id, an email, an uncommon word) is compiled into
// the ids of the account's runs it matches: left to a page query, it would
// test run after run in sort order and, as few match, go through every run.
// A common text is left to the query, which finds a page of it early in sort
// order. Finding out reads at most rareMatches+1 rows of runs and of steps
// through the GIN indexes.
func (Dialect) ResolveTexts(ctx context.Context, read *sql.DB, accountID string, texts []string, paged bool) (sqlfilter.Dialect, error) {
	f := Filter{Paged: paged}
	seen := map[string]bool{}
	for _, text := range texts {
		if seen[text] {
			continue // a query may name a text twice (x -x)
		}
		seen[text] = true
		ids, rare, err := lookUp(ctx, read, accountID, text)
		if err != nil {
			return nil, err
		}
		if rare {
			if f.Runs == nil {
				f.Runs = map[string][]string{}
			}
			f.Runs[text] = ids
		}
	}
	return f, nil
}

// lookUp answers the ids of the runs that match text, themselves or by a
// step, when they are rare: at most rareMatches runs and rareMatches steps,
// or steps of few runs (concentratedMatches at most).
func lookUp(ctx context.Context, read *sql.DB, accountID, text string) (ids []string, rare bool, err error) {
	runs, err := firstMatches(ctx, read, `SELECT id FROM runs WHERE account_id = $1 AND search @@ phraseto_tsquery('simple', $2) LIMIT $3`,
		accountID, text, rareMatches+1)
	if err != nil || len(runs) > rareMatches {
		return nil, false, err
	}
	const ofSteps = `SELECT run_id FROM steps WHERE account_id = $1 AND search @@ phraseto_tsquery('simple', $2) LIMIT $3`
	steps, err := firstMatches(ctx, read, ofSteps, accountID, text, rareMatches+1)
	if err != nil {
		return nil, false, err
	}
	if n := len(steps); n > rareMatches {
		if len(distinct(steps))*10 > n {
			return nil, false, nil
		}
		if steps, err = firstMatches(ctx, read, ofSteps, accountID, text, concentratedMatches+1); err != nil || len(steps) > concentratedMatches {
			return nil, false, err
		}
	}
	return distinct(append(runs, steps...)), true, nil
}

// firstMatches reads the strings a query answers.
func firstMatches(ctx context.Context, read *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// distinct sorts ids and drops repeats.
func distinct(ids []string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return slices.Compact(ids)
}
