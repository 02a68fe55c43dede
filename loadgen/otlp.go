package loadgen

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// OTLPTarget is where OTLP load goes: any OTLP/HTTP receiver (agenttrace's
// /v1/traces, or another backend's, for a side-by-side measurement).
type OTLPTarget struct {
	URL     string            // full URL of the traces endpoint
	Headers map[string]string // e.g. Authorization
	HTTP    *http.Client
}

// OTLPRequest builds export request number n as OTLP protobuf: RunsPerBatch
// traces, each an invoke_agent root span with StepsPerRun children that
// alternate between chat spans (tokens, model, input and output messages of
// about PayloadBytes each) and execute_tool spans, as a GenAI agent
// framework's batch span processor sends them. Every tenth trace fails in
// its last span.
func (o Options) OTLPRequest(n int) []byte {
	o.defaults()
	text := o.texts(n, o.PayloadBytes-80)
	msg := func(role string) string {
		return `[{"role":"` + role + `","parts":[{"type":"text","content":"` + text() + `"}]}]`
	}
	base := uint64(time.Now().Add(-time.Hour).UnixNano())
	h := fnv.New64a()
	h.Write([]byte(o.Prefix))
	prefix := h.Sum64() // trace ids differ between load runs
	spans := make([]*tracepb.Span, 0, o.RunsPerBatch*(o.StepsPerRun+1))
	for r := range o.RunsPerBatch {
		tid := make([]byte, 16)
		binary.BigEndian.PutUint64(tid, prefix)
		binary.BigEndian.PutUint32(tid[8:], uint32(n))
		binary.BigEndian.PutUint32(tid[12:], uint32(r))
		sid := func(i int) []byte {
			b := make([]byte, 8)
			binary.BigEndian.PutUint64(b, uint64(n)<<32|uint64(r)<<12|uint64(i)+1)
			return b
		}
		start := base + uint64(n*o.RunsPerBatch+r)*1e6
		root := sid(0)
		failed := r%10 == 0
		rootSpan := &tracepb.Span{TraceId: tid, SpanId: root, Name: "invoke_agent support", Kind: tracepb.Span_SPAN_KIND_INTERNAL,
			StartTimeUnixNano: start, EndTimeUnixNano: start + uint64(o.StepsPerRun+1)*1e8,
			Attributes: []*commonpb.KeyValue{str("gen_ai.operation.name", "invoke_agent"), str("gen_ai.agent.name", fmt.Sprintf("agent-%d", r%o.Agents)),
				str("gen_ai.conversation.id", fmt.Sprintf("conv-%d-%d", n, r))}}
		if failed {
			rootSpan.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "tool timed out"}
		}
		spans = append(spans, rootSpan)
		for i := 1; i <= o.StepsPerRun; i++ {
			s := &tracepb.Span{TraceId: tid, SpanId: sid(i), ParentSpanId: root, Kind: tracepb.Span_SPAN_KIND_CLIENT,
				StartTimeUnixNano: start + uint64(i)*1e8, EndTimeUnixNano: start + uint64(i)*1e8 + 9e7}
			if i%2 == 1 {
				s.Name = "chat gpt-4o-mini"
				s.Attributes = []*commonpb.KeyValue{str("gen_ai.operation.name", "chat"), str("gen_ai.request.model", "gpt-4o-mini"),
					integer("gen_ai.usage.input_tokens", 500), integer("gen_ai.usage.output_tokens", 80),
					str("gen_ai.input.messages", msg("user")), str("gen_ai.output.messages", msg("assistant"))}
			} else {
				s.Name = "execute_tool lookup_order"
				s.Attributes = []*commonpb.KeyValue{str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.name", "lookup_order"),
					str("gen_ai.tool.call.arguments", `{"query":"`+text()+`"}`), str("gen_ai.tool.call.result", `{"answer":"`+text()+`"}`)}
			}
			if failed && i == o.StepsPerRun {
				s.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "timed out after 30s"}
			}
			spans = append(spans, s)
		}
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "support")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "agenttrace-load"}, Spans: spans}},
	}}}
	b, err := proto.Marshal(req)
	if err != nil {
		panic(err) // a message built above always marshals
	}
	return b
}

// RunOTLP sends o.Batches OTLP requests to t with o.Concurrency senders and
// measures the rate; Steps counts every span (roots included). Requests are
// built before the clock starts.
func RunOTLP(ctx context.Context, t OTLPTarget, o Options) Result {
	o.defaults()
	if t.HTTP == nil {
		t.HTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency}}
	}
	bodies := make([][]byte, o.Batches)
	for i := range bodies {
		bodies[i] = o.OTLPRequest(i)
	}
	res := sendAll(ctx, len(bodies), o.Concurrency, func(i int) error { return t.send(ctx, bodies[i]) })
	n := int64(o.Batches) - res.Errors
	res.Runs, res.Steps = n*int64(o.RunsPerBatch), n*int64(o.RunsPerBatch*(o.StepsPerRun+1))
	return res
}

func (t OTLPTarget) send(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, "POST", t.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	for k, v := range t.Headers {
		req.Header.Set(k, v)
	}
	resp, err := t.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s %s", t.URL, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func integer(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}
