package otlp_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/server"
	"github.com/agenttrace/agenttrace/store"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const testKey = "at_test_otlp_0123456789abcdef"

type env struct {
	srv *server.Server
	ts  *httptest.Server
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), BootstrapKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close(context.Background())
	})
	return &env{srv: srv, ts: ts}
}

// provider is a real OpenTelemetry SDK exporting to the test server. With
// sync, every span is exported in its own request when it ends.
func (e *env) provider(t testing.TB, sync bool, opts ...otlptracehttp.Option) *sdktrace.TracerProvider {
	t.Helper()
	opts = append([]otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(e.ts.URL + "/v1/traces"),
		otlptracehttp.WithHeaders(map[string]string{"Authorization": "Bearer " + testKey}),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
	}, opts...)
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "Weather Service"))
	var po sdktrace.TracerProviderOption = sdktrace.WithBatcher(exp, sdktrace.WithMaxExportBatchSize(4096), sdktrace.WithBatchTimeout(time.Hour))
	if sync {
		po = sdktrace.WithSyncer(exp)
	}
	tp := sdktrace.NewTracerProvider(po, sdktrace.WithResource(res))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

func (e *env) run(t *testing.T, id string) agenttrace.Run {
	t.Helper()
	r, err := e.srv.Store.GetRun(context.Background(), agenttrace.DefaultAccountID, id)
	if err != nil {
		t.Fatalf("run %s: %v", id, err)
	}
	return r
}

func (e *env) runCount(t *testing.T) int {
	t.Helper()
	p, err := e.srv.Store.ListRuns(context.Background(), agenttrace.DefaultAccountID, store.ListOptions{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Runs)
}

func stepByName(t *testing.T, r agenttrace.Run, name string) agenttrace.Step {
	t.Helper()
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("run %s has no step %q (steps: %v)", r.ID, name, stepNames(r))
	return agenttrace.Step{}
}

func stepNames(r agenttrace.Run) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Name)
	}
	return out
}

func at(base time.Time, ms int) trace.SpanStartEventOption {
	return trace.WithTimestamp(base.Add(time.Duration(ms) * time.Millisecond))
}

