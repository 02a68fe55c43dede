package otlp

import (
	"context"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	_ "google.golang.org/grpc/encoding/gzip" // exporters may compress with gzip
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// GRPCServer returns a gRPC server with the OTLP TraceService, for its own
// port (OTLP/gRPC, conventionally 4317). It authenticates the same bearer
// keys, sent as the "authorization" metadata
// (OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer …), and writes through
// the same mapping and lock as POST /v1/traces.
func (h *Handler) GRPCServer() *grpc.Server {
	s := grpc.NewServer(grpc.MaxRecvMsgSize(MaxDecodedBytes))
	coltracepb.RegisterTraceServiceServer(s, traceService{h: h})
	return s
}

type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	h *Handler
}

// Export is the OTLP/gRPC TraceService's one method.
func (t traceService) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	k, err := t.authenticate(ctx)
	if err == nil {
		var resp *coltracepb.ExportTraceServiceResponse
		if resp, err = t.h.export(api.WithKey(ctx, k), req); err == nil {
			return resp, nil
		}
	}
	code := t.h.rejected("grpc", "TraceService/Export", err)
	return nil, status.Error(grpcCode(code), agenttrace.ErrorMessage(err))
}

func (t traceService) authenticate(ctx context.Context) (agenttrace.APIKey, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	var secret string
	for _, v := range md.Get("authorization") {
		if b := api.ParseBearer(v); b != "" {
			secret = b
		}
	}
	if secret == "" {
		return agenttrace.APIKey{}, agenttrace.Errorf(agenttrace.EUNAUTHORIZED, "authorization: missing bearer API key (send the metadata \"authorization: Bearer KEY\")")
	}
	k, err := t.h.API.KeyForSecret(ctx, secret)
	if err != nil {
		return k, err
	}
	return k, api.RequireScope(k, agenttrace.ScopeIngest)
}

// grpcCode maps an agenttrace error code to its gRPC status code (the same
// numbers the HTTP receiver puts in its google.rpc.Status bodies).
func grpcCode(code string) codes.Code {
	switch code {
	case agenttrace.EINVALID:
		return codes.InvalidArgument
	case agenttrace.ETOOLARGE:
		return codes.ResourceExhausted
	case agenttrace.EUNAVAILABLE:
		return codes.Unavailable
	case agenttrace.EUNAUTHORIZED:
		return codes.Unauthenticated
	case agenttrace.EFORBIDDEN:
		return codes.PermissionDenied
	}
	return codes.Internal
}
