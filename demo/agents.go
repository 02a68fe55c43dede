package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/agenttrace/agenttrace"
)

// agent is one demo agent: how its jobs look and how it executes them.
type agent struct {
	slug     string
	weight   int      // share of the runs
	triggers []string // drawn uniformly, so repeats weigh more
	tags     []string // candidate metadata tags
	prompt   string   // prompt_version prefix
	sessions bool     // runs may form conversations
	failures []failure
	// job makes the work of a run; prev is the previous job of the same
	// session, or nil.
	job func(r *rand.Rand, prev any) any
	// input is the run's input for a job.
	input func(job any) any
	// run executes a job and returns the run's output.
	run func(t *tracer, job any) any
}

var agents = []*agent{supportBot, researchAssistant, sqlAnalyst, invoiceExtractor}

// --- support-bot ---------------------------------------------------------

type supportJob struct {
	customer, email, order, product string
	t                               ticket
	text                            string
	followUp                        bool
}

var followUps = []string{
	"Thanks! Any update on order %s? I still don't see the refund.",
	"Sorry, one more question about order %s: can I get an invoice for it?",
	"I got your reply but the tracking link for %s gives a timeout error.",
	"Ok, and how long will that take for order %s?",
}

var supportBot = &agent{
	slug: "support-bot", weight: 40, sessions: true, prompt: "support",
	triggers: []string{"webhook", "webhook", "webhook", "api", "api", "manual"},
	tags:     []string{"prod", "eu", "us", "vip", "email", "chat"},
	failures: []failure{
		{step: "get_order", typ: "ToolTimeout", message: "get_order timed out after 30s", retryable: true},
		{step: "classify_ticket", typ: "RateLimitError", message: "429 rate limit exceeded for model %s", retryable: true},
		{step: "draft_reply", typ: "RateLimitError", message: "429 rate limit exceeded for model %s", retryable: true},
		{step: "refund_order", typ: "ValidationError", message: "invalid argument amount: refund exceeds the captured payment for the order"},
		{step: "search_kb", typ: "ToolTimeout", message: "search_kb timed out after 30s", retryable: true},
	},
	job: func(r *rand.Rand, prev any) any {
		if p, ok := prev.(*supportJob); ok {
			j := *p
			j.followUp = true
			j.text = fmt.Sprintf(pick(r, followUps), j.order)
			return &j
		}
		j := &supportJob{customer: customerName(r), order: orderID(r), product: pick(r, products), t: pick(r, tickets)}
		j.email = emailOf(j.customer, r)
		j.text = fmt.Sprintf(j.t.text, j.product, j.order)
		return j
	},
	input: func(job any) any {
		j := job.(*supportJob)
		return map[string]any{"ticket_id": "T-" + strings.TrimPrefix(j.order, "ORD-"), "customer": j.customer,
			"email": j.email, "channel": "email", "message": j.text}
	},
	run: func(t *tracer, job any) any {
		j := job.(*supportJob)
		r := t.r
		system := "You are a friendly support agent for ShopCo. Classify the ticket and extract the order id. Reply with JSON."
		intent := fmt.Sprintf(`{"intent":%q,"order_id":%q,"urgency":%q}`, j.t.topic, j.order, pick(r, []string{"low", "normal", "high"}))
		if !t.do(t.llm("classify_ticket", pick(r, []string{"gpt-4o-mini", "gpt-4o-mini", "claude-3-5-haiku"}), system, j.text, intent, nil)) {
			return nil
		}
		total := money(20 + r.Float64()*480)
		order := map[string]any{"order_id": j.order, "customer": j.customer, "item": j.product, "total": total,
			"currency": pick(r, currencies), "status": pick(r, []string{"delivered", "shipped", "delivered", "processing"})}
		if !t.do(call{name: "get_order", typ: agenttrace.StepTool, in: map[string]any{"order_id": j.order},
			out: order, dur: t.ms(40, 450), credits: 0.001}) {
			return nil
		}
		var hits []map[string]any
		for i := 0; i < 2+r.IntN(2); i++ {
			hits = append(hits, map[string]any{"article": pick(r, kbArticles), "score": money(0.6 + r.Float64()*0.39)})
		}
		if !t.do(call{name: "search_kb", typ: agenttrace.StepTool, in: map[string]any{"query": j.t.kbQuery, "top_k": 3},
			out: map[string]any{"results": hits}, dur: t.ms(60, 300), credits: 0.001}) {
			return nil
		}
		actions := []string{}
		if j.t.refund && !j.followUp {
			refund := map[string]any{"refund_id": fmt.Sprintf("re_%08x", r.Uint32()), "status": "succeeded", "amount": total}
			if !t.do(call{name: "refund_order", typ: agenttrace.StepTool,
				in:  map[string]any{"order_id": j.order, "amount": total, "reason": j.t.topic},
				out: refund, dur: t.ms(150, 900), credits: 0.002}) {
				return nil
			}
			actions = append(actions, "refund_order")
		}
		answer := fmt.Sprintf(j.t.answer, strings.Fields(j.customer)[0])
		if j.followUp {
			answer = fmt.Sprintf("Hi %s, thanks for following up on order %s. I've checked again: everything is on track and you will get an email as soon as anything changes.",
				strings.Fields(j.customer)[0], j.order)
		}
		model := pick(r, []string{"gpt-4o", "gpt-4o", "claude-3-5-sonnet"})
		if !t.do(t.llm("draft_reply", model, "Write a short, empathetic reply to the customer using the order details and knowledge base articles.",
			j.text+"\n\nOrder: "+string(raw(order)), answer, nil)) {
			return nil
		}
		return map[string]any{"reply": answer, "resolved": !j.followUp || r.IntN(2) == 0, "actions": actions}
	},
}