func end(sp trace.Span, base time.Time, ms int) {
	sp.End(trace.WithTimestamp(base.Add(time.Duration(ms) * time.Millisecond)))
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestGenAITrace sends one agent trace with the GenAI conventions through
// the OpenTelemetry SDK and reads it back.
func TestGenAITrace(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A custom model priced through the price table.
	if err := e.srv.Store.PutPrices(ctx, agenttrace.DefaultAccountID, []agenttrace.Price{{Model: "acme-large", InputPerMillion: 10, OutputPerMillion: 20}}); err != nil {
		t.Fatal(err)
	}
	tp := e.provider(t, false)
	tr := tp.Tracer("test")
	base := time.Now().Add(-time.Minute)

	rctx, root := tr.Start(ctx, "invoke_agent Weather Agent", at(base, 0), trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "invoke_agent"),
		attribute.String("gen_ai.agent.name", "Weather Agent"),
		attribute.String("gen_ai.conversation.id", "conv-42"),
		attribute.String("input.value", "What is the weather in Paris?"),
		attribute.String("output.value", "Sunny, 24°C."),
		attribute.String("customer.tier", "gold"),
	))
	_, chat := tr.Start(rctx, "chat gpt-4o", at(base, 10), trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.request.model", "gpt-4o"),
		attribute.String("gen_ai.response.model", "gpt-4o-2024-08-06"),
		attribute.Int("gen_ai.usage.input_tokens", 1000),
		attribute.Int("gen_ai.usage.output_tokens", 500),
		attribute.String("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"What is the weather in Paris?"}]}]`),
		attribute.String("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"tool_call","name":"get_weather"}]}]`),
		attribute.Float64("gen_ai.request.temperature", 0.2),
	))
	end(chat, base, 100)
	tctx, tool := tr.Start(rctx, "execute_tool get_weather", at(base, 110), trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "execute_tool"),
		attribute.String("gen_ai.tool.name", "get_weather"),
		attribute.String("gen_ai.tool.call.arguments", `{"city":"Paris"}`),
	))
	_, http1 := tr.Start(tctx, "GET api.weather", at(base, 115), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("http.request.method", "GET")))
	end(http1, base, 150)
	tool.RecordError(errors.New("weather API timed out"), trace.WithAttributes(attribute.String("exception.type", "TimeoutError")))
	tool.SetStatus(codes.Error, "timeout")
	end(tool, base, 160)
	_, sub := tr.Start(rctx, "invoke_agent Summarizer", at(base, 170), trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "invoke_agent"),
		attribute.String("gen_ai.agent.name", "Summarizer"),
	))
	end(sub, base, 180)
	// OpenInference attributes and an embeddings call.
	_, oi := tr.Start(rctx, "llm", at(base, 190), trace.WithAttributes(
		attribute.String("openinference.span.kind", "LLM"),
		attribute.String("llm.model_name", "acme-large-v2"),
		attribute.Int("llm.token_count.prompt", 100000),
		attribute.Int("llm.token_count.completion", 50000),
		attribute.String("input.value", `{"q":"paris"}`),
		attribute.String("output.value", "ok"),
	))
	end(oi, base, 200)
	_, emb := tr.Start(rctx, "embeddings", at(base, 205), trace.WithAttributes(attribute.String("gen_ai.operation.name", "embeddings")))
	end(emb, base, 206)
	end(root, base, 300)
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}

	traceID := root.SpanContext().TraceID().String()
	r := e.run(t, traceID)
	if r.AgentID != "weather-agent" || r.Status != agenttrace.StatusCompleted || r.Trigger != "otlp" || r.SessionID != "conv-42" {
		t.Fatalf("run: agent %q status %q trigger %q session %q", r.AgentID, r.Status, r.Trigger, r.SessionID)
	}
	if string(r.Input) != `"What is the weather in Paris?"` || string(r.Output) != `"Sunny, 24°C."` {
		t.Errorf("run input/output: %s / %s", r.Input, r.Output)
	}
	if r.Metadata["customer.tier"] != "gold" {
		t.Errorf("run metadata: %v", r.Metadata)
	}
	want := []string{"chat gpt-4o", "execute_tool get_weather", "GET api.weather", "invoke_agent Summarizer", "llm", "embeddings"}
	if got := stepNames(r); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("steps %v, want %v", got, want)
	}
	types := map[string]agenttrace.StepType{"chat gpt-4o": "llm", "execute_tool get_weather": "tool", "GET api.weather": "http", "invoke_agent Summarizer": "agent", "llm": "llm", "embeddings": "retrieval"}
	for _, s := range r.Steps {
		if s.Type != types[s.Name] {
			t.Errorf("step %q type %q, want %q", s.Name, s.Type, types[s.Name])
		}
	}
	c := stepByName(t, r, "chat gpt-4o")
	if c.ParentID != "" || c.Model != "gpt-4o-2024-08-06" || c.Usage != (agenttrace.Usage{InputTokens: 1000, OutputTokens: 500}) {
		t.Errorf("chat step: parent %q model %q usage %+v", c.ParentID, c.Model, c.Usage)
	}
	if !near(c.Credits, 0.0075) {
		t.Errorf("chat credits %v, want 0.0075 (gpt-4o list price)", c.Credits)
	}
	if !strings.Contains(string(c.Input), `"What is the weather in Paris?"`) || !strings.Contains(string(c.Output), "get_weather") {
		t.Errorf("chat input/output: %s / %s", c.Input, c.Output)
	}
	if c.Metadata["gen_ai.request.temperature"] != 0.2 {
		t.Errorf("chat metadata: %v", c.Metadata)
	}
	tl := stepByName(t, r, "execute_tool get_weather")
	if tl.Status != agenttrace.StatusFailed || tl.Error == nil || tl.Error.Type != "*errors.errorString" || tl.Error.Message != "weather API timed out" {
		t.Errorf("tool step: status %q error %+v", tl.Status, tl.Error)
	}
	if string(tl.Input) != `{"city":"Paris"}` {
		t.Errorf("tool input %s", tl.Input)
	}
	h := stepByName(t, r, "GET api.weather")
	if h.ParentID != tl.ID {
		t.Errorf("http step parent %q, want the tool step %q", h.ParentID, tl.ID)
	}
	o := stepByName(t, r, "llm")
	if o.Model != "acme-large-v2" || o.Usage.InputTokens != 100000 || !near(o.Credits, 2) || string(o.Input) != `{"q":"paris"}` {
		t.Errorf("openinference step: model %q usage %+v credits %v input %s", o.Model, o.Usage, o.Credits, o.Input)
	}
	if !near(r.Credits, 2.0075) || r.Usage.InputTokens != 101000 || r.StepCount != 6 {
		t.Errorf("run totals: credits %v usage %+v steps %d", r.Credits, r.Usage, r.StepCount)
	}
	if r.Error != nil && (r.Error.Message != "" || r.Error.StepID != tl.ID) {
		t.Errorf("a completed run only points at its first failed step: %+v", r.Error)
	}
}

