package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/store"
)

// Usage answers credits, tokens, runs and failures per time bucket, as one
// series or one per agent or model. Model series count the runs that used
// the model and the credits and tokens of that model's steps.
func (s *Store) Usage(ctx context.Context, accountID string, opts store.UsageOptions) ([]store.UsageBucket, error) {
	width, err := bucketWidth(opts.Interval)
	if err != nil {
		return nil, err
	}
	where, args, err := s.where(ctx, accountID, opts.Query, false)
	if err != nil {
		return nil, err
	}
	w := int64(width)
	from := opts.From.UTC().Truncate(width).UnixNano()
	var sqlText string
	switch opts.GroupBy {
	case "", "agent":
		group := "''"
		if opts.GroupBy == "agent" {
			group = "r.agent_id"
		}
		sqlText = fmt.Sprintf(`SELECT (r.sort_time - ?) / ? AS b, %s AS g, COUNT(*), COALESCE(SUM(CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(r.credits), 0), COALESCE(SUM(r.input_tokens), 0), COALESCE(SUM(r.output_tokens), 0)
			FROM runs r WHERE %s AND r.sort_time >= ? AND r.sort_time < ? GROUP BY b, g ORDER BY b, g`, group, where)
	case "model":
		sqlText = fmt.Sprintf(`SELECT (r.sort_time - ?) / ? AS b, s.model AS g, COUNT(DISTINCT r.id),
			COUNT(DISTINCT CASE WHEN r.status = 'failed' THEN r.id END),
			COALESCE(SUM(s.credits), 0), COALESCE(SUM(s.input_tokens), 0), COALESCE(SUM(s.output_tokens), 0)
			FROM runs r JOIN steps s ON s.account_id = r.account_id AND s.run_id = r.id AND s.model <> ''
			WHERE %s AND r.sort_time >= ? AND r.sort_time < ? GROUP BY b, g ORDER BY b, g`, where)
	default:
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "group_by: unknown grouping %q (supported: agent, model)", opts.GroupBy)
	}
	all := append([]any{from, w}, args...)
	all = append(all, opts.From.UnixNano(), opts.To.UnixNano())
	rows, err := s.read.QueryContext(ctx, s.q(sqlText), all...)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	defer rows.Close()
	out := []store.UsageBucket{}
	for rows.Next() {
		var b store.UsageBucket
		var i int64
		if err := rows.Scan(&i, &b.Group, &b.Runs, &b.FailedRuns, &b.Credits, &b.InputTokens, &b.OutputTokens); err != nil {
			return nil, err
		}
		b.Time = time.Unix(0, from+i*w).UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

// bucketWidth is the width of a time bucket of a usage or stats series.
func bucketWidth(interval string) (time.Duration, error) {
	switch interval {
	case "hour":
		return time.Hour, nil
	case "", "day":
		return 24 * time.Hour, nil
	}
	return 0, agenttrace.Errorf(agenttrace.EINVALID, "interval: unknown interval %q (supported: hour, day)", interval)
}
