// Package mcp serves agenttrace to AI assistants (Claude, Cursor, any MCP
// client) over the Model Context Protocol, with the official Go SDK.
//
// The MCP server never touches the store: every tool acts through the HTTP
// API with the caller's key (a client.Client), so keys, scopes and accounts
// apply exactly as they do for any other API caller. Over stdio
// (`agenttrace mcp`) the client points at a remote server; over streamable
// HTTP (/mcp on the server) the client calls the server's own handler in
// process with the bearer key of the request.
package mcp

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/client"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Version is reported to MCP clients as the server's version.
var Version = "dev"

// Backend is what a tool call acts through.
type Backend struct {
	// Client calls the API with the caller's key.
	Client *client.Client
	// PublicURL is the server's address as the caller reaches it, for links
	// such as an export's download URL.
	PublicURL string
}

// Resolver answers the backend of one tool call. extra carries the HTTP
// header of the request on the streamable HTTP transport (nil over stdio).
type Resolver func(ctx context.Context, extra *sdk.RequestExtra) (*Backend, error)

// NewServer returns the MCP server with agenttrace's tools, resources and prompts.
func NewServer(resolve Resolver) *sdk.Server {
	s := sdk.NewServer(&sdk.Implementation{Name: "agenttrace", Title: "agenttrace", Version: Version}, &sdk.ServerOptions{
		Instructions: instructions,
	})
	t := &tools{resolve: resolve}
	t.register(s)
	addResources(s)
	addPrompts(s)
	return s
}

const instructions = `agenttrace records every run of an AI agent as a trace (a run with ordered steps).
Find runs with search_runs (query language: read the resource agenttrace://docs/query-language),
debug with latest_failed_run (the newest failed run of an agent, its first failed step with input, output and error),
get_run / get_step for details (large payloads are trimmed; get_step with full=true answers the whole payload),
compare_runs after a re-run, run_evaluation for checks, usage for credits over time,
create_resource_export (resource_type "agent_traces") to export traces as JSON or JSONL.`

// Static answers the same backend for every call: the stdio server, whose
// client was configured from --url and --key.
func Static(c *client.Client) Resolver {
	b := &Backend{Client: c, PublicURL: c.BaseURL}
	return func(context.Context, *sdk.RequestExtra) (*Backend, error) { return b, nil }
}

// ServeStdio serves MCP on stdin/stdout until the client disconnects or ctx ends.
func ServeStdio(ctx context.Context, c *client.Client) error {
	err := NewServer(Static(c)).Run(ctx, &sdk.StdioTransport{})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// HTTPHandler serves MCP over streamable HTTP. Each tool call acts through
// apiHandler (the server's own HTTP handler, called in process) with the bearer key
// of its request; authenticate rejects a request without a valid key before
// any MCP processing (it writes the error itself and answers false).
//
// The handler is stateless (no MCP session is kept between requests), so
// any replica of the server answers any request.
func HTTPHandler(apiHandler http.Handler, authenticate func(w http.ResponseWriter, r *http.Request) bool) http.Handler {
	hc := &http.Client{Transport: HandlerTransport{Handler: apiHandler}}
	resolve := func(ctx context.Context, extra *sdk.RequestExtra) (*Backend, error) {
		if extra == nil || extra.Header == nil {
			return nil, errors.New("no HTTP request to take the API key from")
		}
		key := api.BearerSecret(&http.Request{Header: extra.Header})
		if key == "" {
			return nil, errors.New("Authorization: missing bearer API key")
		}
		c := &client.Client{BaseURL: "http://agenttrace.in-process", Key: key, HTTP: hc}
		return &Backend{Client: c, PublicURL: extra.Header.Get(publicURLHeader)}, nil
	}
	srv := NewServer(resolve)
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, &sdk.StreamableHTTPOptions{
		Stateless: true,
		// Every request must carry a bearer key, which a page exploiting DNS
		// rebinding cannot have; the check would only break reverse proxies.
		DisableLocalhostProtection: true,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authenticate(w, r) {
			return
		}
		r = r.Clone(r.Context())
		r.Header.Set(publicURLHeader, publicURL(r))
		h.ServeHTTP(w, r)
	})
}

// publicURLHeader passes the server's public address from the HTTP request
// to the tool handlers (which see only the request's header). It is always
// overwritten, never trusted from the caller.
const publicURLHeader = "X-Agenttrace-Mcp-Public-Url"

// publicURL is the server's address as the caller reached it.
func publicURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" && !strings.ContainsAny(h, "/ ,") {
		host = h
	}
	return scheme + "://" + host
}
