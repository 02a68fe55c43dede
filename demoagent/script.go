package demoagent

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace/sdk"
)

// ValidSignature is how an agent checks agenttrace's X-Agenttrace-Signature:
// "sha256=" + hex(HMAC-SHA256(secret, raw body)), compared in constant time.
func ValidSignature(secret string, body []byte, header string) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(strings.TrimSpace(header)))
}

// The errors the scripted model and tools fail with.

// RateLimitError is the model provider's 429.
type RateLimitError struct{ Model string }

// ErrorType names the error in traces.
func (e *RateLimitError) ErrorType() string { return "RateLimitError" }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("429 Too Many Requests: rate limit reached for model %s (3 requests per minute); retry after 20s", e.Model)
}

// ValidationError is a tool rejecting its arguments.
type ValidationError struct{ Tool, Field, Msg string }

// ErrorType names the error in traces.
func (e *ValidationError) ErrorType() string { return "ValidationError" }

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s: %s", e.Tool, e.Field, e.Msg) }

// ToolTimeoutError is a tool that did not answer in time.
type ToolTimeoutError struct {
	Tool  string
	After time.Duration
	Hint  string
}

// ErrorType names the error in traces.
func (e *ToolTimeoutError) ErrorType() string { return "ToolTimeout" }

func (e *ToolTimeoutError) Error() string {
	return fmt.Sprintf("%s: no answer within %s (%s)", e.Tool, e.After, e.Hint)
}

var orderIDRe = regexp.MustCompile(`\b[A-Z]\d{4}\b`)

