package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
)

var _ store.Evals = (*Store)(nil)

const evaluatorCols = `id, name, description, kind, config, secret, agent_ids, created_at, updated_at`

func scanEvaluator(sc scanner) (agenttrace.Evaluator, error) {
	var e agenttrace.Evaluator
	var kind, config, agents string
	var created, updated int64
	if err := sc.Scan(&e.ID, &e.Name, &e.Description, &kind, &config, &e.Secret, &agents, &created, &updated); err != nil {
		return e, err
	}
	e.Kind = agenttrace.EvaluatorKind(kind)
	e.Config = json.RawMessage(config)
	if err := json.Unmarshal([]byte(agents), &e.AgentIDs); err != nil {
		return e, fmt.Errorf("evaluator %s agent_ids: %w", e.ID, err)
	}
	if e.AgentIDs == nil {
		e.AgentIDs = []string{}
	}
	e.SecretSet = e.Secret != ""
	e.CreatedAt, e.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return e, nil
}

func evaluatorArgs(e agenttrace.Evaluator) (config, agents string) {
	config = string(e.Config)
	if config == "" {
		config = "{}"
	}
	if e.AgentIDs == nil {
		e.AgentIDs = []string{}
	}
	b, _ := json.Marshal(e.AgentIDs)
	return config, string(b)
}

func (s *Store) nameTaken(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, accountID, name, exceptID string) error {
	var id string
	err := q.QueryRowContext(ctx, s.q(`SELECT id FROM evaluators WHERE account_id = ? AND name = ?`), accountID, name).Scan(&id)
	if isNoRows(err) || (err == nil && id == exceptID) {
		return nil
	}
	if err != nil {
		return err
	}
	return agenttrace.Errorf(agenttrace.ECONFLICT, "name: an evaluator named %q already exists (id %s)", name, id)
}

// CreateEvaluator stores a new evaluator (ECONFLICT if its name or id is taken).
func (s *Store) CreateEvaluator(ctx context.Context, accountID string, e agenttrace.Evaluator) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.nameTaken(ctx, tx, accountID, e.Name, ""); err != nil {
			return err
		}
		var one int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM evaluators WHERE account_id = ? AND id = ?`), accountID, e.ID).Scan(&one); err == nil {
			return agenttrace.Errorf(agenttrace.ECONFLICT, "id: evaluator %q already exists", e.ID)
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = s.now()
		}
		if e.UpdatedAt.IsZero() {
			e.UpdatedAt = e.CreatedAt
		}
		config, agents := evaluatorArgs(e)
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO evaluators (account_id, `+evaluatorCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			accountID, e.ID, e.Name, e.Description, string(e.Kind), config, e.Secret, agents, e.CreatedAt.UnixNano(), e.UpdatedAt.UnixNano())
		return err
	})
}

// GetEvaluator answers one evaluator of the account.
func (s *Store) GetEvaluator(ctx context.Context, accountID, id string) (agenttrace.Evaluator, error) {
	e, err := scanEvaluator(s.read.QueryRowContext(ctx, s.q(`SELECT `+evaluatorCols+` FROM evaluators WHERE account_id = ? AND id = ?`), accountID, id))
	if isNoRows(err) {
		return e, notFound("evaluator", id)
	}
	return e, err
}

// ListEvaluators answers the account's evaluators by name.
func (s *Store) ListEvaluators(ctx context.Context, accountID string) ([]agenttrace.Evaluator, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+evaluatorCols+` FROM evaluators WHERE account_id = ? ORDER BY name`), accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []agenttrace.Evaluator{}
	for rows.Next() {
		e, err := scanEvaluator(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// UpdateEvaluator replaces an evaluator's fields (ENOTFOUND, ECONFLICT on a taken name).
func (s *Store) UpdateEvaluator(ctx context.Context, accountID string, e agenttrace.Evaluator) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.nameTaken(ctx, tx, accountID, e.Name, e.ID); err != nil {
			return err
		}
		if e.UpdatedAt.IsZero() {
			e.UpdatedAt = s.now()
		}
		config, agents := evaluatorArgs(e)
		res, err := tx.ExecContext(ctx, s.q(`UPDATE evaluators SET name = ?, description = ?, kind = ?, config = ?, secret = ?, agent_ids = ?, updated_at = ?
			WHERE account_id = ? AND id = ?`),
			e.Name, e.Description, string(e.Kind), config, e.Secret, agents, e.UpdatedAt.UnixNano(), accountID, e.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("evaluator", e.ID)
		}
		return nil
	})
}

