package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
	"github.com/agenttrace/agenttrace/store/sqlfilter"
)

const runColsLight = `r.id, r.agent_id, r.status, r.trigger, r.error_type, r.error_message, r.error_step_id, r.started_at, r.ended_at,
	r.duration_ms, r.credits, r.own_credits, r.input_tokens, r.output_tokens, r.session_id, r.rerun_of, r.step_count, r.sort_time`

const runColsFull = runColsLight + `, r.input, r.output, r.metadata`

type scanner interface{ Scan(...any) error }

func scanRun(sc scanner, full bool) (agenttrace.Run, int64, error) {
	var (
		r                      agenttrace.Run
		status                 string
		errType, errMsg, errSt sql.NullString
		start, end             sql.NullInt64
		sortTime               int64
		input, output, md      sql.NullString
	)
	dest := []any{&r.ID, &r.AgentID, &status, &r.Trigger, &errType, &errMsg, &errSt, &start, &end,
		&r.DurationMS, &r.Credits, &r.OwnCredits, &r.Usage.InputTokens, &r.Usage.OutputTokens, &r.SessionID, &r.RerunOf, &r.StepCount, &sortTime}
	if full {
		dest = append(dest, &input, &output, &md)
	}
	if err := sc.Scan(dest...); err != nil {
		return r, 0, err
	}
	r.Status = agenttrace.Status(status)
	r.StartedAt, r.EndedAt = fromNanos(start), fromNanos(end)
	if errMsg.Valid || errSt.Valid {
		r.Error = &agenttrace.RunError{Type: errType.String, Message: errMsg.String, StepID: errSt.String}
	}
	if input.Valid {
		r.Input = json.RawMessage(input.String)
	}
	if output.Valid {
		r.Output = json.RawMessage(output.String)
	}
	if md.Valid {
		if err := json.Unmarshal([]byte(md.String), &r.Metadata); err != nil {
			return r, 0, fmt.Errorf("run %s metadata: %w", r.ID, err)
		}
	}
	return r, sortTime, nil
}

