package otlp

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// seqEpoch is the origin of step seqs: seq = (start - seqEpoch) ns × 8 + a
// tie-break of 3 bits from the span id. This orders steps by start time,
// is the same whichever request or order a span arrives in, and fits int64
// until 2056.
// inRange tells whether nanoseconds since 1970 fall within the times the
// domain accepts.
func inRange(n uint64) bool {
	return n < uint64(agenttrace.MaxTime.UnixNano())
}

var seqEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

const seqSlots = 8

// seqOf derives a span's step seq from its start time and span id.
func seqOf(startNano uint64, spanID []byte) int64 {
	rel := int64(startNano) - seqEpoch
	if startNano > 1<<62 || rel < 0 {
		rel = 0
	}
	h := fnv.New32a()
	h.Write(spanID)
	return rel*seqSlots + int64(h.Sum32()%seqSlots)
}

// Span flags (trace/v1 SpanFlags): whether the parent is known to be remote.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// span is one usable span with what the mapping needs.
type span struct {
	s        *tracepb.Span
	res      attrs
	a        attrs
	traceHex string
	spanHex  string
	parent   string // hex, "" for a root
	root     bool
}

// trace gathers the spans of one trace in one request.
type traceSpans struct {
	id    string
	spans []*span
}

// converted is what one export request becomes.
type converted struct {
	runs     []agenttrace.Run
	steps    []agenttrace.Step
	rejected int64
	reasons  []string
	// rootSpan: run id → span id of its run span, when that span is not
	// also a step (its children then have no parent step).
	rootSpan map[string]string
	// orphans: run id → parent span ids referenced but not in the request,
	// for runs whose run span is not in the request.
	orphans map[string]map[string]bool
}

