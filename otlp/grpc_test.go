package otlp_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/server"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	grpccodes "google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// createKey stores a key of the default account with one scope and answers its secret.
func createKey(t *testing.T, srv *server.Server, scope agenttrace.Scope) string {
	t.Helper()
	secret := agenttrace.NewSecret()
	k := agenttrace.APIKey{ID: agenttrace.NewID("key_"), AccountID: agenttrace.DefaultAccountID, Name: "scoped",
		Prefix: agenttrace.SecretPrefix(secret), Hash: agenttrace.HashSecret(secret), Scopes: []agenttrace.Scope{scope}, CreatedAt: time.Now().UTC()}
	if err := srv.Store.CreateAPIKey(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	return secret
}

// grpcEnv is a real server with the OTLP/gRPC receiver on a free port.
func grpcEnv(t *testing.T) (*server.Server, string) {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), BootstrapKey: testKey, OTLPGRPCAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close(context.Background()) })
	return srv, srv.OTLPGRPCAddr()
}

// TestGRPCExporter sends a GenAI trace with the OpenTelemetry SDK's
// otlptracegrpc exporter, gzip on, to the gRPC port: it must become the same
// run and steps the HTTP receiver makes.
func TestGRPCExporter(t *testing.T) {
	srv, addr := grpcEnv(t)
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithHeaders(map[string]string{"authorization": "Bearer " + testKey}),
		otlptracegrpc.WithCompressor("gzip"), otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "grpc-svc"))))
	tr := tp.Tracer("test")
	base := time.Now().Add(-time.Minute)
	rctx, root := tr.Start(ctx, "invoke_agent planner", at(base, 0))
	root.SetAttributes(attribute.String("gen_ai.operation.name", "invoke_agent"), attribute.String("gen_ai.agent.name", "planner"))
	_, chat := tr.Start(rctx, "chat gpt-4o", at(base, 10))
	chat.SetAttributes(attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.request.model", "gpt-4o"),
		attribute.Int("gen_ai.usage.input_tokens", 120), attribute.Int("gen_ai.usage.output_tokens", 30))
	end(chat, base, 200)
	_, tool := tr.Start(rctx, "execute_tool search", at(base, 210))
	tool.SetAttributes(attribute.String("gen_ai.operation.name", "execute_tool"))
	tool.SetStatus(codes.Error, "search backend down")
	end(tool, base, 400)
	end(root, base, 500)
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export over gRPC: %v", err)
	}
	id := root.SpanContext().TraceID().String()
	r, err := srv.Store.GetRun(ctx, agenttrace.DefaultAccountID, id)
	if err != nil {
		t.Fatalf("run %s: %v", id, err)
	}
	// The run span ended without an error: the agent recovered from the tool's failure.
	if r.AgentID != "planner" || r.Status != agenttrace.StatusCompleted || len(r.Steps) != 2 || r.Usage.InputTokens != 120 {
		t.Fatalf("run: agent %q status %s steps %d usage %+v", r.AgentID, r.Status, len(r.Steps), r.Usage)
	}
	if s := r.Steps[0]; s.Type != agenttrace.StepLLM || s.Model != "gpt-4o" || s.ParentID != "" {
		t.Fatalf("first step: %+v", s)
	}
	if s := r.Steps[1]; s.Type != agenttrace.StepTool || s.Status != agenttrace.StatusFailed || s.Error == nil || s.Error.Message != "search backend down" {
		t.Fatalf("second step: %+v", s)
	}
}

// TestGRPCAuthAndBadInput: no key, an unknown key and a key without the
// ingest scope are refused with the gRPC codes OTLP exporters act on, and an
// invalid span is reported as partial success without writing it.
func TestGRPCAuthAndBadInput(t *testing.T) {
	srv, addr := grpcEnv(t)
	ctx := context.Background()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := coltracepb.NewTraceServiceClient(conn)
	tid := []byte{9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 1}
	good := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(oneSpan(&tracepb.Span{TraceId: tid, SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Name: "invoke_agent x",
		StartTimeUnixNano: uint64(time.Now().UnixNano()), EndTimeUnixNano: uint64(time.Now().UnixNano()) + 1e6}), good); err != nil {
		t.Fatal(err)
	}
	readKey := createKey(t, srv, agenttrace.ScopeRead)
	for _, c := range []struct {
		name, auth string
		want       grpccodes.Code
	}{
		{"no key", "", grpccodes.Unauthenticated},
		{"unknown key", "Bearer at_nope_0000000000000000", grpccodes.Unauthenticated},
		{"read-only key", "Bearer " + readKey, grpccodes.PermissionDenied},
	} {
		cctx := ctx
		if c.auth != "" {
			cctx = metadata.AppendToOutgoingContext(ctx, "authorization", c.auth)
		}
		_, err := client.Export(cctx, good)
		if status.Code(err) != c.want {
			t.Fatalf("%s: %v, want %s", c.name, err, c.want)
		}
	}
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+testKey)
	bad := &coltracepb.ExportTraceServiceRequest{}
	_ = proto.Unmarshal(oneSpan(&tracepb.Span{TraceId: []byte{1, 2}, SpanId: []byte{1}, Name: "broken ids"}), bad)
	resp, err := client.Export(authed, bad)
	if err != nil || resp.GetPartialSuccess().GetRejectedSpans() != 1 {
		t.Fatalf("bad span: %v, partial success %v", err, resp.GetPartialSuccess())
	}
	if _, err := client.Export(authed, good); err != nil {
		t.Fatalf("good request: %v", err)
	}
	if n, _ := srv.Store.CountRuns(ctx, agenttrace.DefaultAccountID, nil); n != 1 {
		t.Fatalf("%d runs stored, want only the good one", n)
	}
}