// cursor is the keyset position after the last row of a page.
type cursor struct {
	Sort string  `json:"s"`
	Asc  bool    `json:"a,omitempty"`
	Num  float64 `json:"n,omitempty"`
	Int  int64   `json:"i,omitempty"`
	ID   string  `json:"id"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" || !storable(c.ID) {
		return c, agenttrace.Errorf(agenttrace.EINVALID, "cursor: not a cursor this server gave out")
	}
	return c, nil
}

// storable tells whether s could be a stored id, as the domain checks one
// (PostgreSQL refuses invalid UTF-8 and NUL as a parameter, so a crafted
// cursor made the query fail with a 500).
func storable(s string) bool {
	return agenttrace.CheckText("id", s, agenttrace.MaxIDLen) == nil
}

// where compiles q into the WHERE clause of a query over runs r; paged says
// the query stops at the end of a page of runs in sort order.
func (s *Store) where(ctx context.Context, accountID string, q *query.Query, paged bool) (string, []any, error) {
	if q == nil {
		q = &query.Query{}
	}
	d := s.d.Filter()
	if r, ok := s.d.(TextResolver); ok {
		var texts []string
		for _, t := range q.Terms {
			if t.Field == query.FieldText {
				texts = append(texts, t.Value)
			}
		}
		if len(texts) > 0 {
			var err error
			if d, err = r.ResolveTexts(ctx, s.read, accountID, texts, paged); err != nil {
				return "", nil, fmt.Errorf("full-text search: %w", err)
			}
		}
	}
	where, args := sqlfilter.Where(q, d, accountID)
	return where, args, nil
}

// ListRuns answers one page of the runs matching opts, in keyset order.
func (s *Store) ListRuns(ctx context.Context, accountID string, opts store.ListOptions) (store.RunPage, error) {
	page := store.RunPage{Runs: []agenttrace.Run{}}
	limit := opts.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 1000 {
		return page, agenttrace.Errorf(agenttrace.EINVALID, "limit: %d is over the limit of 1000", limit)
	}
	col := "r.sort_time"
	switch opts.Sort {
	case "", store.SortTime:
		opts.Sort = store.SortTime
	case store.SortDuration:
		col = "r.duration_ms"
	case store.SortCredits:
		col = "r.credits"
	default:
		return page, agenttrace.Errorf(agenttrace.EINVALID, "sort: unknown sort %q (supported: time, duration, credits)", opts.Sort)
	}
	where, args, err := s.where(ctx, accountID, opts.Query, true)
	if err != nil {
		return page, err
	}
	dir, cmp := "DESC", "<"
	if opts.Asc {
		dir, cmp = "ASC", ">"
	}
	if opts.Cursor != "" {
		c, err := decodeCursor(opts.Cursor)
		if err != nil {
			return page, err
		}
		if c.Sort != opts.Sort || c.Asc != opts.Asc {
			return page, agenttrace.Errorf(agenttrace.EINVALID, "cursor: it belongs to another sort order")
		}
		var v any = c.Num
		if opts.Sort == store.SortTime {
			v = c.Int
		}
		// The redundant col >= v gives the planner an index range: with only
		// the OR, SQLite 3.54 scans the index from its start on every page,
		// which made deep pagination quadratic.
		where += fmt.Sprintf(" AND %s %s= ? AND (%s %s ? OR (%s = ? AND r.id %s ?))", col, cmp, col, cmp, col, cmp)
		args = append(args, v, v, v, c.ID)
	}
	cols := runColsFull
	if opts.Light {
		cols = runColsLight
	}
	sqlText := fmt.Sprintf(`SELECT %s FROM runs r WHERE %s ORDER BY %s %s, r.id %s LIMIT %d`, cols, where, col, dir, dir, limit+1)
	rows, err := s.read.QueryContext(ctx, s.q(sqlText), args...)
	if err != nil {
		return page, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var lastSort int64
	for rows.Next() {
		r, st, err := scanRun(rows, !opts.Light)
		if err != nil {
			return page, err
		}
		if len(page.Runs) == limit {
			last := page.Runs[limit-1]
			c := cursor{Sort: opts.Sort, Asc: opts.Asc, ID: last.ID}
			switch opts.Sort {
			case store.SortTime:
				c.Int = lastSort
			case store.SortDuration:
				c.Num = last.DurationMS
			case store.SortCredits:
				c.Num = last.Credits
			}
			page.NextCursor = encodeCursor(c)
			break
		}
		lastSort = st
		page.Runs = append(page.Runs, r)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	return page, s.attachEvaluations(ctx, accountID, page.Runs)
}

// CountRuns counts the runs matching q.
func (s *Store) CountRuns(ctx context.Context, accountID string, q *query.Query) (int64, error) {
	where, args, err := s.where(ctx, accountID, q, false)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM runs r WHERE `+where), args...).Scan(&n)
	return n, err
}

// attachEvaluations fills the current verdicts of a page of runs (one query).
func (s *Store) attachEvaluations(ctx context.Context, accountID string, runs []agenttrace.Run) error {
	if len(runs) == 0 {
		return nil
	}
	idx := make(map[string]int, len(runs))
	ph := make([]string, len(runs))
	args := []any{accountID}
	for i, r := range runs {
		idx[r.ID] = i
		ph[i] = "?"
		args = append(args, r.ID)
	}
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+evalCols+` FROM eval_results WHERE account_id = ? AND current = 1 AND run_id IN (`+strings.Join(ph, ",")+`) ORDER BY evaluator_name`), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEval(rows)
		if err != nil {
			return err
		}
		i := idx[e.RunID]
		runs[i].Evaluations = append(runs[i].Evaluations, e)
	}
	return rows.Err()
}

const evalCols = `id, run_id, evaluator_id, evaluator_name, verdict, score, reason, step_id, job_id, created_at`