func (c *converted) reject(format string, args ...any) {
	c.rejected++
	if len(c.reasons) < 5 {
		c.reasons = append(c.reasons, fmt.Sprintf(format, args...))
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// convert maps an export request to runs and steps (see docs/otel.md).
func convert(req *coltracepb.ExportTraceServiceRequest) *converted {
	c := &converted{rootSpan: map[string]string{}, orphans: map[string]map[string]bool{}}
	byTrace := map[string]*traceSpans{}
	var order []string
	for _, rs := range req.GetResourceSpans() {
		res := attrMap(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				if s == nil {
					continue
				}
				switch {
				case len(s.TraceId) != 16 || allZero(s.TraceId):
					c.reject("span %q: trace_id must be 16 bytes, not all zero", clip(s.Name, 64))
					continue
				case len(s.SpanId) != 8 || allZero(s.SpanId):
					c.reject("span %q: span_id must be 8 bytes, not all zero", clip(s.Name, 64))
					continue
				case len(s.ParentSpanId) != 0 && len(s.ParentSpanId) != 8:
					c.reject("span %q: parent_span_id must be empty or 8 bytes", clip(s.Name, 64))
					continue
				case s.StartTimeUnixNano == 0:
					c.reject("span %q: start_time_unix_nano is missing", clip(s.Name, 64))
					continue
				case s.EndTimeUnixNano != 0 && s.EndTimeUnixNano < s.StartTimeUnixNano:
					c.reject("span %q: end_time_unix_nano is before start_time_unix_nano", clip(s.Name, 64))
					continue
				case !inRange(s.StartTimeUnixNano) || s.EndTimeUnixNano != 0 && !inRange(s.EndTimeUnixNano):
					c.reject("span %q: a time is out of range (%s to %s)", clip(s.Name, 64),
						agenttrace.MinTime.Format(time.RFC3339), agenttrace.MaxTime.Add(-time.Second).Format(time.RFC3339))
					continue
				}
				sp := &span{s: s, res: res, a: attrMap(s.Attributes), traceHex: hex.EncodeToString(s.TraceId), spanHex: hex.EncodeToString(s.SpanId)}
				if len(s.ParentSpanId) == 8 && !allZero(s.ParentSpanId) {
					sp.parent = hex.EncodeToString(s.ParentSpanId)
				}
				sp.root = sp.parent == "" || s.Flags&flagHasIsRemote != 0 && s.Flags&flagIsRemote != 0
				t := byTrace[sp.traceHex]
				if t == nil {
					t = &traceSpans{id: sp.traceHex}
					byTrace[sp.traceHex] = t
					order = append(order, sp.traceHex)
				}
				t.spans = append(t.spans, sp)
			}
		}
	}
	for _, id := range order {
		c.addTrace(byTrace[id])
	}
	return c
}

func (c *converted) addTrace(t *traceSpans) {
	// The same span sent twice in one request: the last copy wins.
	seen := make(map[string]int, len(t.spans))
	uniq := t.spans[:0]
	for _, sp := range t.spans {
		if i, ok := seen[sp.spanHex]; ok {
			uniq[i] = sp
			continue
		}
		seen[sp.spanHex] = len(uniq)
		uniq = append(uniq, sp)
	}
	t.spans = uniq
	// The run span: the earliest root (or remote-parented) span.
	var run *span
	for _, sp := range t.spans {
		if sp.root && (run == nil || sp.s.StartTimeUnixNano < run.s.StartTimeUnixNano ||
			sp.s.StartTimeUnixNano == run.s.StartTimeUnixNano && sp.spanHex < run.spanHex) {
			run = sp
		}
	}
	session := ""
	for _, sp := range t.spans {
		if session = sessionOf(sp.a); session != "" {
			break
		}
	}
	runIsStep := false
	if run != nil {
		typ := stepType(run.a)
		runIsStep = typ == agenttrace.StepLLM || typ == agenttrace.StepTool || typ == agenttrace.StepRetrieval
		if s := sessionOf(run.a); s != "" {
			session = s
		}
		c.runs = append(c.runs, runOf(run, session, runIsStep))
		if !runIsStep {
			c.rootSpan[t.id] = run.spanHex
		}
	}
	inBatch := make(map[string]bool, len(t.spans))
	for _, sp := range t.spans {
		inBatch[sp.spanHex] = true
	}
	used := map[int64]bool{}
	first := len(c.steps)
	for _, sp := range t.spans {
		if sp == run && !runIsStep {
			continue
		}
		st := stepOf(sp)
		switch {
		case sp == run || sp.root:
			st.ParentID = ""
		case run != nil && sp.parent == run.spanHex && !runIsStep:
			st.ParentID = ""
		case run == nil && !inBatch[sp.parent]:
			if c.orphans[t.id] == nil {
				c.orphans[t.id] = map[string]bool{}
			}
			c.orphans[t.id][sp.parent] = true
		}
		c.steps = append(c.steps, st)
	}
	// Seqs must be unique per run: spans that share a start time and a
	// tie-break slot move to the next free seq, in span id order.
	steps := c.steps[first:]
	slices.SortStableFunc(steps, func(a, b agenttrace.Step) int {
		if a.Seq != b.Seq {
			return cmpInt(a.Seq, b.Seq)
		}
		return strings.Compare(a.ID, b.ID)
	})
	for i := range steps {
		for used[steps[i].Seq] {
			steps[i].SetSeq(steps[i].Seq + 1)
		}
		used[steps[i].Seq] = true
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sessionOf(a attrs) string {
	for _, k := range []string{"gen_ai.conversation.id", "session.id"} {
		if v := a.str(k); v != "" {
			return clip(v, agenttrace.MaxNameLen)
		}
	}
	return ""
}

// Attributes the mapping consumes; they do not repeat in metadata.
var consumed = map[string]bool{
	"gen_ai.operation.name": true, "openinference.span.kind": true,
	"gen_ai.usage.input_tokens": true, "gen_ai.usage.output_tokens": true,
	"gen_ai.usage.prompt_tokens": true, "gen_ai.usage.completion_tokens": true,
	"llm.token_count.prompt": true, "llm.token_count.completion": true,
	"gen_ai.request.model": true, "gen_ai.response.model": true, "llm.model_name": true,
	"gen_ai.input.messages": true, "gen_ai.output.messages": true,
	"gen_ai.prompt": true, "gen_ai.completion": true,
	"input.value": true, "output.value": true, "input.mime_type": true, "output.mime_type": true,
	"gen_ai.tool.call.arguments": true, "gen_ai.tool.call.result": true,
	"gen_ai.conversation.id": true, "session.id": true,
}

// stepType maps GenAI and OpenInference span kinds to a step type.
func stepType(a attrs) agenttrace.StepType {
	switch strings.ToLower(a.str("gen_ai.operation.name")) {
	case "chat", "text_completion", "generate_content":
		return agenttrace.StepLLM
	case "execute_tool":
		return agenttrace.StepTool
	case "embeddings", "retrieval":
		return agenttrace.StepRetrieval
	case "invoke_agent", "create_agent":
		return agenttrace.StepAgent
	}
	switch strings.ToUpper(a.str("openinference.span.kind")) {
	case "LLM":
		return agenttrace.StepLLM
	case "TOOL":
		return agenttrace.StepTool
	case "RETRIEVER", "EMBEDDING", "RERANKER":
		return agenttrace.StepRetrieval
	case "AGENT":
		return agenttrace.StepAgent
	}
	if a.str("http.request.method") != "" || a.str("http.method") != "" {
		return agenttrace.StepHTTP
	}
	return agenttrace.StepOther
}

func timeOf(n uint64) *time.Time {
	if n == 0 {
		return nil
	}
	t := time.Unix(0, int64(n)).UTC()
	return &t
}

// outcome is a span's status and error.
func outcome(sp *span) (agenttrace.Status, *agenttrace.StepError, map[string]any) {
	var se *agenttrace.StepError
	extra := map[string]any{}
	for _, ev := range sp.s.Events {
		if ev == nil || ev.Name != "exception" {
			continue
		}
		ea := attrMap(ev.Attributes)
		if se == nil {
			se = &agenttrace.StepError{Type: ea.str("exception.type"), Message: ea.str("exception.message")}
			if st := ea.str("exception.stacktrace"); st != "" {
				extra["exception.stacktrace"] = st
			}
		}
	}
	if sp.s.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		if se == nil {
			se = &agenttrace.StepError{Type: sp.a.str("error.type")}
		}
		if se.Message == "" {
			se.Message = sp.s.Status.GetMessage()
		}
	}
	if se != nil {
		if se.Message == "" {
			se.Message = "span status ERROR"
			if se.Type != "" {
				se.Message = se.Type
			}
		}
		se.Type = clip(se.Type, agenttrace.MaxShortLen)
		se.Message = truncate(agenttrace.StorableText(se.Message), agenttrace.MaxErrorLen)
		return agenttrace.StatusFailed, se, extra
	}
	if sp.s.EndTimeUnixNano == 0 {
		return agenttrace.StatusProcessing, nil, extra
	}
	return agenttrace.StatusCompleted, nil, extra
}

// usageOf reads a span's token counts; a count over agenttrace.MaxTokens
// (which the domain refuses) is not taken, as a negative one is not.
func usageOf(a attrs) agenttrace.Usage {
	var u agenttrace.Usage
	for _, k := range []string{"gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"} {
		if n, ok := a.int(k); ok && n <= agenttrace.MaxTokens {
			u.InputTokens = n
			break
		}
	}
	for _, k := range []string{"gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"} {
		if n, ok := a.int(k); ok && n <= agenttrace.MaxTokens {
			u.OutputTokens = n
			break
		}
	}
	return u
}

func modelOf(a attrs) string {
	for _, k := range []string{"gen_ai.response.model", "gen_ai.request.model", "llm.model_name"} {
		if v := a.str(k); v != "" {
			return clip(v, agenttrace.MaxShortLen)
		}
	}
	return ""
}

// metadataOf is the span's attributes the mapping did not consume, plus
// events other than the GenAI and exception ones.
func metadataOf(sp *span, used map[string]bool, extra map[string]any) map[string]any {
	md := make(map[string]any, len(sp.a)+len(extra))
	keys := make([]string, 0, len(sp.a))
	for k := range sp.a {
		if !consumed[k] && !used[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i == maxMetadataKeys {
			md["otel.dropped_attributes"] = len(keys) - maxMetadataKeys
			break
		}
		md[clip(k, agenttrace.MaxNameLen)] = goValue(sp.a[k])
	}
	for k, v := range extra {
		md[k] = v
	}
	var evs []any
	for _, ev := range sp.s.Events {
		if ev == nil || ev.Name == "exception" || strings.HasPrefix(ev.Name, "gen_ai.") {
			continue
		}
		if len(evs) == maxEventsInMeta {
			break
		}
		e := map[string]any{"name": ev.Name}
		if t := timeOf(ev.TimeUnixNano); t != nil {
			e["time"] = t.Format(time.RFC3339Nano)
		}
		if len(ev.Attributes) > 0 {
			m := map[string]any{}
			for _, kv := range ev.Attributes {
				if kv != nil {
					m[kv.Key] = goValue(kv.Value)
				}
			}
			e["attributes"] = m
		}
		evs = append(evs, e)
	}
	if len(evs) > 0 {
		md["otel.events"] = evs
	}
	if sp.s.Kind != tracepb.Span_SPAN_KIND_UNSPECIFIED && sp.s.Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		md["otel.span_kind"] = strings.ToLower(strings.TrimPrefix(sp.s.Kind.String(), "SPAN_KIND_"))
	}
	return fitMetadata(md)
}

func stepOf(sp *span) agenttrace.Step {
	used := map[string]bool{}
	in, out := ioOf(sp, used)
	status, se, extra := outcome(sp)
	st := agenttrace.Step{
		ID:        sp.spanHex,
		RunID:     sp.traceHex,
		ParentID:  sp.parent,
		Name:      clip(sp.s.Name, agenttrace.MaxNameLen),
		Type:      stepType(sp.a),
		Status:    status,
		Input:     payload(in),
		Output:    payload(out),
		Error:     se,
		StartedAt: timeOf(sp.s.StartTimeUnixNano),
		EndedAt:   timeOf(sp.s.EndTimeUnixNano),
		Usage:     usageOf(sp.a),
		Model:     modelOf(sp.a),
		Metadata:  metadataOf(sp, used, extra),
		// Credits stay 0 (not reported): the store prices tokens × model.
	}
	st.SetSeq(seqOf(sp.s.StartTimeUnixNano, sp.s.SpanId))
	return st
}

func agentOf(sp *span) string {
	for _, v := range []string{sp.a.str("gen_ai.agent.name"), sp.res.str("service.name")} {
		if s := slug(v); s != "" {
			return s
		}
	}
	return "otel"
}

func runOf(sp *span, session string, isStep bool) agenttrace.Run {
	used := map[string]bool{}
	in, out := ioOf(sp, used)
	status, se, extra := outcome(sp)
	md := map[string]any{}
	if !isStep {
		md = metadataOf(sp, used, extra)
		if md == nil {
			md = map[string]any{}
		}
	}
	md["otel.span_id"] = sp.spanHex
	md["otel.span_name"] = clip(sp.s.Name, agenttrace.MaxNameLen)
	if len(sp.res) > 0 {
		res := map[string]any{}
		for k, v := range sp.res {
			res[k] = goValue(v)
		}
		md["otel.resource"] = res
	}
	r := agenttrace.Run{
		ID:        sp.traceHex,
		AgentID:   agentOf(sp),
		Status:    agenttrace.Status(status),
		Trigger:   "otlp",
		Input:     payload(in),
		Output:    payload(out),
		StartedAt: timeOf(sp.s.StartTimeUnixNano),
		EndedAt:   timeOf(sp.s.EndTimeUnixNano),
		Metadata:  fitMetadata(md),
		SessionID: session,
	}
	if se != nil {
		r.Error = &agenttrace.RunError{Type: se.Type, Message: se.Message}
	}
	if !isStep {
		// The steps' usage wins when they report any (the store's rule).
		r.Usage = usageOf(sp.a)
	}
	return r
}
