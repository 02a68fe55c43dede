package export_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/export"
	"github.com/agenttrace/agenttrace/sqlite"
	"github.com/agenttrace/agenttrace/sqlstore"
)

// TestParallelWriterKeepsOrder writes the same store with one worker and
// with several, over many small pages: the files must be identical and the
// runs oldest first, whatever order the workers finish in.
func TestParallelWriterKeepsOrder(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ingestMany(t, st.Ingest, 203, 3)
	for _, format := range []string{export.FormatJSONL, export.FormatJSON} {
		var want []byte
		for _, workers := range []int{1, 2, 5} {
			var buf bytes.Buffer
			c, err := export.Writer{Format: format, Workers: workers}.Write(ctx,
				export.Source{Store: st, Account: agenttrace.DefaultAccountID, PageSize: 7}, &buf)
			if err != nil {
				t.Fatal(err)
			}
			if c.Runs != 203 || c.Steps != 609 {
				t.Fatalf("%s workers=%d: counts %+v", format, workers, c)
			}
			if want == nil {
				want = buf.Bytes()
				continue
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("%s: %d workers wrote a different file than 1 worker", format, workers)
			}
		}
		if format == export.FormatJSONL {
			lines := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
			for i, l := range lines {
				if id := fmt.Sprintf(`{"id":"run-%07d"`, i); !strings.HasPrefix(l, id) {
					t.Fatalf("line %d starts %.30s, want %s", i, l, id)
				}
			}
		}
	}
}

// failingSteps fails reading the steps of the page that holds run-0000050.
type failingSteps struct {
	*sqlstore.Store
}

var errBroken = errors.New("disk on fire")

func (f failingSteps) StepsForRuns(ctx context.Context, account string, ids []string) (map[string][]agenttrace.Step, error) {
	for _, id := range ids {
		if id == "run-0000050" {
			return nil, errBroken
		}
	}
	return f.Store.StepsForRuns(ctx, account, ids)
}

func TestParallelWriterStopsOnError(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ingestMany(t, st.Ingest, 120, 2)
	var buf bytes.Buffer
	c, err := export.Writer{Format: export.FormatJSONL, Workers: 3}.Write(ctx,
		export.Source{Store: failingSteps{st}, Account: agenttrace.DefaultAccountID, PageSize: 10}, &buf)
	if !errors.Is(err, errBroken) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	if c.Runs > 50 || strings.Contains(buf.String(), "run-0000050") {
		t.Fatalf("wrote %d runs, past the page that failed", c.Runs)
	}
}