// TestSplitAndOutOfOrder exports each span in its own request as it ends:
// children first (ended in reverse start order), the root last.
func TestSplitAndOutOfOrder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tp := e.provider(t, true)
	tr := tp.Tracer("test")
	base := time.Now().Add(-time.Minute)
	rctx, root := tr.Start(ctx, "agent", at(base, 0), trace.WithAttributes(attribute.String("gen_ai.operation.name", "invoke_agent")))
	var spans []trace.Span
	for i := range 5 {
		_, sp := tr.Start(rctx, fmt.Sprintf("step-%d", i), at(base, 10*(i+1)), trace.WithAttributes(attribute.String("gen_ai.operation.name", "chat")))
		spans = append(spans, sp)
	}
	// Two spans with the same start nanosecond.
	_, twinA := tr.Start(rctx, "twin-a", at(base, 100))
	_, twinB := tr.Start(rctx, "twin-b", at(base, 100))
	end(twinB, base, 101)
	end(twinA, base, 101)
	for i := len(spans) - 1; i >= 0; i-- {
		end(spans[i], base, 200-i)
	}
	traceID := root.SpanContext().TraceID().String()
	r := e.run(t, traceID)
	if r.Status != agenttrace.StatusProcessing || r.StepCount != 7 {
		t.Fatalf("before the root: status %q steps %d, want processing with 7", r.Status, r.StepCount)
	}
	rootID := root.SpanContext().SpanID().String()
	for _, s := range r.Steps {
		if s.ParentID != rootID {
			t.Errorf("before the root, step %q parent %q, want the root span %q", s.Name, s.ParentID, rootID)
		}
	}
	root.SetStatus(codes.Error, "agent gave up")
	end(root, base, 300)
	r = e.run(t, traceID)
	if r.Status != agenttrace.StatusFailed || r.AgentID != "weather-service" || r.Error == nil || r.Error.Message != "agent gave up" {
		t.Fatalf("after the root: status %q agent %q error %+v", r.Status, r.AgentID, r.Error)
	}
	names := stepNames(r)
	if strings.Join(names[:5], ",") != "step-0,step-1,step-2,step-3,step-4" || r.StepCount != 7 {
		t.Fatalf("steps %v", names)
	}
	for _, s := range r.Steps {
		if s.ParentID != "" {
			t.Errorf("after the root, step %q parent %q, want none", s.Name, s.ParentID)
		}
	}
	if r.DurationMS != 300 {
		t.Errorf("duration %v", r.DurationMS)
	}
	// A child arriving after its run span gets no parent either.
	_, late := tr.Start(rctx, "late", at(base, 250))
	end(late, base, 260)
	r = e.run(t, traceID)
	if s := r.Steps[len(r.Steps)-1]; r.StepCount != 8 || s.Name != "late" || s.ParentID != "" || r.Status != agenttrace.StatusFailed {
		t.Fatalf("late child: %d steps, last %q parent %q, run %q", r.StepCount, s.Name, s.ParentID, r.Status)
	}
}

