package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/loadgen/text"
	"github.com/agenttrace/agenttrace/sqlstore"
)

// The floor benchmarks measure what SQLite alone costs per ingest batch of
// the load tool's shape (100 runs × 10 steps, 1 KiB input and 1 KiB output
// per step), with none of HTTP, decoding, validation, upserts or run totals:
// the least either of ingest's two writers can spend. docs/benchmarks.md
// sets them against the ingest target.
//
//	go test -run XXX -bench Floor -benchtime 100x -count 3 ./sqlite/

// BenchmarkFloorSearchIndex indexes one batch per op in the production
// search file: 100 run entries and 1,000 step entries, as the indexer does,
// with the load tool's two payload texts (text.Prose, each payload its own;
// text.Repeat, one payload for the whole batch).
func BenchmarkFloorSearchIndex(b *testing.B) {
	for _, kind := range []string{"prose", "repeat"} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			ix, err := openIndexer(ctx, filepath.Join(b.TempDir(), "floor.db"+SearchSuffix))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { ix.db.Close() })
			// Ten batches' worth of payloads, made before the clock starts.
			pool := make([][]byte, 21000)
			for i := range pool {
				if kind == "repeat" {
					pool[i] = []byte(`{"text":"` + text.Repeat(1013, 1) + `"}`)
				} else {
					pool[i] = []byte(`{"text":"` + text.Prose(1013, uint64(i)) + `"}`)
				}
			}
			next := 0
			payload := func() []byte {
				next++
				return pool[next%len(pool)]
			}
			var runRowid, stepRowid int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				job := &indexJob{pending: int64(i + 1)}
				for r := 0; r < 100; r++ {
					runRowid++
					job.runs = append(job.runs, ftsRow{runRowid, sqlstore.SearchBody(payload(), nil, "")})
					for s := 0; s < 10; s++ {
						stepRowid++
						in := payload()
						job.steps = append(job.steps, ftsRow{stepRowid, sqlstore.SearchBody(in, payload(), "")})
					}
				}
				if err := ix.index(ctx, []*indexJob{job}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "steps/s")
		})
	}
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
	payload := `{"text":"` + text.Prose(1013, 1) + `"}`
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
