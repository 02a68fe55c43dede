package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
)

// Ingest writes a normalized batch in one transaction. Runs are upserted by
// id, steps by (run, id); a step whose run has not arrived creates the run as
// "processing". Afterwards every touched run's totals are recomputed from its
// rows, so they are right whatever order the parts arrive in.
func (s *Store) Ingest(ctx context.Context, accountID string, b *agenttrace.Batch) (agenttrace.IngestResult, error) {
	res := agenttrace.IngestResult{Runs: len(b.Runs), Steps: len(b.Steps)}
	retry, _ := s.d.(Retryable)
	for attempt := 1; ; attempt++ {
		err := s.ingestOnce(ctx, accountID, b)
		if err == nil {
			return res, nil
		}
		if retry == nil || !retry.Retryable(err) || attempt == maxIngestAttempts {
			return agenttrace.IngestResult{}, err
		}
		// Concurrent batches touching the same runs in different orders
		// deadlock on PostgreSQL; one is aborted. Wait a little, with jitter
		// so that the two do not meet again, and write it again.
		select {
		case <-time.After(time.Duration(attempt*attempt)*5*time.Millisecond + time.Duration(rand.Int64N(int64(5*time.Millisecond)))):
		case <-ctx.Done():
			return agenttrace.IngestResult{}, err
		}
	}
}

// maxIngestAttempts bounds the retries of a batch aborted by a deadlock.
const maxIngestAttempts = 5

func (s *Store) ingestOnce(ctx context.Context, accountID string, b *agenttrace.Batch) error {
	return s.inStmtTx(ctx, func(tx *Tx) error {
		if l, ok := s.d.(RunLocker); ok {
			ids := make([]string, 0, len(b.Runs)+1)
			for i := range b.Runs {
				ids = append(ids, b.Runs[i].ID)
			}
			for i := range b.Steps {
				ids = append(ids, b.Steps[i].RunID)
			}
			if err := l.LockRuns(ctx, tx, accountID, ids); err != nil {
				return fmt.Errorf("lock runs: %w", err)
			}
		}
		prices, err := s.pricesTx(ctx, tx, accountID)
		if err != nil {
			return err
		}
		touched := make(map[string]bool, len(b.Runs)+1)
		var order []string
		touch := func(id string) {
			if !touched[id] {
				touched[id] = true
				order = append(order, id)
			}
		}
		now := s.now().UTC()
		if err := s.ingestRuns(ctx, tx, accountID, b.Runs, now.UnixNano()); err != nil {
			return err
		}
		for i := range b.Runs {
			touch(b.Runs[i].ID)
		}
		for i := range b.Steps {
			st := &b.Steps[i]
			if !st.CreditsReported && st.Model != "" {
				if p, ok := agenttrace.PriceFor(prices, st.Model); ok {
					st.Credits = p.Credits(st.Usage)
				}
			}
			touch(st.RunID)
		}
		if err := s.ingestSteps(ctx, tx, accountID, b.Steps, now.UnixNano()); err != nil {
			return err
		}
		for start := 0; start < len(order); start += runsPerStatement {
			if err := s.recomputeRuns(ctx, tx, accountID, order[start:min(start+runsPerStatement, len(order))]); err != nil {
				return fmt.Errorf("run totals: %w", err)
			}
		}
		return nil
	})
}

// runsPerStatement bounds the IN lists and multi-row statements over runs.
const runsPerStatement = 500