// --- research-assistant --------------------------------------------------

type researchJob struct {
	question string
	sources  []string
	user     string
}

var findings = []string{
	"%s reports measurable gains but warns the studies are small and self-selected.",
	"%s gives cost figures that dropped roughly 40%% over three years.",
	"%s argues the tradeoff depends mostly on latency and operational complexity.",
	"%s summarizes the regulation: obligations scale with the risk category.",
	"%s notes retries with exponential backoff avoid most rate limit and timeout errors.",
}

var researchAssistant = &agent{
	slug: "research-assistant", weight: 20, sessions: true, prompt: "research",
	triggers: []string{"api", "api", "manual", "manual"},
	tags:     []string{"prod", "staging", "internal", "eu", "beta"},
	failures: []failure{
		{step: "fetch_url", typ: "Timeout", message: "fetch_url timed out after 30s: context deadline exceeded", retryable: true},
		{step: "fetch_url", typ: "HTTPError", message: "GET returned 503 Service Unavailable", retryable: true},
		{step: "synthesize_answer", typ: "RateLimitError", message: "429 rate limit exceeded for model %s", retryable: true},
		{step: "plan_research", typ: "ContextLengthExceeded", message: "prompt is too long: 212480 tokens > 200000 maximum for model %s"},
	},
	job: func(r *rand.Rand, prev any) any {
		j := &researchJob{question: pick(r, researchQuestions), user: customerName(r)}
		if p, ok := prev.(*researchJob); ok {
			j.user = p.user
			j.question = "Follow-up: " + j.question
		}
		for _, i := range r.Perm(len(researchSources))[:1+r.IntN(3)] {
			j.sources = append(j.sources, researchSources[i])
		}
		return j
	},
	input: func(job any) any {
		j := job.(*researchJob)
		return map[string]any{"question": j.question, "user": j.user, "depth": "standard"}
	},
	run: func(t *tracer, job any) any {
		j := job.(*researchJob)
		r := t.r
		plan := fmt.Sprintf("1. Search internal notes for background.\n2. Read %d web sources.\n3. Synthesize an answer with citations.", len(j.sources))
		if !t.do(t.llm("plan_research", "claude-3-5-sonnet", "You are a meticulous research assistant. Plan the research steps.", j.question, plan, nil)) {
			return nil
		}
		var matches []map[string]any
		for i := 0; i < 3+r.IntN(4); i++ {
			matches = append(matches, map[string]any{"doc_id": fmt.Sprintf("note-%04d", r.IntN(5000)),
				"score": money(0.55 + r.Float64()*0.4), "text": "Background note on: " + j.question})
		}
		if !t.do(call{name: "vector_search", typ: agenttrace.StepRetrieval,
			in:  map[string]any{"query": j.question, "index": "research-notes", "top_k": len(matches)},
			out: map[string]any{"matches": matches}, dur: t.ms(40, 220), credits: 0.0005}) {
			return nil
		}
		if !t.begin("web_research", map[string]any{"urls": j.sources, "goal": j.question}, map[string]any{"sub_agent": "web-reader"}) {
			return nil
		}
		var notes []string
		for _, u := range j.sources {
			size := 20000 + r.IntN(180000)
			if !t.do(call{name: "fetch_url", typ: agenttrace.StepHTTP, in: map[string]any{"method": "GET", "url": u},
				out: map[string]any{"status": 200, "content_type": "text/html; charset=utf-8", "bytes": size},
				dur: t.ms(180, 2400), credits: 0.001}) {
				return nil
			}
			note := fmt.Sprintf(pick(r, findings), u)
			if !t.do(t.llm("summarize_source", "gemini-2.0-flash", "Summarize the page in 5 bullet points relevant to the question.",
				fmt.Sprintf("Question: %s\nPage (%d bytes) from %s", j.question, size, u), note, nil)) {
				return nil
			}
			notes = append(notes, note)
		}
		if !t.end(map[string]any{"notes": notes}) {
			return nil
		}
		answer := fmt.Sprintf("Short answer to %q: the evidence points in two directions. %s The sources agree on the main tradeoffs but differ on cost estimates. See [1]-[%d].",
			j.question, strings.Join(notes, " "), len(j.sources))
		model := pick(r, []string{"gpt-4o", "claude-3-5-sonnet"})
		if !t.do(t.llm("synthesize_answer", model, "Write a well-structured answer with numbered citations.",
			j.question+"\n\nNotes:\n"+strings.Join(notes, "\n"), answer, nil)) {
			return nil
		}
		if r.IntN(2) == 0 {
			if !t.do(t.llm("fact_check", "claude-3-5-haiku", "Check each claim against the notes. Reply PASS or list problems.",
				answer, "PASS: all claims are supported by the cited sources.", nil)) {
				return nil
			}
		}
		return map[string]any{"answer": answer, "sources": j.sources}
	},
}