// DeleteEvaluator removes an evaluator; its verdicts stay.
func (s *Store) DeleteEvaluator(ctx context.Context, accountID, id string) error {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM evaluators WHERE account_id = ? AND id = ?`), accountID, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("evaluator", id)
	}
	return nil
}

// SaveEvalResults supersedes the current verdicts of the same (run,
// evaluator) pairs and inserts the new ones, in one transaction: one UPDATE
// per evaluator and chunk of runs, and multi-row INSERTs.
func (s *Store) SaveEvalResults(ctx context.Context, accountID string, results []agenttrace.EvalResult) error {
	if len(results) == 0 {
		return nil
	}
	now := s.now()
	rs := make([]agenttrace.EvalResult, len(results))
	copy(rs, results)
	byEval := map[string][]string{}
	var order []string
	for i := range rs {
		r := &rs[i]
		if r.ID == "" {
			r.ID = agenttrace.NewID("ev_")
		}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		switch r.Verdict {
		case agenttrace.VerdictPass, agenttrace.VerdictFail, agenttrace.VerdictError:
		default:
			return agenttrace.Errorf(agenttrace.EINVALID, "verdict: %q is not pass, fail or error", r.Verdict)
		}
		if _, ok := byEval[r.EvaluatorID]; !ok {
			order = append(order, r.EvaluatorID)
		}
		byEval[r.EvaluatorID] = append(byEval[r.EvaluatorID], r.RunID)
	}
	const chunk = 400
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, evID := range order {
			runs := byEval[evID]
			for off := 0; off < len(runs); off += chunk {
				part := runs[off:min(off+chunk, len(runs))]
				args := []any{accountID, evID}
				for _, id := range part {
					args = append(args, id)
				}
				if _, err := tx.ExecContext(ctx, s.q(`UPDATE eval_results SET current = 0 WHERE account_id = ? AND evaluator_id = ? AND current = 1 AND run_id IN (`+inList(len(part))+`)`), args...); err != nil {
					return err
				}
			}
		}
		// Within one call, a later result of the same pair wins.
		last := map[[2]string]int{}
		for i := range rs {
			last[[2]string{rs[i].RunID, rs[i].EvaluatorID}] = i
		}
		const rowsPer = 50
		for off := 0; off < len(rs); off += rowsPer {
			part := rs[off:min(off+rowsPer, len(rs))]
			var sb strings.Builder
			sb.WriteString(`INSERT INTO eval_results (id, account_id, run_id, evaluator_id, evaluator_name, verdict, score, reason, step_id, job_id, current, created_at) VALUES `)
			args := make([]any, 0, len(part)*11)
			for k, r := range part {
				if k > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				var score any
				if r.Score != nil {
					score = *r.Score
				}
				current := 0
				if last[[2]string{r.RunID, r.EvaluatorID}] == off+k {
					current = 1
				}
				args = append(args, r.ID, accountID, r.RunID, r.EvaluatorID, r.EvaluatorName, r.Verdict, score, r.Reason, r.StepID, r.JobID, current, r.CreatedAt.UnixNano())
			}
			if _, err := tx.ExecContext(ctx, s.q(sb.String()), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

func inList(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// ListEvalResults answers a page of verdicts, oldest first.
func (s *Store) ListEvalResults(ctx context.Context, accountID string, f store.EvalResultFilter) (store.EvalResultPage, error) {
	page := store.EvalResultPage{Results: []agenttrace.EvalResult{}}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	if limit > 1000 {
		return page, agenttrace.Errorf(agenttrace.EINVALID, "limit: %d is over the limit of 1000", limit)
	}
	if len(f.RunIDs) > 1000 {
		return page, agenttrace.Errorf(agenttrace.EINVALID, "run_ids: %d ids is over the limit of 1000", len(f.RunIDs))
	}
	where := []string{"account_id = ?"}
	args := []any{accountID}
	if !f.All {
		where = append(where, "current = 1")
	}
	if f.JobID != "" {
		where, args = append(where, "job_id = ?"), append(args, f.JobID)
	}
	if f.EvaluatorID != "" {
		where, args = append(where, "evaluator_id = ?"), append(args, f.EvaluatorID)
	}
	if f.Verdict != "" {
		where, args = append(where, "verdict = ?"), append(args, f.Verdict)
	}
	if len(f.RunIDs) > 0 {
		where = append(where, "run_id IN ("+inList(len(f.RunIDs))+")")
		for _, id := range f.RunIDs {
			args = append(args, id)
		}
	}
	if f.Cursor != "" {
		t, id, err := decodeEvalCursor(f.Cursor)
		if err != nil {
			return page, err
		}
		// The redundant >= gives the planner an index range; without it
		// SQLite scans from the start on every page.
		where = append(where, "created_at >= ? AND (created_at > ? OR (created_at = ? AND id > ?))")
		args = append(args, t, t, t, id)
	}
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+evalCols+` FROM eval_results WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at, id LIMIT `+strconv.Itoa(limit+1)), args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEval(rows)
		if err != nil {
			return page, err
		}
		if len(page.Results) == limit {
			last := page.Results[limit-1]
			page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.CreatedAt.UnixNano(), 10) + ":" + last.ID))
			break
		}
		page.Results = append(page.Results, e)
	}
	return page, rows.Err()
}

func decodeEvalCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		ts, id, ok := strings.Cut(string(b), ":")
		if n, perr := strconv.ParseInt(ts, 10, 64); ok && perr == nil && id != "" && storable(id) {
			return n, id, nil
		}
	}
	return 0, "", agenttrace.Errorf(agenttrace.EINVALID, "cursor: not a cursor this server gave out")
}

const countCols = `evaluator_id, MAX(evaluator_name),
	COALESCE(SUM(CASE WHEN verdict = 'pass' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN verdict = 'fail' THEN 1 ELSE 0 END), 0),
	COALESCE(SUM(CASE WHEN verdict = 'error' THEN 1 ELSE 0 END), 0)`

// CountEvalResults counts the verdicts a job wrote, per evaluator.
func (s *Store) CountEvalResults(ctx context.Context, accountID, jobID string) ([]store.EvalCount, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+countCols+` FROM eval_results WHERE account_id = ? AND job_id = ? GROUP BY evaluator_id ORDER BY 2`), accountID, jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.EvalCount{}
	for rows.Next() {
		var c store.EvalCount
		if err := rows.Scan(&c.EvaluatorID, &c.EvaluatorName, &c.Pass, &c.Fail, &c.Error); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// EvalStats counts current verdicts per evaluator and bucket of run time.
func (s *Store) EvalStats(ctx context.Context, accountID string, opts store.EvalStatsOptions) ([]store.EvalStatsBucket, error) {
	width, err := bucketWidth(opts.Interval)
	if err != nil {
		return nil, err
	}
	where, wargs, err := s.where(ctx, accountID, opts.Query, false)
	if err != nil {
		return nil, err
	}
	w := int64(width)
	from := opts.From.UTC().Truncate(width).UnixNano()
	args := append([]any{from, w}, wargs...)
	args = append(args, opts.From.UnixNano(), opts.To.UnixNano())
	extra := ""
	if opts.EvaluatorID != "" {
		extra = " AND e.evaluator_id = ?"
		args = append(args, opts.EvaluatorID)
	}
	sqlText := `SELECT (r.sort_time - ?) / ? AS b, e.evaluator_id, MAX(e.evaluator_name),
		COALESCE(SUM(CASE WHEN e.verdict = 'pass' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN e.verdict = 'fail' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN e.verdict = 'error' THEN 1 ELSE 0 END), 0)
		FROM eval_results e JOIN runs r ON r.account_id = e.account_id AND r.id = e.run_id
		WHERE ` + where + ` AND e.current = 1 AND r.sort_time >= ? AND r.sort_time < ?` + extra + `
		GROUP BY b, e.evaluator_id ORDER BY b, e.evaluator_id`
	rows, err := s.read.QueryContext(ctx, s.q(sqlText), args...)
	if err != nil {
		return nil, fmt.Errorf("eval stats: %w", err)
	}
	defer rows.Close()
	out := []store.EvalStatsBucket{}
	for rows.Next() {
		var b store.EvalStatsBucket
		var i int64
		if err := rows.Scan(&i, &b.EvaluatorID, &b.EvaluatorName, &b.Pass, &b.Fail, &b.Error); err != nil {
			return nil, err
		}
		b.Time = time.Unix(0, from+i*w).UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

// RunsForEval loads runs and their steps in two queries, in the order of ids.
func (s *Store) RunsForEval(ctx context.Context, accountID string, ids []string, light bool) ([]agenttrace.Run, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > 1000 {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "run ids: %d is over the limit of 1000", len(ids))
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, accountID)
	for _, id := range ids {
		args = append(args, id)
	}
	cols := runColsFull
	if light {
		cols = runColsLight
	}
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+cols+` FROM runs r WHERE r.account_id = ? AND r.id IN (`+inList(len(ids))+`)`), args...)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*agenttrace.Run, len(ids))
	for rows.Next() {
		r, _, err := scanRun(rows, !light)
		if err != nil {
			rows.Close()
			return nil, err
		}
		byID[r.ID] = &r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sc := stepCols
	if light {
		sc = stepColsLight
	}
	rows, err = s.read.QueryContext(ctx, s.q(`SELECT `+sc+` FROM steps WHERE account_id = ? AND run_id IN (`+inList(len(ids))+`) ORDER BY run_id, seq`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var st agenttrace.Step
		var err error
		if light {
			st, err = scanStepLight(rows)
		} else {
			st, err = scanStep(rows)
		}
		if err != nil {
			return nil, err
		}
		if r := byID[st.RunID]; r != nil {
			r.Steps = append(r.Steps, st)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]agenttrace.Run, 0, len(byID))
	for _, id := range ids {
		if r := byID[id]; r != nil {
			out = append(out, *r)
			delete(byID, id) // a repeated id is answered once
		}
	}
	return out, nil
}

// RunIDPage pages the ids of matching runs by (sort_time, id) descending; the
// row-value comparison lets SQLite and PostgreSQL seek in the runs_time index.
func (s *Store) RunIDPage(ctx context.Context, accountID string, q *query.Query, cursor string, limit int) ([]string, string, error) {
	if limit <= 0 || limit > 1000 {
		limit = 500
	}
	where, args, err := s.where(ctx, accountID, q, true)
	if err != nil {
		return nil, "", err
	}
	if cursor != "" {
		t, id, err := decodeEvalCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		where += " AND (r.sort_time, r.id) < (?, ?)"
		args = append(args, t, id)
	}
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT r.id, r.sort_time FROM runs r WHERE `+where+` ORDER BY r.sort_time DESC, r.id DESC LIMIT `+strconv.Itoa(limit)), args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	ids := make([]string, 0, limit)
	var lastT int64
	for rows.Next() {
		var id string
		if err := rows.Scan(&id, &lastT); err != nil {
			return nil, "", err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(ids) == limit {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(lastT, 10) + ":" + ids[len(ids)-1]))
	}
	return ids, next, nil
}

const stepColsLight = `id, run_id, parent_id, seq, name, type, status, error_type, error_message, duration_ms, credits, input_tokens, output_tokens, model`

func scanStepLight(sc scanner) (agenttrace.Step, error) {
	var st agenttrace.Step
	var typ, status string
	var errType, errMsg sql.NullString
	if err := sc.Scan(&st.ID, &st.RunID, &st.ParentID, &st.Seq, &st.Name, &typ, &status, &errType, &errMsg,
		&st.DurationMS, &st.Credits, &st.Usage.InputTokens, &st.Usage.OutputTokens, &st.Model); err != nil {
		return st, err
	}
	st.Type, st.Status = agenttrace.StepType(typ), agenttrace.Status(status)
	if errMsg.Valid {
		st.Error = &agenttrace.StepError{Type: errType.String, Message: errMsg.String}
	}
	return st, nil
}
