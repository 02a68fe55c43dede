package otlp_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// oneSpan is an export request holding a single span.
func oneSpan(s *tracepb.Span) []byte {
	b, _ := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", "racer")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{s}}},
	}}})
	return b
}

// TestRootAndChildInConcurrentRequests sends, for many traces, the run span
// and its child in two requests at the same moment. Whichever is written
// first, the child must end up a top-level step of the run (parent_id
// empty), as docs/otel.md says.
func TestRootAndChildInConcurrentRequests(t *testing.T) {
	e := newEnv(t)
	const traces = 40
	start := uint64(time.Now().Add(-time.Minute).UnixNano())
	var wg sync.WaitGroup
	ids := make([]string, traces)
	for k := range traces {
		tid := make([]byte, 16)
		binary.BigEndian.PutUint64(tid[8:], uint64(k)+0xabc000)
		ids[k] = hex.EncodeToString(tid)
		root, child := []byte{1, 0, 0, 0, 0, 0, 0, byte(k)}, []byte{2, 0, 0, 0, 0, 0, 0, byte(k)}
		bodies := [][]byte{
			oneSpan(&tracepb.Span{TraceId: tid, SpanId: root, Name: "invoke_agent racer", StartTimeUnixNano: start, EndTimeUnixNano: start + 2e9,
				Attributes: []*commonpb.KeyValue{kv("gen_ai.operation.name", "invoke_agent"), kv("gen_ai.agent.name", "racer")}}),
			oneSpan(&tracepb.Span{TraceId: tid, SpanId: child, ParentSpanId: root, Name: "execute_tool lookup", StartTimeUnixNano: start + 1e8, EndTimeUnixNano: start + 5e8,
				Attributes: []*commonpb.KeyValue{kv("gen_ai.operation.name", "execute_tool")}}),
		}
		gate := make(chan struct{})
		for _, body := range bodies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				resp := post(t, e, "application/x-protobuf", body, nil)
				if resp.StatusCode != http.StatusOK {
					t.Errorf("trace %d: status %d", k, resp.StatusCode)
				}
			}()
		}
		close(gate)
	}
	wg.Wait()
	for k, id := range ids {
		r, err := e.srv.Store.GetRun(context.Background(), agenttrace.DefaultAccountID, id)
		if err != nil {
			t.Fatalf("trace %d: %v", k, err)
		}
		if r.AgentID != "racer" || len(r.Steps) != 1 {
			t.Fatalf("trace %d: agent %q, %d steps", k, r.AgentID, len(r.Steps))
		}
		if p := r.Steps[0].ParentID; p != "" {
			t.Errorf("trace %d: the child still points at the run span %q", k, p)
		}
	}
}
