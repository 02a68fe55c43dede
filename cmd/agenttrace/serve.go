package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/agenttrace/agenttrace/server"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg server.Config
	fs.StringVar(&cfg.Addr, "addr", envOr("AGENTTRACE_ADDR", "127.0.0.1:7070"), "listen address (AGENTTRACE_ADDR)")
	fs.StringVar(&cfg.DataDir, "data", envOr("AGENTTRACE_DATA", "agenttrace-data"), "data folder; the SQLite file lives here (AGENTTRACE_DATA)")
	fs.StringVar(&cfg.DatabaseURL, "database-url", os.Getenv("AGENTTRACE_DATABASE_URL"), "postgres://… to use PostgreSQL instead of SQLite (AGENTTRACE_DATABASE_URL)")
	fs.BoolVar(&cfg.Demo, "demo", false, "fill an empty store with demo agents and runs")
	fs.StringVar(&cfg.OTLPGRPCAddr, "otlp-grpc-addr", os.Getenv("AGENTTRACE_OTLP_GRPC_ADDR"), "also take OTLP/gRPC traces on this address, e.g. 127.0.0.1:4317 (AGENTTRACE_OTLP_GRPC_ADDR; off when empty)")
	logLevel := fs.String("log-level", envOr("AGENTTRACE_LOG_LEVEL", "info"), "debug, info, warn or error")
	logJSON := fs.Bool("log-json", os.Getenv("AGENTTRACE_LOG_JSON") != "", "log JSON lines instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if *logJSON {
		cfg.Logger = slog.New(slog.NewJSONHandler(stderr, opts))
	} else {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, opts))
	}
	cfg.BootstrapKey = os.Getenv("AGENTTRACE_BOOTSTRAP_KEY")
	for _, h := range strings.Split(os.Getenv("AGENTTRACE_JUDGE_ALLOW"), ",") {
		if h = strings.TrimSpace(h); h != "" {
			cfg.JudgeAllow = append(cfg.JudgeAllow, h)
		}
	}
	cfg.Out = stdout
	srv, err := server.New(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "agenttrace is running: open http://%s/ (API at http://%s/api/v1, Ctrl-C to stop)\n", cfg.Addr, cfg.Addr)
	return srv.Serve(ctx)
}
