package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/client"
	"github.com/agenttrace/agenttrace/export"
	"github.com/agenttrace/agenttrace/server"
)

// TestExportDownloadFromAnyReplica runs two servers on one PostgreSQL
// schema, as two replicas behind a load balancer: an export written by
// either must download, byte for byte the same, from both, and no file may
// stay in a replica's data folder.
func TestExportDownloadFromAnyReplica(t *testing.T) {
	t.Parallel()
	dsn, _ := freshSchema(t)
	ctx := context.Background()
	const key = "at_replica_test_key_0123456789"
	var replicas []*client.Client
	var dirs []string
	for range 2 {
		dir := t.TempDir()
		srv, err := server.New(ctx, server.Config{DataDir: dir, DatabaseURL: dsn, BootstrapKey: key})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(func() { ts.Close(); srv.Close(context.Background()) })
		replicas = append(replicas, client.New(ts.URL, key))
		dirs = append(dirs, dir)
	}
	var b agenttrace.Batch
	start := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for i := range 300 {
		at := start.Add(time.Duration(i) * time.Second)
		id := fmt.Sprintf("rep-%03d", i)
		b.Runs = append(b.Runs, agenttrace.Run{ID: id, AgentID: "replicated", Status: agenttrace.StatusCompleted, StartedAt: &at,
			Input: []byte(fmt.Sprintf(`{"n":%d,"text":"%0200d"}`, i, i))})
		st := agenttrace.Step{RunID: id, ID: "s", Name: "work", Type: agenttrace.StepTool, Status: agenttrace.StatusCompleted, StartedAt: &at,
			Output: []byte(fmt.Sprintf(`{"out":"%08000d"}`, i))}
		st.SetSeq(0)
		b.Steps = append(b.Steps, st)
	}
	if err := replicas[0].Do(ctx, "POST", "/api/v1/ingest", b, nil); err != nil {
		t.Fatal(err)
	}
	// Big enough for several 1 MiB parts.
	v, err := replicas[0].CreateExport(ctx, export.Request{ResourceType: "agent_traces", AgentID: "replicated", Format: export.FormatJSONL})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for v.Status != "completed" {
		if v.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("export: %+v", v)
		}
		time.Sleep(50 * time.Millisecond)
		if v, err = replicas[1].GetExport(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
	}
	var files [2]bytes.Buffer
	for i, c := range replicas {
		n, err := c.DownloadExport(ctx, v.ID, &files[i])
		if err != nil {
			t.Fatalf("download from replica %d: %v", i, err)
		}
		if n != v.Bytes {
			t.Fatalf("replica %d sent %d bytes, the export has %d", i, n, v.Bytes)
		}
	}
	if !bytes.Equal(files[0].Bytes(), files[1].Bytes()) || files[0].Len() < 2<<20 {
		t.Fatalf("downloads differ or are short: %d and %d bytes", files[0].Len(), files[1].Len())
	}
	if lines := bytes.Count(files[0].Bytes(), []byte("\n")); lines != 300 {
		t.Fatalf("%d lines, want 300 runs", lines)
	}
	for _, dir := range dirs {
		left, _ := filepath.Glob(filepath.Join(dir, "exports", "*"))
		if len(left) != 0 {
			t.Fatalf("files left in a replica's data folder: %v", left)
		}
	}
}
