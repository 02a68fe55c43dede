package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/sqlstore"
)

// The floor benchmarks measure what SQLite alone costs per ingest batch of
// the load tool's shape (100 runs × 10 steps, 1 KiB input and 1 KiB output
// per step), with none of HTTP, decoding, validation, upserts or run totals:
// the least either of ingest's two writers can spend. docs/benchmarks.md
// sets them against the ingest target.
//
//	go test -run XXX -bench Floor -benchtime 100x -count 3 ./sqlite/

// floorText is n bytes of words, varied by seed, like the load tool's.
func floorText(n, seed int) string {
	words := strings.Fields("refund order timeout invoice customer search answer policy shipping rate")
	var sb strings.Builder
	for i := seed; sb.Len() < n; i++ {
		sb.WriteString(words[i%len(words)])
		sb.WriteByte(' ')
	}
	return sb.String()[:n]
}

// BenchmarkFloorSearchIndex indexes one batch per op in the production
// search file: 100 run entries and 1,000 step entries, as the indexer does.
func BenchmarkFloorSearchIndex(b *testing.B) {
	ctx := context.Background()
	ix, err := openIndexer(ctx, filepath.Join(b.TempDir(), "floor.db"+SearchSuffix))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ix.db.Close() })
	payload := `{"text":"` + floorText(1004, 1) + `"}`
	var runRowid, stepRowid int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		job := &indexJob{pending: int64(i + 1)}
		for r := 0; r < 100; r++ {
			runRowid++
			job.runs = append(job.runs, ftsRow{runRowid, sqlstore.SearchBody([]byte(payload), nil, "")})
			for s := 0; s < 10; s++ {
				stepRowid++
				job.steps = append(job.steps, ftsRow{stepRowid, sqlstore.SearchBody([]byte(payload), []byte(payload), "")})
			}
		}
		if err := ix.index(ctx, []*indexJob{job}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkFloorStepRows inserts 1,000 new step rows per op into the
// production steps table (its primary key and two indexes, 16 KiB pages, the
// writer's pragmas, checkpoints left to a goroutine as in the store): plain
// multi-row INSERTs, none of the upsert, seq checks or run totals.
func BenchmarkFloorStepRows(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), FileName)
	if err := createFile(path); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-"+writeCacheKiB+")&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	if err := migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	reader, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go checkpointer(reader, checkpointEvery, stop, done)
	b.Cleanup(func() { close(stop); <-done; reader.Close() })
	payload := `{"text":"` + floorText(1004, 1) + `"}`
	const cols = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	stmt := `INSERT INTO steps (account_id, run_id, id, seq, name, type, status, input, output, started_at, ended_at, duration_ms, credits, input_tokens, model) VALUES ` +
		strings.TrimSuffix(strings.Repeat(cols+", ", 100), ", ")
	run := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		for r := 0; r < 10; r++ { // 10 statements of 10 runs × 10 steps
			args := make([]any, 0, 100*15)
			for k := 0; k < 10; k++ {
				run++
				for s := 0; s < 10; s++ {
					args = append(args, "acct", fmt.Sprintf("floor-%d", run), fmt.Sprint(s), s, fmt.Sprintf("step-%d", s), "tool", "completed",
						payload, payload, int64(run*1000+s), int64(run*1000+s+90), 90.0, 0.001, 500, "gpt-4o-mini")
				}
			}
			if _, err := tx.ExecContext(ctx, stmt, args...); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "steps/s")
}