// TestOrphanAndRemoteParent: a span whose parent never arrives is kept as a
// step of a processing run; a span with a remote parent is a run.
func TestOrphanAndRemoteParent(t *testing.T) {
	e := newEnv(t)
	tp := e.provider(t, true)
	tr := tp.Tracer("test")
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	pid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: pid, TraceFlags: trace.FlagsSampled})
	_, orphan := tr.Start(trace.ContextWithSpanContext(context.Background(), sc), "lonely tool", trace.WithAttributes(attribute.String("gen_ai.operation.name", "execute_tool")))
	orphan.End()
	r := e.run(t, tid.String())
	if r.Status != agenttrace.StatusProcessing || len(r.Steps) != 1 || r.Steps[0].ParentID != pid.String() || r.Steps[0].Type != agenttrace.StepTool {
		t.Fatalf("orphan: status %q steps %+v", r.Status, r.Steps)
	}

	tid2, _ := trace.TraceIDFromHex("1af7651916cd43dd8448eb211c80319c")
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid2, SpanID: pid, TraceFlags: trace.FlagsSampled, Remote: true})
	_, agent := tr.Start(trace.ContextWithRemoteSpanContext(context.Background(), remote), "invoke_agent", trace.WithAttributes(attribute.String("gen_ai.agent.name", "remote-agent")))
	agent.End()
	r = e.run(t, tid2.String())
	if r.Status != agenttrace.StatusCompleted || r.AgentID != "remote-agent" {
		t.Fatalf("remote parent: status %q agent %q", r.Status, r.AgentID)
	}
}

// TestHugeAttribute: values over the domain limits are truncated with a marker.
func TestHugeAttribute(t *testing.T) {
	e := newEnv(t)
	tp := e.provider(t, false, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	tr := tp.Tracer("test")
	huge := strings.Repeat("x", 3<<20)
	rctx, root := tr.Start(context.Background(), "agent")
	_, sp := tr.Start(rctx, "chat", trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.input.messages", huge),
		attribute.String("big.note", strings.Repeat("y", 100<<10)),
		attribute.String("exception.stacktrace", "none"),
	))
	sp.End()
	root.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, root.SpanContext().TraceID().String())
	s := stepByName(t, r, "chat")
	if len(s.Input) > agenttrace.MaxPayloadBytes || !strings.HasSuffix(string(s.Input), ` bytes]"`) || !strings.Contains(string(s.Input), "…[truncated 20") {
		t.Errorf("input: %d bytes, ends %q", len(s.Input), string(s.Input[max(0, len(s.Input)-40):]))
	}
	note, _ := s.Metadata["big.note"].(string)
	if len(note) > 16<<10 || !strings.HasSuffix(note, "bytes]") || !strings.Contains(note, "…[truncated ") {
		t.Errorf("metadata big.note: %d bytes, ends %q", len(note), note[max(0, len(note)-40):])
	}
}