// ingestRuns writes the batch's runs: their agents (once each), the runs,
// their tags and their search text, in as few statements as it can.
func (s *Store) ingestRuns(ctx context.Context, tx *Tx, accountID string, runs []agenttrace.Run, now int64) error {
	if len(runs) == 0 {
		return nil
	}
	agents := map[string]bool{}
	for i := range runs {
		if agents[runs[i].AgentID] {
			continue
		}
		agents[runs[i].AgentID] = true
		if _, err := tx.Exec(ctx, `INSERT INTO agents (account_id, id, name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (account_id, id) DO NOTHING`,
			accountID, runs[i].AgentID, runs[i].AgentID, now); err != nil {
			return fmt.Errorf("runs[%d].agent_id: %w", i, err)
		}
	}
	texts := make([]TextItem, 0, len(runs))
	for start := 0; start < len(runs); start += runUpsertsPerStatement {
		chunk := runs[start:min(start+runUpsertsPerStatement, len(runs))]
		msgs, err := s.upsertRuns(ctx, tx, accountID, chunk, now)
		if err != nil {
			return fmt.Errorf("runs[%d..%d]: %w", start, start+len(chunk)-1, err)
		}
		for i := range chunk {
			texts = append(texts, TextItem{RunID: chunk[i].ID, Body: SearchBody(chunk[i].Input, chunk[i].Output, msgs[i])})
		}
	}
	for start := 0; start < len(runs); start += runsPerStatement {
		chunk := runs[start:min(start+runsPerStatement, len(runs))]
		args := []any{accountID}
		var tagArgs []any
		var rows []string
		for i := range chunk {
			args = append(args, chunk[i].ID)
			seen := map[string]bool{}
			for _, t := range chunk[i].Tags() {
				if !seen[t] {
					seen[t] = true
					tagArgs = append(tagArgs, accountID, chunk[i].ID, t)
					rows = append(rows, "(?, ?, ?)")
				}
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM run_tags WHERE account_id = ? AND run_id IN (`+marks(len(chunk))+`)`, args...); err != nil {
			return fmt.Errorf("runs: tags: %w", err)
		}
		for t := 0; t < len(rows); t += runsPerStatement {
			end := min(t+runsPerStatement, len(rows))
			if _, err := tx.Exec(ctx, `INSERT INTO run_tags (account_id, run_id, tag) VALUES `+strings.Join(rows[t:end], ", "), tagArgs[3*t:3*end]...); err != nil {
				return fmt.Errorf("runs: tags: %w", err)
			}
		}
	}
	if err := s.d.IndexTexts(ctx, tx, accountID, texts); err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	return nil
}

// Marks is n comma-separated placeholders, for IN lists.
func Marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func marks(n int) string { return Marks(n) }

// runUpsertsPerStatement bounds a multi-row run upsert (19 parameters a row).
const runUpsertsPerStatement = 100

const runUpsertHead = `INSERT INTO runs (account_id, id, agent_id, status, trigger, input, output, reported_error_type, reported_error_message,
		reported_start, reported_end, reported_duration, sort_time, own_credits, own_input_tokens, own_output_tokens,
		metadata, session_id, rerun_of, reported) VALUES `

const runUpsertRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`

const runUpsertTail = ` ON CONFLICT (account_id, id) DO UPDATE SET agent_id = excluded.agent_id, status = excluded.status,
		trigger = excluded.trigger, input = excluded.input, output = excluded.output,
		reported_error_type = excluded.reported_error_type, reported_error_message = excluded.reported_error_message,
		reported_start = excluded.reported_start, reported_end = excluded.reported_end,
		reported_duration = excluded.reported_duration,
		sort_time = CASE WHEN excluded.reported_start IS NOT NULL THEN excluded.reported_start ELSE runs.sort_time END,
		own_credits = excluded.own_credits, own_input_tokens = excluded.own_input_tokens,
		own_output_tokens = excluded.own_output_tokens, metadata = excluded.metadata,
		session_id = excluded.session_id, rerun_of = excluded.rerun_of, reported = 1`

// upsertRuns writes the runs' own fields in one statement (a batch never
// repeats a run id: Normalize refuses that) and answers each run's error
// message, for its search text.
func (s *Store) upsertRuns(ctx context.Context, tx *Tx, accountID string, runs []agenttrace.Run, now int64) ([]string, error) {
	var q strings.Builder
	q.WriteString(runUpsertHead)
	args := make([]any, 0, len(runs)*19)
	msgs := make([]string, len(runs))
	for i := range runs {
		r := &runs[i]
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(runUpsertRow)
		md, err := mdOrNil(r.Metadata)
		if err != nil {
			return nil, fmt.Errorf("runs[%d].metadata: %w", i, err)
		}
		var errType, errMsg any
		if r.Error != nil {
			errType, errMsg, msgs[i] = r.Error.Type, r.Error.Message, r.Error.Message
		}
		sortTime := now
		if r.StartedAt != nil {
			sortTime = r.StartedAt.UnixNano()
		}
		var dur any
		if r.DurationMS > 0 {
			dur = r.DurationMS
		}
		args = append(args, accountID, r.ID, r.AgentID, string(r.Status), r.Trigger, rawOrNil(r.Input), rawOrNil(r.Output), errType, errMsg,
			nanos(r.StartedAt), nanos(r.EndedAt), dur, sortTime, r.OwnCredits, r.Usage.InputTokens, r.Usage.OutputTokens,
			md, r.SessionID, r.RerunOf)
	}
	q.WriteString(runUpsertTail)
	_, err := tx.Exec(ctx, q.String(), args...)
	return msgs, err
}

// stepsPerStatement bounds a multi-row step upsert (21 parameters a row,
// well under SQLite's 32766 and PostgreSQL's 65535 parameter limits).
const stepsPerStatement = 100

const stepInsertHead = `INSERT INTO steps (account_id, run_id, id, parent_id, seq, name, type, status, input, output,
	error_type, error_message, started_at, ended_at, duration_ms, credits, credits_reported, input_tokens, output_tokens, model, metadata) VALUES `

const stepInsertTail = ` ON CONFLICT (account_id, run_id, id) DO UPDATE SET parent_id = excluded.parent_id, seq = excluded.seq,
	name = excluded.name, type = excluded.type, status = excluded.status, input = excluded.input, output = excluded.output,
	error_type = excluded.error_type, error_message = excluded.error_message, started_at = excluded.started_at,
	ended_at = excluded.ended_at, duration_ms = excluded.duration_ms, credits = excluded.credits,
	credits_reported = excluded.credits_reported, input_tokens = excluded.input_tokens,
	output_tokens = excluded.output_tokens, model = excluded.model, metadata = excluded.metadata`

const stepRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// ingestSteps writes the batch's steps: the runs they belong to (as
// processing placeholders when new), a seq check against steps already
// stored, multi-row upserts, and their search text.
func (s *Store) ingestSteps(ctx context.Context, tx *Tx, accountID string, steps []agenttrace.Step, now int64) error {
	if len(steps) == 0 {
		return nil
	}
	// Runs first: a step may arrive before its run.
	firstOf := map[string]int{}
	var runIDs []string
	for i := range steps {
		if _, ok := firstOf[steps[i].RunID]; !ok {
			firstOf[steps[i].RunID] = i
			runIDs = append(runIDs, steps[i].RunID)
		}
	}
	stored := map[string]map[int64]string{} // run → seq → step id, for runs that already had steps
	counts, err := s.placeholderRuns(ctx, tx, accountID, runIDs, func(runID string) int64 {
		if first := steps[firstOf[runID]]; first.StartedAt != nil {
			return first.StartedAt.UnixNano()
		}
		return now
	})
	if err != nil {
		return fmt.Errorf("steps: %w", err)
	}
	for _, runID := range runIDs {
		if counts[runID] == 0 {
			continue
		}
		rows, err := tx.Query(ctx, `SELECT seq, id FROM steps WHERE account_id = ? AND run_id = ?`, accountID, runID)
		if err != nil {
			return err
		}
		m := map[int64]string{}
		for rows.Next() {
			var seq int64
			var id string
			if err := rows.Scan(&seq, &id); err != nil {
				rows.Close()
				return err
			}
			m[seq] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		stored[runID] = m
	}
	for i := range steps {
		st := &steps[i]
		if other, ok := stored[st.RunID][st.Seq]; ok && other != st.ID {
			return agenttrace.Errorf(agenttrace.EINVALID, "steps[%d].seq: %d is already taken by step %q of run %q", i, st.Seq, other, st.RunID)
		}
	}
	texts := make([]TextItem, 0, len(steps))
	inline, _ := s.d.(InlineText)
	head, row, tail := stepInsertHead, stepRow, stepInsertTail
	if inline != nil {
		column, value := inline.SearchColumn()
		head = strings.Replace(head, "metadata) VALUES ", "metadata, "+column+") VALUES ", 1)
		row = strings.TrimSuffix(row, ")") + ", " + value + ")"
		tail += ", " + column + " = excluded." + column
	}
	for start := 0; start < len(steps); start += stepsPerStatement {
		chunk := steps[start:min(start+stepsPerStatement, len(steps))]
		var q strings.Builder
		q.WriteString(head)
		args := make([]any, 0, len(chunk)*22)
		for j := range chunk {
			st := &chunk[j]
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString(row)
			md, err := mdOrNil(st.Metadata)
			if err != nil {
				return fmt.Errorf("steps[%d].metadata: %w", start+j, err)
			}
			var errType, errMsg any
			msg := ""
			if st.Error != nil {
				errType, errMsg, msg = st.Error.Type, st.Error.Message, st.Error.Message
			}
			reported := 0
			if st.CreditsReported {
				reported = 1
			}
			args = append(args, accountID, st.RunID, st.ID, st.ParentID, st.Seq, st.Name, string(st.Type), string(st.Status),
				rawOrNil(st.Input), rawOrNil(st.Output), errType, errMsg, nanos(st.StartedAt), nanos(st.EndedAt), st.DurationMS,
				st.Credits, reported, st.Usage.InputTokens, st.Usage.OutputTokens, st.Model, md)
			body := SearchBody(st.Input, st.Output, msg)
			if inline != nil {
				args = append(args, inline.SearchText(body))
			} else {
				texts = append(texts, TextItem{RunID: st.RunID, StepID: st.ID, Body: body})
			}
		}
		q.WriteString(tail)
		if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
			if isSeqClash(err) {
				return agenttrace.Errorf(agenttrace.EINVALID, "steps[%d..%d].seq: a seq repeats one already stored for the same run", start, start+len(chunk)-1)
			}
			return fmt.Errorf("steps[%d..%d]: %w", start, start+len(chunk)-1, err)
		}
	}
	if len(texts) > 0 {
		if err := s.d.IndexTexts(ctx, tx, accountID, texts); err != nil {
			return fmt.Errorf("steps: %w", err)
		}
	}
	return nil
}

// placeholderRuns creates the runs that steps name but that do not exist yet
// (as "processing", sorted by their first step's start), and answers every
// run's stored step count, in two statements per runsPerStatement runs.
func (s *Store) placeholderRuns(ctx context.Context, tx *Tx, accountID string, runIDs []string, sortTime func(string) int64) (map[string]int64, error) {
	counts := make(map[string]int64, len(runIDs))
	for start := 0; start < len(runIDs); start += runUpsertsPerStatement {
		chunk := runIDs[start:min(start+runUpsertsPerStatement, len(runIDs))]
		rows := make([]string, len(chunk))
		args := make([]any, 0, 3*len(chunk))
		in := make([]any, 0, len(chunk)+1)
		in = append(in, accountID)
		for i, id := range chunk {
			rows[i] = "(?, ?, '', 'processing', ?)"
			args = append(args, accountID, id, sortTime(id))
			in = append(in, id)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO runs (account_id, id, agent_id, status, sort_time) VALUES `+strings.Join(rows, ", ")+
			` ON CONFLICT (account_id, id) DO NOTHING`, args...); err != nil {
			return nil, err
		}
		r, err := tx.Query(ctx, `SELECT id, step_count FROM runs WHERE account_id = ? AND id IN (`+marks(len(chunk))+`)`, in...)
		if err != nil {
			return nil, err
		}
		for r.Next() {
			var id string
			var n int64
			if err := r.Scan(&id, &n); err != nil {
				r.Close()
				return nil, err
			}
			counts[id] = n
		}
		r.Close()
		if err := r.Err(); err != nil {
			return nil, err
		}
	}
	return counts, nil
}

// isSeqClash recognises a violation of the unique (run, seq) index, which
// the check above misses only when a batch moves steps between seqs.
func isSeqClash(err error) bool {
	m := err.Error()
	return strings.Contains(m, "steps.seq") || strings.Contains(m, "steps_seq")
}

// recomputeRuns derives the totals of runs from their own fields and their
// steps: three reads for all the runs, then one update per run.
func (s *Store) recomputeRuns(ctx context.Context, tx *Tx, accountID string, ids []string) error {
	args := make([]any, 0, len(ids)+1)
	args = append(args, accountID)
	for _, id := range ids {
		args = append(args, id)
	}
	in := "(" + marks(len(ids)) + ")"
	// The sums below see every committed step of these runs: SQLite has one
	// writer, and on PostgreSQL the batch holds its runs' locks (RunLocker)
	// from its start, so a concurrent batch about the same runs has either
	// committed before this one began or waits until it commits. (A dialect
	// with several writers must implement RunLocker.)
	type stepSums struct {
		count            int64
		credits          float64
		inTok, outTok    int64
		minStart, maxEnd sql.NullInt64
	}
	sums := make(map[string]stepSums, len(ids))
	rows, err := tx.Query(ctx, `SELECT run_id, COUNT(*), COALESCE(SUM(credits), 0), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
		MIN(started_at), MAX(ended_at) FROM steps WHERE account_id = ? AND run_id IN `+in+` GROUP BY run_id`, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var t stepSums
		if err := rows.Scan(&id, &t.count, &t.credits, &t.inTok, &t.outTok, &t.minStart, &t.maxEnd); err != nil {
			rows.Close()
			return err
		}
		sums[id] = t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	type failure struct {
		seq          int64
		id, typ, msg sql.NullString
	}
	firstFailed := map[string]failure{}
	rows, err = tx.Query(ctx, `SELECT run_id, seq, id, error_type, error_message FROM steps WHERE account_id = ? AND run_id IN `+in+` AND status = 'failed'`, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var runID string
		var f failure
		if err := rows.Scan(&runID, &f.seq, &f.id, &f.typ, &f.msg); err != nil {
			rows.Close()
			return err
		}
		if cur, ok := firstFailed[runID]; !ok || f.seq < cur.seq {
			firstFailed[runID] = f
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	type update struct {
		id   string
		args []any
	}
	var updates []update
	rows, err = tx.Query(ctx, `SELECT id, reported_start, reported_end, reported_duration, own_credits, own_input_tokens, own_output_tokens,
		status, reported_error_type, reported_error_message, sort_time FROM runs WHERE account_id = ? AND id IN `+in, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			id               string
			repStart, repEnd sql.NullInt64
			repDur           sql.NullFloat64
			ownCredits       float64
			ownIn, ownOut    int64
			status           string
			errTyp, errMsg   sql.NullString
			sortTime         int64
		)
		if err := rows.Scan(&id, &repStart, &repEnd, &repDur, &ownCredits, &ownIn, &ownOut, &status, &errTyp, &errMsg, &sortTime); err != nil {
			rows.Close()
			return err
		}
		t := sums[id]
		failed := firstFailed[id]
		// Usage: the steps' sum when they report any, else what the run
		// reported (a client that sends both would otherwise be counted twice).
		inTok, outTok := t.inTok, t.outTok
		if inTok+outTok == 0 {
			inTok, outTok = ownIn, ownOut
		}
		start, end := repStart, repEnd
		if !start.Valid {
			start = t.minStart
		}
		ended := status == string(agenttrace.StatusCompleted) || status == string(agenttrace.StatusFailed)
		if !end.Valid && ended {
			end = t.maxEnd
		}
		dur := 0.0
		switch {
		case repDur.Valid:
			dur = repDur.Float64
		case start.Valid && end.Valid && end.Int64 >= start.Int64:
			dur = float64(end.Int64-start.Int64) / 1e6
		}
		if start.Valid {
			sortTime = start.Int64
		}
		// The run's error names the first failed step; a failed run without
		// its own message takes the step's.
		errType, errMessage := nullStr(errTyp), nullStr(errMsg)
		if !errMsg.Valid && failed.id.Valid && status == string(agenttrace.StatusFailed) {
			errType, errMessage = nullStr(failed.typ), failed.msg.String
			if !failed.msg.Valid {
				errMessage = "step " + failed.id.String + " failed"
			}
		}
		updates = append(updates, update{id, []any{t.count, ownCredits + t.credits, inTok, outTok, nullInt(start), nullInt(end), dur, sortTime,
			nullStr(failed.id), errType, errMessage, accountID, id}})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, u := range updates {
		if _, err := tx.Exec(ctx, `UPDATE runs SET step_count = ?, credits = ?, input_tokens = ?, output_tokens = ?, started_at = ?, ended_at = ?,
		duration_ms = ?, sort_time = ?, error_step_id = ?, error_type = ?, error_message = ? WHERE account_id = ? AND id = ?`, u.args...); err != nil {
			return fmt.Errorf("run %q: %w", u.id, err)
		}
	}
	return nil
}

func nullInt(n sql.NullInt64) any {
	if !n.Valid {
		return nil
	}
	return n.Int64
}

func nullStr(n sql.NullString) any {
	if !n.Valid {
		return nil
	}
	return n.String
}
