package eval

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
)

// Limits of a rule evaluation: a rule over the limit ends with verdict error.
const (
	RuleCostLimit = 5_000_000 // CEL cost units (about one per visited element/operation)
	RuleTimeout   = time.Second
	maxRuleLength = 4000
)

type ruleConfig struct {
	Expression string `json:"expression"`
}

// runFields are the fields of `run` a rule may use (steps have stepFields).
var runFields = map[string]bool{
	"id": true, "agent_id": true, "status": true, "trigger": true, "credits": true, "duration_ms": true,
	"step_count": true, "usage": true, "metadata": true, "input": true, "output": true, "error": true,
	"steps": true, "session_id": true, "rerun_of": true, "tags": true,
}

var (
	celEnvOnce sync.Once
	celEnv     *cel.Env
	celEnvErr  error
)

func ruleEnv() (*cel.Env, error) {
	celEnvOnce.Do(func() {
		celEnv, celEnvErr = cel.NewEnv(
			cel.Variable("run", cel.MapType(cel.StringType, cel.DynType)),
			cel.CrossTypeNumericComparisons(true),
		)
	})
	return celEnv, celEnvErr
}

type rule struct {
	expr string
	prg  cel.Program
	// lazy: which parts of the run the rule reads (decoding JSON is the cost).
	needInput, needOutput, needMetadata, needSteps, needAll bool
}

func compileRule(raw json.RawMessage) (*rule, error) {
	var c ruleConfig
	if err := decodeConfig(raw, &c); err != nil {
		return nil, err
	}
	c.Expression = strings.TrimSpace(c.Expression)
	if c.Expression == "" {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.expression: empty; write a CEL expression such as run.credits <= 5.0")
	}
	if len(c.Expression) > maxRuleLength {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.expression: longer than the limit of %d characters", maxRuleLength)
	}
	env, err := ruleEnv()
	if err != nil {
		return nil, err
	}
	checked, iss := env.Compile(c.Expression)
	if iss != nil && iss.Err() != nil {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.expression: %s", iss.Err())
	}
	if t := checked.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.expression: must be a condition (bool), not %s", t)
	}
	r := &rule{expr: c.Expression}
	// Walk the expression: unknown run fields are errors with a position,
	// and the fields read decide what is decoded per run.
	nat := checked.NativeRep()
	var bad error
	ast.PreOrderVisit(nat.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.SelectKind:
			sel := e.AsSelect()
			switch sel.FieldName() {
			case "input":
				r.needInput = true
			case "output":
				r.needOutput = true
			case "metadata", "tags":
				r.needMetadata = true
			case "steps":
				r.needSteps = true
			}
			if op := sel.Operand(); op.Kind() == ast.IdentKind && op.AsIdent() == "run" && !runFields[sel.FieldName()] && bad == nil {
				loc := nat.SourceInfo().GetStartLocation(e.ID())
				bad = agenttrace.Errorf(agenttrace.EINVALID, "config.expression: %d:%d: run has no field %q (fields: id, agent_id, status, trigger, credits, duration_ms, step_count, usage, metadata, tags, input, output, error, session_id, rerun_of, steps)",
					loc.Line(), loc.Column()+1, sel.FieldName())
			}
		case ast.CallKind:
			if fn := e.AsCall().FunctionName(); fn == "_[_]" || fn == "_[?_]" {
				r.needAll = true
			}
		}
	}))
	if bad != nil {
		return nil, bad
	}
	r.prg, err = env.Program(checked, cel.CostLimit(RuleCostLimit), cel.InterruptCheckFrequency(64))
	if err != nil {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "config.expression: %v", err)
	}
	return r, nil
}

func (r *rule) Check(ctx context.Context, run *agenttrace.Run) Verdict {
	ctx, cancel := context.WithTimeout(ctx, RuleTimeout)
	defer cancel()
	out, _, err := r.prg.ContextEval(ctx, map[string]any{"run": r.view(run)})
	if err != nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "actual cost limit exceeded"):
			return errorVerdict("rule stopped: it costs more than the limit of %d (a rule must not loop over large lists)", RuleCostLimit)
		case errors.Is(ctx.Err(), context.DeadlineExceeded) || strings.Contains(msg, "interrupted"):
			return errorVerdict("rule stopped: it ran longer than %s", RuleTimeout)
		}
		return errorVerdict("rule could not be evaluated: %s", msg)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return errorVerdict("rule answered %s, not true or false", out.Type())
	}
	if b {
		return pass("")
	}
	return fail("", "rule is false: %s", r.expr)
}

// view is the run as CEL sees it: a map of plain values, decoding only the
// JSON the rule reads.
func (r *rule) view(run *agenttrace.Run) map[string]any {
	v := map[string]any{
		"id": run.ID, "agent_id": run.AgentID, "status": string(run.Status), "trigger": run.Trigger,
		"credits": run.Credits, "duration_ms": run.DurationMS, "step_count": int64(run.StepCount),
		"usage":      map[string]any{"input_tokens": run.Usage.InputTokens, "output_tokens": run.Usage.OutputTokens},
		"session_id": run.SessionID, "rerun_of": run.RerunOf, "error": nil,
	}
	if run.Error != nil {
		v["error"] = map[string]any{"type": run.Error.Type, "message": run.Error.Message, "step_id": run.Error.StepID}
	}
	all := r.needAll
	if all || r.needInput {
		v["input"] = decodeJSON(run.Input)
	}
	if all || r.needOutput {
		v["output"] = decodeJSON(run.Output)
	}
	if all || r.needMetadata {
		md := run.Metadata
		if md == nil {
			md = map[string]any{}
		}
		v["metadata"] = md
		tags := []any{}
		for _, t := range run.Tags() {
			tags = append(tags, t)
		}
		v["tags"] = tags
	}
	if all || r.needSteps {
		steps := make([]any, len(run.Steps))
		for i := range run.Steps {
			s := &run.Steps[i]
			sv := map[string]any{
				"id": s.ID, "seq": s.Seq, "parent_id": s.ParentID, "name": s.Name, "type": string(s.Type), "status": string(s.Status),
				"duration_ms": s.DurationMS, "credits": s.Credits, "model": s.Model, "error": nil,
				"usage": map[string]any{"input_tokens": s.Usage.InputTokens, "output_tokens": s.Usage.OutputTokens},
			}
			if s.Error != nil {
				sv["error"] = map[string]any{"type": s.Error.Type, "message": s.Error.Message}
			}
			if all || r.needInput {
				sv["input"] = decodeJSON(s.Input)
			}
			if all || r.needOutput {
				sv["output"] = decodeJSON(s.Output)
			}
			if all || r.needMetadata {
				md := s.Metadata
				if md == nil {
					md = map[string]any{}
				}
				sv["metadata"] = md
			}
			steps[i] = sv
		}
		v["steps"] = steps
	}
	return v
}

func decodeJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	return v
}
