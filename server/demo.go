package server

import (
	"context"
	"fmt"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/demo"
)

// demoRuns is how many runs --demo writes.
const demoRuns = 400

// fillDemo writes demo data into the default account when it has no runs.
func (s *Server) fillDemo(ctx context.Context) error {
	n, err := s.Store.CountRuns(ctx, agenttrace.DefaultAccountID, nil)
	if err != nil || n > 0 {
		return err
	}
	total := 0
	for _, b := range demo.Generate(time.Now().UTC(), 1, demoRuns) {
		if err := b.Normalize(); err != nil {
			return err
		}
		if _, err := s.Store.Ingest(ctx, agenttrace.DefaultAccountID, &b); err != nil {
			return err
		}
		total += len(b.Runs)
	}
	fmt.Fprintf(s.Config.Out, "Filled the empty store with %d demo runs.\n", total)
	return nil
}