// --- sql-analyst ---------------------------------------------------------

type sqlJob struct {
	q       sqlQuestion
	analyst string
	bad     bool // the model writes broken SQL first
}

const sqlSchema = "orders(id, customer_id, product_id, amount, created_at), customers(id, name, country), products(id, category), refunds(id, order_id, issued_at), returns(id, order_id), events(user_id, event_time)"

var sqlAnalyst = &agent{
	slug: "sql-analyst", weight: 22, prompt: "sql",
	triggers: []string{"api", "api", "schedule", "schedule", "manual"},
	tags:     []string{"prod", "analytics", "finance", "internal", "us"},
	failures: []failure{
		{step: "run_query", typ: "SQLSyntaxError", message: "", retryable: true},
		{step: "run_query", typ: "QueryTimeout", message: "canceling statement due to statement timeout (30s)", retryable: true},
		{step: "generate_sql", typ: "RateLimitError", message: "429 rate limit exceeded for model %s", retryable: true},
	},
	job: func(r *rand.Rand, prev any) any {
		return &sqlJob{q: pick(r, sqlQuestions), analyst: customerName(r)}
	},
	input: func(job any) any {
		j := job.(*sqlJob)
		return map[string]any{"question": j.q.question, "database": "analytics", "requested_by": j.analyst}
	},
	run: func(t *tracer, job any) any {
		j := job.(*sqlJob)
		r := t.r
		model := pick(r, []string{"gpt-4o", "claude-3-5-sonnet", "gpt-4o-mini"})
		syntax := t.plan != nil && t.plan.typ == "SQLSyntaxError"
		sql := j.q.sql
		if syntax {
			sql = j.q.badSQL
			t.plan.message = fmt.Sprintf("syntax error at or near %q", lastWord(sql))
		}
		system := "You write PostgreSQL for the analytics database. Schema: " + sqlSchema
		if !t.do(t.llm("generate_sql", model, system, j.q.question, sql, nil)) {
			return nil
		}
		rows := make([][]any, 0)
		for i := 0; i < 3+r.IntN(8); i++ {
			rows = append(rows, []any{fmt.Sprintf("row %d", i+1), money(r.Float64() * 50000)})
		}
		query := call{name: "run_query", typ: agenttrace.StepTool, in: map[string]any{"sql": sql, "database": "analytics"},
			out: map[string]any{"columns": j.q.columns, "rows": rows, "row_count": len(rows)}, dur: t.ms(80, 2500), credits: 0.001}
		query.fix = func() call {
			if syntax {
				t.do(t.llm("fix_sql", model, system, "The query failed: "+t.plan.message+"\n\n"+sql, j.q.sql, nil))
			}
			q := query
			q.in = map[string]any{"sql": j.q.sql, "database": "analytics"}
			q.meta = map[string]any{"attempt": 2}
			return q
		}
		if !t.do(query) {
			return nil
		}
		summary := fmt.Sprintf("%s The query returned %d rows; the top value is %.2f, and the trend is %s.",
			j.q.question, len(rows), rows[0][1], pick(r, []string{"up 12% month over month", "flat", "down slightly after the summer peak"}))
		if !t.do(t.llm("summarize_results", "gpt-4o-mini", "Summarize the query results for a business reader in 2-3 sentences.",
			j.q.question+"\n\n"+string(raw(rows)), summary, nil)) {
			return nil
		}
		return map[string]any{"sql": j.q.sql, "row_count": len(rows), "summary": summary}
	},
}

