package main

import (
	"context"
	"flag"
	"io"

	"github.com/agenttrace/agenttrace/mcp"
)

func init() { commands["mcp"] = runMCP }

// runMCP serves MCP over stdin/stdout for an assistant (Claude Desktop,
// Cursor, …), acting through the server's API with --url and --key.
// Nothing but MCP messages may go to stdout.
func runMCP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	newClient := clientFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := newClient()
	if err != nil {
		return err
	}
	mcp.Version = version
	return mcp.ServeStdio(ctx, c)
}