func scanEval(sc scanner) (agenttrace.EvalResult, error) {
	var e agenttrace.EvalResult
	var score sql.NullFloat64
	var created int64
	if err := sc.Scan(&e.ID, &e.RunID, &e.EvaluatorID, &e.EvaluatorName, &e.Verdict, &score, &e.Reason, &e.StepID, &e.JobID, &created); err != nil {
		return e, err
	}
	if score.Valid {
		e.Score = &score.Float64
	}
	e.CreatedAt = fromNanos(sql.NullInt64{Int64: created, Valid: true}).UTC()
	return e, nil
}

// GetRun answers one run with its steps, evaluations and re-runs.
func (s *Store) GetRun(ctx context.Context, accountID, id string) (agenttrace.Run, error) {
	r, _, err := scanRun(s.read.QueryRowContext(ctx, s.q(`SELECT `+runColsFull+` FROM runs r WHERE r.account_id = ? AND r.id = ?`), accountID, id), true)
	if isNoRows(err) {
		return r, notFound("run", id)
	}
	if err != nil {
		return r, err
	}
	if r.Steps, err = s.ListSteps(ctx, accountID, id); err != nil {
		return r, err
	}
	runs := []agenttrace.Run{r}
	if err := s.attachEvaluations(ctx, accountID, runs); err != nil {
		return r, err
	}
	r = runs[0]
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT id FROM runs WHERE account_id = ? AND rerun_of = ? ORDER BY sort_time`), accountID, id)
	if err != nil {
		return r, err
	}
	defer rows.Close()
	for rows.Next() {
		var rid string
		if err := rows.Scan(&rid); err != nil {
			return r, err
		}
		r.Reruns = append(r.Reruns, rid)
	}
	return r, rows.Err()
}

const stepCols = `id, run_id, parent_id, seq, name, type, status, input, output, error_type, error_message, started_at, ended_at,
	duration_ms, credits, credits_reported, input_tokens, output_tokens, model, metadata`

func scanStep(sc scanner) (agenttrace.Step, error) {
	var (
		st                agenttrace.Step
		typ, status       string
		input, output, md sql.NullString
		errType, errMsg   sql.NullString
		start, end        sql.NullInt64
		reported          int
	)
	if err := sc.Scan(&st.ID, &st.RunID, &st.ParentID, &st.Seq, &st.Name, &typ, &status, &input, &output, &errType, &errMsg,
		&start, &end, &st.DurationMS, &st.Credits, &reported, &st.Usage.InputTokens, &st.Usage.OutputTokens, &st.Model, &md); err != nil {
		return st, err
	}
	st.Type, st.Status = agenttrace.StepType(typ), agenttrace.Status(status)
	st.CreditsReported = reported == 1
	st.StartedAt, st.EndedAt = fromNanos(start), fromNanos(end)
	if input.Valid {
		st.Input = json.RawMessage(input.String)
	}
	if output.Valid {
		st.Output = json.RawMessage(output.String)
	}
	if errMsg.Valid {
		st.Error = &agenttrace.StepError{Type: errType.String, Message: errMsg.String}
	}
	if md.Valid {
		if err := json.Unmarshal([]byte(md.String), &st.Metadata); err != nil {
			return st, fmt.Errorf("step %s metadata: %w", st.ID, err)
		}
	}
	return st, nil
}

// ListSteps answers a run's steps in execution order (ENOTFOUND if no such run).
func (s *Store) ListSteps(ctx context.Context, accountID, runID string) ([]agenttrace.Step, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+stepCols+` FROM steps WHERE account_id = ? AND run_id = ? ORDER BY seq`), accountID, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []agenttrace.Step{}
	for rows.Next() {
		st, err := scanStep(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		var one int
		err := s.read.QueryRowContext(ctx, s.q(`SELECT 1 FROM runs WHERE account_id = ? AND id = ?`), accountID, runID).Scan(&one)
		if isNoRows(err) {
			return nil, notFound("run", runID)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