func post(t *testing.T, e *env, ct string, body []byte, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+"/v1/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+testKey)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestMalformedAndLimits(t *testing.T) {
	e := newEnv(t)
	// A valid first span followed by garbage: nothing may be written.
	good := &coltracepb.ExportTraceServiceRequest{}
	if err := protojson.Unmarshal([]byte(jsonSpans("ff", true)), good); err != nil {
		t.Fatal(err)
	}
	b, _ := proto.Marshal(good)
	resp := post(t, e, "application/x-protobuf", append(b, 0xff, 0xff, 0xff), nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("malformed: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var st spb.Status
	if err := proto.Unmarshal(body, &st); err != nil || st.Code != 3 || !strings.Contains(st.Message, "malformed") {
		t.Fatalf("status %v %v", &st, err)
	}
	if n := e.runCount(t); n != 0 {
		t.Fatalf("a malformed request wrote %d runs", n)
	}
	resp = post(t, e, "application/x-protobuf", make([]byte, agenttrace.MaxBodyBytes+1), nil)
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("over the limit: %d", resp.StatusCode)
	}
	resp = post(t, e, "text/plain", []byte("x"), nil)
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Fatalf("text/plain: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", e.ts.URL+"/v1/traces", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/x-protobuf")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("no key: %v %v", resp, err)
	}
}

// jsonSpans is an OTLP/JSON request (hex ids, as the spec says) with a root
// and a child; bad adds a span without a start time.
func jsonSpans(traceByte string, bad bool) string {
	tid := strings.Repeat(traceByte, 16)
	extra := ""
	if bad {
		extra = `,{"traceId":"` + tid + `","spanId":"0000000000000003","name":"broken"}`
	}
	return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-agent"}}]},
	"scopeSpans":[{"spans":[
	{"traceId":"` + tid + `","spanId":"0000000000000001","name":"root","kind":1,
	 "startTimeUnixNano":"1767225600000000000","endTimeUnixNano":"1767225601000000000"},
	{"traceId":"` + tid + `","spanId":"0000000000000002","parentSpanId":"0000000000000001","name":"chat",
	 "startTimeUnixNano":"1767225600100000000","endTimeUnixNano":1767225600500000000,
	 "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
	   {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}},
	   {"key":"gen_ai.usage.input_tokens","value":{"intValue":"2000"}},
	   {"key":"gen_ai.usage.output_tokens","value":{"intValue":1000}}],
	 "events":[{"name":"gen_ai.user.message","timeUnixNano":"1767225600100000000","attributes":[{"key":"content","value":{"stringValue":"hello"}}]},
	   {"name":"gen_ai.choice","attributes":[{"key":"message","value":{"stringValue":"{\"content\":\"hi\"}"}}]}],
	 "status":{"code":2,"message":"rate limited"}}` + extra + `]}]}]}`
}

func TestJSONPartialSuccess(t *testing.T) {
	e := newEnv(t)
	resp := post(t, e, "application/json", []byte(jsonSpans("ab", true)), nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("json: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var out coltracepb.ExportTraceServiceResponse
	if err := protojson.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	if out.PartialSuccess.GetRejectedSpans() != 1 || !strings.Contains(out.PartialSuccess.GetErrorMessage(), "start_time_unix_nano") {
		t.Fatalf("partial success: %s", body)
	}
	r := e.run(t, strings.Repeat("ab", 16))
	if r.AgentID != "json-agent" || r.Status != agenttrace.StatusCompleted || len(r.Steps) != 1 {
		t.Fatalf("run %+v", r)
	}
	s := r.Steps[0]
	if s.ID != "0000000000000002" || s.ParentID != "" || s.Status != agenttrace.StatusFailed || s.Error.Message != "rate limited" {
		t.Errorf("step %+v", s)
	}
	if !near(s.Credits, 2000*0.15/1e6+1000*0.6/1e6) {
		t.Errorf("credits %v", s.Credits)
	}
	var in []map[string]any
	_ = json.Unmarshal(s.Input, &in)
	if len(in) != 1 || in[0]["role"] != "user" || in[0]["content"] != "hello" || !strings.Contains(string(s.Output), `"content":"hi"`) {
		t.Errorf("input %s output %s", s.Input, s.Output)
	}
	// The same request again: idempotent.
	resp = post(t, e, "application/json", []byte(jsonSpans("ab", false)), nil)
	resp.Body.Close()
	if r2 := e.run(t, strings.Repeat("ab", 16)); resp.StatusCode != 200 || r2.StepCount != 1 || !near(r2.Credits, r.Credits) {
		t.Fatalf("resend: %d steps %d credits %v", resp.StatusCode, r2.StepCount, r2.Credits)
	}
	if _, err := hex.DecodeString(s.ID); err != nil {
		t.Fatal(err)
	}
}

// TestSpanTimeOutOfRange: a span whose time the stores cannot hold (past
// 2200; 2300 overflows their 64-bit nanoseconds) is rejected by name, and
// the others of the request are stored.
func TestSpanTimeOutOfRange(t *testing.T) {
	e := newEnv(t)
	tid := strings.Repeat("cd", 16)
	body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"json-agent"}}]},
	"scopeSpans":[{"spans":[
	{"traceId":"` + tid + `","spanId":"0000000000000001","name":"root","startTimeUnixNano":"1767225600000000000","endTimeUnixNano":"1767225601000000000"},
	{"traceId":"` + tid + `","spanId":"0000000000000002","parentSpanId":"0000000000000001","name":"far","startTimeUnixNano":"1767225600100000000","endTimeUnixNano":"10413792000000000000"}]}]}]}`
	resp := post(t, e, "application/json", []byte(body), nil)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var out coltracepb.ExportTraceServiceResponse
	if err := protojson.Unmarshal(raw, &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s %v", resp.StatusCode, raw, err)
	}
	if out.PartialSuccess.GetRejectedSpans() != 1 || !strings.Contains(out.PartialSuccess.GetErrorMessage(), `span "far": a time is out of range`) {
		t.Fatalf("partial success: %s", raw)
	}
	if r := e.run(t, tid); r.Status != agenttrace.StatusCompleted || len(r.Steps) != 0 {
		t.Fatalf("run %+v", r)
	}
}