func (a *Agent) sleep(ctx context.Context, base time.Duration) {
	d := time.Duration(float64(base) * a.cfg.Latency)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func tokens(s string) int64 { return int64(len(s)/4 + 1) }

// run is the scripted agent: triage → plan → lookup_order → search_kb
// (→ embed_query) → respond.
func (a *Agent) run(ctx context.Context, t Task) (string, error) {
	if t.Settings.Model == "" {
		t.Settings.Model = DefaultModel
	}
	if t.Settings.Prompt == "" {
		t.Settings.Prompt = DefaultPrompt
	}
	if t.Trigger == "" {
		t.Trigger = "api"
	}
	if t.Ticket.Question == "" {
		t.Ticket = DefaultTicket
	}
	md := map[string]any{}
	for k, v := range t.Metadata {
		md[k] = v
	}
	md["model"], md["prompt"] = t.Settings.Model, t.Settings.Prompt
	opts := []sdk.Option{sdk.WithInput(t.Ticket), sdk.WithTrigger(t.Trigger), sdk.WithMetadata(md), sdk.WithTags("demo", "support")}
	if t.RunID != "" {
		opts = append(opts, sdk.WithRunID(t.RunID))
	}
	if t.RerunOf != "" {
		opts = append(opts, sdk.WithRerunOf(t.RerunOf))
	}
	ctx, run := a.sdk.StartRun(ctx, a.cfg.AgentID, opts...)
	answer, err := a.script(ctx, t)
	if err != nil {
		run.Fail(err)
		return run.ID(), err
	}
	run.SetOutput(answer)
	run.End()
	return run.ID(), nil
}

type toolCall struct {
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

func (a *Agent) llm(ctx context.Context, name string, model string, in any, inTokens string, out func() (any, string, error)) (any, error) {
	_, step := sdk.StartStep(ctx, name, sdk.StepLLM, sdk.WithModel(model), sdk.WithInput(in))
	a.sleep(ctx, 700*time.Millisecond)
	if model == "rate-limited-model" {
		err := &RateLimitError{Model: model}
		step.Fail(err)
		return nil, err
	}
	v, text, err := out()
	step.SetUsage(tokens(inTokens), tokens(text))
	if err != nil {
		step.Fail(err)
		return nil, err
	}
	step.SetOutput(v)
	step.End()
	return v, nil
}

func (a *Agent) script(ctx context.Context, t Task) (map[string]any, error) {
	s := t.Settings
	q := t.Ticket.Question
	orderID := orderIDRe.FindString(q)
	mini := strings.Contains(s.Model, "mini")
	mentionsID := strings.Contains(strings.ToLower(s.Prompt), "order id")

	// 1. Triage: what does the customer want?
	intent := "general_question"
	if orderID != "" {
		intent = "order_status"
	}
	triageIn := map[string]any{"system": "Classify the support ticket. Answer JSON {intent, order_id, sentiment}.",
		"messages": []map[string]string{{"role": "user", "content": q}}}
	if _, err := a.llm(ctx, "triage", s.Model, triageIn, q+s.Prompt, func() (any, string, error) {
		out := map[string]any{"intent": intent, "order_id": orderID, "sentiment": "frustrated"}
		return out, fmt.Sprint(out), nil
	}); err != nil {
		return nil, err
	}

	// 2. Plan the tool calls and make them.
	facts, err := a.resolve(ctx, t, orderID, mini, mentionsID)
	if err != nil {
		return nil, err
	}

	// 3. Respond.
	answer := "I'm sorry about the wait. "
	if o, ok := facts["order"].(map[string]any); ok {
		answer += fmt.Sprintf("Your order %s shipped with %s (tracking %s) and is now expected on %s. ", o["order_id"], o["carrier"], o["tracking"], o["eta"])
	}
	answer += "Since it is more than 2 days late, I have refunded the shipping fee ($4.99) to your card; you will see it within 5 business days."
	respIn := map[string]any{"system": s.Prompt, "messages": []map[string]any{
		{"role": "user", "content": q}, {"role": "tool", "content": facts}}}
	if _, err := a.llm(ctx, "respond", s.Model, respIn, q+s.Prompt+fmt.Sprint(facts), func() (any, string, error) {
		return answer, answer, nil
	}); err != nil {
		return nil, err
	}
	return map[string]any{"answer": answer, "intent": intent, "refund": 4.99}, nil
}

func (a *Agent) resolve(ctx context.Context, t Task, orderID string, mini, mentionsID bool) (map[string]any, error) {
	s := t.Settings
	// The plan: which tools with which arguments. This is where the
	// models differ.
	var calls []toolCall
	if orderID != "" {
		args := map[string]any{"order_id": orderID}
		switch {
		case !mentionsID:
			args = map[string]any{"customer_email": t.Ticket.Customer}
		case mini:
			// The small model "helpfully" turns A1042 into the number 1042.
			var n int
			fmt.Sscanf(orderID[1:], "%d", &n)
			args = map[string]any{"order_id": n}
		}
		calls = append(calls, toolCall{Name: "lookup_order", Arguments: args})
	}
	calls = append(calls, toolCall{Name: "search_kb", Arguments: map[string]any{"query": "late delivery shipping fee refund policy", "top_k": 2}})
	planIn := map[string]any{"system": s.Prompt, "tools": []string{"lookup_order(order_id: string)", "search_kb(query: string, top_k: int)"},
		"messages": []map[string]string{{"role": "user", "content": t.Ticket.Question}}}
	if _, err := a.llm(ctx, "plan", s.Model, planIn, t.Ticket.Question+s.Prompt, func() (any, string, error) {
		out := map[string]any{"tool_calls": calls}
		return out, fmt.Sprint(out), nil
	}); err != nil {
		return nil, err
	}

	facts := map[string]any{}
	for _, c := range calls {
		switch c.Name {
		case "lookup_order":
			o, err := a.lookupOrder(ctx, c.Arguments)
			if err != nil {
				return nil, err
			}
			facts["order"] = o
		case "search_kb":
			facts["policy"] = a.searchKB(ctx, c.Arguments)
		}
	}
	return facts, nil
}

func (a *Agent) lookupOrder(ctx context.Context, args map[string]any) (map[string]any, error) {
	_, step := sdk.StartStep(ctx, "lookup_order", sdk.StepTool, sdk.WithInput(args))
	if _, byEmail := args["customer_email"]; byEmail {
		a.sleep(ctx, 5*time.Second)
		err := &ToolTimeoutError{Tool: "lookup_order", After: 5 * time.Second, Hint: "a lookup by customer_email scans every order; pass order_id"}
		step.Fail(err)
		return nil, err
	}
	a.sleep(ctx, 150*time.Millisecond)
	id, ok := args["order_id"].(string)
	if !ok {
		err := &ValidationError{Tool: "lookup_order", Field: "order_id", Msg: fmt.Sprintf("expected a string like \"A1042\", got %T %v", args["order_id"], args["order_id"])}
		step.Fail(err)
		return nil, err
	}
	out := map[string]any{"order_id": id, "status": "in_transit", "carrier": "UPS", "tracking": "1Z999AA10123456784",
		"shipped_at": "2026-11-02", "eta": "2026-11-07", "days_late": 3}
	step.SetOutput(out)
	step.End()
	return out, nil
}

func (a *Agent) searchKB(ctx context.Context, args map[string]any) []map[string]any {
	sctx, step := sdk.StartStep(ctx, "search_kb", sdk.StepRetrieval, sdk.WithInput(args))
	// The query is embedded first: a step nested in the retrieval.
	q, _ := args["query"].(string)
	_, embed := sdk.StartStep(sctx, "embed_query", sdk.StepLLM, sdk.WithModel("text-embedding-3-small"), sdk.WithInput(map[string]any{"input": q}))
	a.sleep(ctx, 40*time.Millisecond)
	embed.SetUsage(tokens(q), 0)
	embed.SetOutput(map[string]any{"dimensions": 1536, "norm": 1.0})
	embed.End()
	a.sleep(ctx, 60*time.Millisecond)
	docs := []map[string]any{
		{"id": "kb-112", "title": "Late deliveries", "score": 0.91,
			"snippet": "If an order arrives more than 2 days after its estimated date, refund the shipping fee without asking for proof."},
		{"id": "kb-087", "title": "Tracking not updating", "score": 0.77,
			"snippet": "Carrier scans can lag 48 hours; give the customer the carrier's tracking number and the new ETA."},
	}
	step.SetOutput(map[string]any{"documents": docs})
	step.End()
	return docs
}