func lastWord(sql string) string {
	f := strings.Fields(sql)
	for _, w := range []string{"FORM", "GROUP", "WHERE"} {
		for _, x := range f {
			if x == w {
				return w
			}
		}
	}
	return f[len(f)-1]
}

// --- invoice-extractor ---------------------------------------------------

type invoiceJob struct {
	number, vendor, currency string
	items                    []map[string]any
	total                    float64
}

var invoiceExtractor = &agent{
	slug: "invoice-extractor", weight: 18, prompt: "invoice",
	triggers: []string{"schedule", "schedule", "webhook", "api"},
	tags:     []string{"prod", "finance", "eu", "batch"},
	failures: []failure{
		{step: "validate_invoice", typ: "InvalidJSON", message: "invalid JSON extracted: unexpected end of JSON input", retryable: true},
		{step: "validate_invoice", typ: "ValidationError", message: "total does not match the sum of the line items"},
		{step: "fetch_pdf", typ: "ToolTimeout", message: "fetch_pdf timed out after 30s", retryable: true},
		{step: "extract_fields", typ: "RateLimitError", message: "429 rate limit exceeded for model %s", retryable: true},
	},
	job: func(r *rand.Rand, prev any) any {
		j := &invoiceJob{number: fmt.Sprintf("INV-%d-%05d", 2024+r.IntN(2), r.IntN(100000)), vendor: pick(r, vendors), currency: pick(r, currencies)}
		for i := 0; i < 1+r.IntN(4); i++ {
			qty := 1 + r.IntN(20)
			price := money(5 + r.Float64()*400)
			j.items = append(j.items, map[string]any{"description": pick(r, lineItems), "quantity": qty, "unit_price": price})
			j.total += float64(qty) * price
		}
		j.total = money(j.total)
		return j
	},
	input: func(job any) any {
		j := job.(*invoiceJob)
		return map[string]any{"document": "s3://invoices-inbox/" + j.number + ".pdf", "vendor_hint": j.vendor}
	},
	run: func(t *tracer, job any) any {
		j := job.(*invoiceJob)
		r := t.r
		pages := 1 + r.IntN(3)
		if !t.do(call{name: "fetch_pdf", typ: agenttrace.StepRetrieval, in: map[string]any{"uri": "s3://invoices-inbox/" + j.number + ".pdf"},
			out: map[string]any{"pages": pages, "bytes": 40000 + r.IntN(400000), "text_chars": 1200 * pages}, dur: t.ms(90, 900)}) {
			return nil
		}
		invoice := map[string]any{"invoice_number": j.number, "vendor": j.vendor, "currency": j.currency,
			"line_items": j.items, "total": j.total, "due_date": fmt.Sprintf("2025-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28))}
		extracted := string(raw(invoice))
		bad := t.plan != nil && t.plan.step == "validate_invoice"
		switch {
		case bad && t.plan.typ == "InvalidJSON":
			extracted = extracted[:len(extracted)*2/3]
		case bad:
			invoice["total"] = money(j.total + 9)
			extracted = string(raw(invoice))
			t.plan.message = fmt.Sprintf("total %.2f does not match the sum of the line items %.2f", j.total+9, j.total)
		}
		model := pick(r, []string{"gpt-4o-mini", "claude-3-5-haiku", "gemini-2.0-flash"})
		system := "Extract invoice_number, vendor, currency, line_items, total and due_date from the invoice text. Reply with JSON only."
		user := fmt.Sprintf("Invoice %s from %s, %d pages of text.", j.number, j.vendor, pages)
		if !t.do(t.llm("extract_fields", model, system, user, extracted, map[string]any{"response_format": "json"})) {
			return nil
		}
		validate := call{name: "validate_invoice", typ: agenttrace.StepCode, in: map[string]any{"schema": "invoice.v2", "json": extracted},
			out: map[string]any{"valid": true, "checks": []string{"schema", "totals", "currency", "due_date"}}, dur: t.ms(3, 40)}
		validate.fix = func() call {
			fixed := string(raw(map[string]any{"invoice_number": j.number, "vendor": j.vendor, "currency": j.currency,
				"line_items": j.items, "total": j.total}))
			t.do(t.llm("extract_fields", "gpt-4o", system, user+"\nThe previous answer failed validation; reply with complete, correct JSON.",
				fixed, map[string]any{"response_format": "json", "attempt": 2}))
			v := validate
			v.in = map[string]any{"schema": "invoice.v2", "json": fixed}
			v.meta = map[string]any{"attempt": 2}
			return v
		}
		if !t.do(validate) {
			return nil
		}
		invoice["total"] = j.total
		return invoice
	},
}
