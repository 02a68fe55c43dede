package server

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/compare"
	"github.com/agenttrace/agenttrace/demoagent"
	"github.com/agenttrace/agenttrace/mcp"
	"github.com/agenttrace/agenttrace/rerun"
)

// Re-run and compare: GET /api/v1/compare, POST /api/v1/runs/{id}/rerun,
// GET /api/v1/runs/{id}/reruns, GET /api/v1/rerun-secret (+ /rotate), and
// with --demo the demo support agent running inside the server.
func init() { mounts = append(mounts, mountRerun) }

// demoAgentKeyName names the API key the in-process demo agent uses; it is
// replaced at every start and revoked at shutdown.
const demoAgentKeyName = "demo agent (serve --demo)"

func mountRerun(ctx context.Context, s *Server) error {
	compare.Register(s.Mux(), s.API)
	svc, ok := rerun.New(s.Store, s.API, s.Config.Logger)
	if !ok {
		s.Config.Logger.Warn("re-runs disabled: the store does not implement store.Reruns")
		return nil
	}
	svc.Register(s.Mux())
	if s.Config.Demo {
		return s.startDemoAgent(ctx)
	}
	return nil
}

// startDemoAgent runs the demo support agent in process: its webhook on a
// free loopback port (registered as support-demo's rerun_url), its SDK
// reporting through the server's own handler. When support-demo has no runs
// yet, it sends one failing run, ready to be re-run with another model.
func (s *Server) startDemoAgent(ctx context.Context) error {
	acct := agenttrace.DefaultAccountID
	keys, err := s.Store.ListAPIKeys(ctx, acct)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Name == demoAgentKeyName {
			_ = s.Store.DeleteAPIKey(ctx, acct, k.ID)
		}
	}
	secret := agenttrace.NewSecret()
	key := agenttrace.APIKey{ID: agenttrace.NewID("key_"), AccountID: acct, Name: demoAgentKeyName, Prefix: agenttrace.SecretPrefix(secret),
		Hash: agenttrace.HashSecret(secret), Scopes: []agenttrace.Scope{agenttrace.ScopeAdmin}, CreatedAt: time.Now().UTC()}
	if err := s.Store.CreateAPIKey(ctx, key); err != nil {
		return fmt.Errorf("demo agent key: %w", err)
	}
	agent := demoagent.New(demoagent.Config{
		URL: "http://agenttrace.in-process", Key: secret, Latency: 0.3, Logger: s.Config.Logger,
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: mcp.HandlerTransport{Handler: s.Handler()}},
	})
	hook, err := agent.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo agent: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	s.demoAgentDone = done
	go func() {
		defer close(done)
		a, err := s.Store.GetAgent(runCtx, acct, agent.AgentID())
		if err == nil && a.Runs > 0 {
			return
		}
		id, runErr := agent.Run(runCtx, demoagent.Task{})
		s.Config.Logger.Info("demo agent: first run", "run", id, "err", runErr)
	}()
	fmt.Fprintf(s.Config.Out, "Demo agent %q is running (re-run webhook %s): open /agents/%s, re-run its failed run with model gpt-4o, then compare (docs/debugging.md).\n",
		agent.AgentID(), hook, agent.AgentID())
	s.OnStop(func(ctx context.Context) {
		cancel()
		<-done
		_ = agent.Close(ctx)
		_ = s.Store.DeleteAPIKey(ctx, acct, key.ID)
	})
	return nil
}
