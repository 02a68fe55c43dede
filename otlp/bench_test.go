package otlp_test

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/loadgen"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

func kv(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func kvInt(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

// benchRequest is one export request: traces × 10 GenAI spans (an agent
// span, chat and tool calls), as an agent framework's batch exporter sends.
func benchRequest(seed uint64, traces int) []byte {
	var spans []*tracepb.Span
	start := uint64(time.Now().UnixNano())
	for t := range traces {
		tid := make([]byte, 16)
		binary.BigEndian.PutUint64(tid, seed)
		binary.BigEndian.PutUint64(tid[8:], uint64(t)+1)
		sid := func(i int) []byte {
			b := make([]byte, 8)
			binary.BigEndian.PutUint64(b, seed<<20|uint64(t)<<8|uint64(i)+1)
			return b
		}
		root := sid(0)
		spans = append(spans, &tracepb.Span{TraceId: tid, SpanId: root, Name: "invoke_agent support", StartTimeUnixNano: start, EndTimeUnixNano: start + 9e9,
			Attributes: []*commonpb.KeyValue{kv("gen_ai.operation.name", "invoke_agent"), kv("gen_ai.agent.name", "support"), kv("gen_ai.conversation.id", "c1")}})
		for i := 1; i < 10; i++ {
			s := &tracepb.Span{TraceId: tid, SpanId: sid(i), ParentSpanId: root, StartTimeUnixNano: start + uint64(i)*1e8, EndTimeUnixNano: start + uint64(i)*1e8 + 5e7}
			if i%2 == 1 {
				s.Name = "chat gpt-4o"
				s.Attributes = []*commonpb.KeyValue{kv("gen_ai.operation.name", "chat"), kv("gen_ai.request.model", "gpt-4o"),
					kvInt("gen_ai.usage.input_tokens", 1200), kvInt("gen_ai.usage.output_tokens", 300),
					kv("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"Where is my order 1234? It was due yesterday."}]}]`),
					kv("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"Let me look that up for you."}]}]`)}
			} else {
				s.Name = "execute_tool lookup_order"
				s.Attributes = []*commonpb.KeyValue{kv("gen_ai.operation.name", "execute_tool"), kv("gen_ai.tool.name", "lookup_order"),
					kv("gen_ai.tool.call.arguments", `{"order":"1234"}`), kv("gen_ai.tool.call.result", `{"status":"shipped"}`)}
			}
			spans = append(spans, s)
		}
	}
	req := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", "support")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}}}
	b, _ := proto.Marshal(req)
	return b
}

// BenchmarkOTLPIngest measures OTLP/HTTP protobuf ingest into SQLite through
// the real server: 4 concurrent exporters, requests of 50 traces × 10 spans
// with short GenAI messages, built before the clock starts.
func BenchmarkOTLPIngest(b *testing.B) {
	benchOTLP(b, func(i int) []byte { return benchRequest(uint64(i)+1, 50) }, 500)
}

// BenchmarkOTLPIngestLoad sends the load tool's requests (`agenttrace load
// --otlp`): 50 traces × (1 + 9) spans with 1 KiB messages and tool payloads,
// the load compared side by side with Jaeger in docs/benchmarks-otlp.md.
func BenchmarkOTLPIngestLoad(b *testing.B) {
	o := loadgen.Options{RunsPerBatch: 50, StepsPerRun: 9}
	benchOTLP(b, o.OTLPRequest, 500)
}

func benchOTLP(b *testing.B, request func(int) []byte, spansPer int) {
	e := newEnv(b)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = request(i)
	}
	var next atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(2) // 4 senders on 2 CPUs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bodies[next.Add(1)-1]
			req, _ := http.NewRequest("POST", e.ts.URL+"/v1/traces", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-protobuf")
			req.Header.Set("Authorization", "Bearer "+testKey)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*spansPer)/b.Elapsed().Seconds(), "spans/s")
}
