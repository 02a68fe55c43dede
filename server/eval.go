package server

import (
	"context"

	"github.com/agenttrace/agenttrace/eval"
	"github.com/agenttrace/agenttrace/web"
)

// Evaluations: /api/v1/evaluators, /api/v1/evaluations, the "evaluation"
// jobs and the evaluation of new runs when they end.
func init() { mounts = append(mounts, mountEval) }

func mountEval(ctx context.Context, s *Server) error {
	svc, ok := eval.New(s.Store, s.Config.Logger)
	if !ok {
		s.Config.Logger.Warn("evaluations disabled: the store does not implement store.Evals")
		return nil
	}
	svc.Wake = s.Jobs.Wake
	guard := &eval.JudgeGuard{Allow: s.Config.JudgeAllow}
	svc.Opts = eval.Options{HTTPClient: guard.Client(), Guard: guard}
	web.UseEvaluations(s.API, svc)
	svc.Register(s.Mux(), s.API)
	s.Jobs.Register(eval.JobKind, svc.Handle)
	s.API.OnIngest = append(s.API.OnIngest, svc.OnIngest)
	return nil
}
