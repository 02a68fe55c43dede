package export

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/jobs"
	"github.com/agenttrace/agenttrace/query"
	"github.com/agenttrace/agenttrace/store"
	"github.com/klauspost/compress/gzip"
)

// Schema is the published JSON Schema of the export files (draft 2020-12):
// the root describes a JSON document, $defs/run one line of a JSONL file.
// docs/export-schema.json is a copy (kept equal by a test).
//
//go:embed schema.json
var Schema []byte

// DefaultRetention is how long export files and finished export jobs are kept.
const DefaultRetention = 7 * 24 * time.Hour

// Params is what an export job stores: the request, the query its filters
// composed to (relative times resolved at creation) and the estimate.
type Params struct {
	Request
	Query    string   `json:"query"`
	Estimate Estimate `json:"estimate"`
}

// Result is what a completed export job stores.
type Result struct {
	Bytes    int64  `json:"bytes"`
	Runs     int64  `json:"runs"`
	Steps    int64  `json:"steps"`
	File     string `json:"file"`     // name under the exports folder
	Filename string `json:"filename"` // offered to the downloader
	Node     string `json:"node"`     // host name of the replica holding the file
	// Stored is "database" when the file is kept in the store (Service.Shared).
	Stored string `json:"stored,omitempty"`
}

// storedInDatabase is Result.Stored for files kept by store.ExportFiles.
const storedInDatabase = "database"

// Progress is how far a job got.
type Progress struct {
	RunsWritten int64 `json:"runs_written"`
	RunsTotal   int64 `json:"runs_total"`
}

// View is an export as the API shows it.
type View struct {
	ID           string     `json:"id"`
	Status       string     `json:"status"` // queued, running, completed, failed (or canceled)
	ResourceType string     `json:"resource_type"`
	AgentID      string     `json:"agent_id,omitempty"`
	Format       string     `json:"format"`
	Gzip         bool       `json:"gzip"`
	Filters      Filters    `json:"filters"`
	Query        string     `json:"query"`
	Estimate     Estimate   `json:"estimate"`
	Progress     Progress   `json:"progress"`
	Bytes        int64      `json:"bytes"`
	Counts       *Counts    `json:"counts,omitempty"`
	Filename     string     `json:"filename"`
	Error        string     `json:"error,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	FinishedAt   *time.Time `json:"finished_at"`
	DownloadURL  string     `json:"download_url,omitempty"`
}

// Service is the export part of the server: the HTTP API, the job handler
// and the retention sweep.
type Service struct {
	Store  store.Store
	API    *api.Server // authentication
	Dir    string      // where files are written: DATA/exports
	Logger *slog.Logger
	// Wake tells the job runner a job was created (optional).
	Wake      func()
	Retention time.Duration // default DefaultRetention
	PageSize  int           // runs per store query, default DefaultPageSize
	Now       func() time.Time
	// Shared keeps finished files in the database (the store must implement
	// store.ExportFiles), so that any of several replicas serves a download.
	Shared bool
}

const basePath = "/authenticated/resource-exports"

// Register mounts the routes on mux (bearer keys with the export scope).
func (s *Service) Register(mux *http.ServeMux) {
	mux.Handle("POST "+basePath, s.API.Auth(agenttrace.ScopeExport, s.Create))
	mux.Handle("GET "+basePath, s.API.Auth(agenttrace.ScopeExport, s.List))
	mux.Handle("GET "+basePath+"/{id}", s.API.Auth(agenttrace.ScopeExport, s.Get))
	mux.Handle("GET "+basePath+"/{id}/download", s.API.Auth(agenttrace.ScopeExport, s.Download))
	mux.Handle("DELETE "+basePath+"/{id}", s.API.Auth(agenttrace.ScopeExport, s.Cancel))
	mux.HandleFunc("GET "+basePath+"/schema.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/schema+json")
		_, _ = w.Write(Schema)
	})
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func accountOf(r *http.Request) string {
	k, _ := api.KeyFrom(r.Context())
	return k.AccountID
}

// checkAgent answers ENOTFOUND unless the account has the agent.
func (s *Service) checkAgent(ctx context.Context, account, id string) error {
	if ix, ok := s.Store.(store.AgentIndex); ok {
		agents, err := ix.AgentIDs(ctx, account)
		if err != nil {
			return err
		}
		for _, a := range agents {
			if a.ID == id {
				return nil
			}
		}
		return agenttrace.Errorf(agenttrace.ENOTFOUND, "agent_id: no agent %q in this account", id)
	}
	_, err := s.Store.GetAgent(ctx, account, id)
	if agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND {
		return agenttrace.Errorf(agenttrace.ENOTFOUND, "agent_id: no agent %q in this account", id)
	}
	return err
}

func header(p Params, at time.Time) Header {
	return Header{ResourceType: ResourceType, ExportedAt: at.UTC(),
		Filters: HeaderFilters{AgentID: p.AgentID, Filters: p.Filters, Query: p.Query}}
}

// Create answers a dry run's estimate, or creates the export job (202).
func (s *Service) Create(w http.ResponseWriter, r *http.Request) {
	var req Request
	if err := api.DecodeJSON(w, r, 1<<20, &req); err != nil {
		api.WriteError(w, r, err)
		return
	}
	now := s.now()
	q, err := req.Validate(now)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	account := accountOf(r)
	if req.AgentID != "" {
		if err := s.checkAgent(r.Context(), account, req.AgentID); err != nil {
			api.WriteError(w, r, err)
			return
		}
	}
	p := Params{Request: req, Query: q.String()}
	p.DryRun = false
	src := Source{Store: s.Store, Account: account, Query: q}
	est, err := EstimateSize(r.Context(), src, Writer{Format: req.Format, Header: header(p, now)}, req.Gzip)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	if req.DryRun {
		api.WriteJSON(w, http.StatusOK, map[string]any{"estimate": est, "query": p.Query})
		return
	}
	p.Estimate = est
	params, _ := json.Marshal(p)
	j := agenttrace.Job{ID: agenttrace.NewID("exp_"), AccountID: account, Kind: Kind, Status: agenttrace.JobQueued,
		Params: params, Total: est.Runs}
	if err := s.Store.CreateJob(r.Context(), j); err != nil {
		api.WriteError(w, r, err)
		return
	}
	if s.Wake != nil {
		s.Wake()
	}
	j, err = s.Store.GetJob(r.Context(), account, j.ID)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", basePath+"/"+j.ID)
	api.WriteJSON(w, http.StatusAccepted, ViewOf(j))
}

// ViewOf turns an export job into its API view.
func ViewOf(j agenttrace.Job) View {
	var p Params
	_ = json.Unmarshal(j.Params, &p)
	v := View{ID: j.ID, Status: string(j.Status), ResourceType: p.ResourceType, AgentID: p.AgentID, Format: p.Format,
		Gzip: p.Gzip, Filters: p.Filters, Query: p.Query, Estimate: p.Estimate,
		Progress:  Progress{RunsWritten: j.Progress, RunsTotal: j.Total},
		Filename:  Filename(p, j.CreatedAt),
		Error:     j.Error,
		CreatedAt: j.CreatedAt, FinishedAt: j.FinishedAt}
	if v.Progress.RunsTotal == 0 && j.Status != agenttrace.JobCompleted {
		v.Progress.RunsTotal = p.Estimate.Runs
	}
	if j.Status == agenttrace.JobCompleted {
		var res Result
		if json.Unmarshal(j.Result, &res) == nil {
			v.Bytes = res.Bytes
			v.Counts = &Counts{Runs: res.Runs, Steps: res.Steps}
			v.Progress = Progress{RunsWritten: res.Runs, RunsTotal: res.Runs}
			if res.Filename != "" {
				v.Filename = res.Filename
			}
		}
		v.DownloadURL = basePath + "/" + j.ID + "/download"
	}
	return v
}

// Filename is the name offered for download:
// agent-traces-support-bot-20261125-1203.jsonl(.gz).
func Filename(p Params, created time.Time) string {
	who := p.AgentID
	if who == "" {
		who = "all"
	}
	ext := p.Format
	if ext == "" {
		ext = FormatJSONL
	}
	if p.Gzip {
		ext += ".gz"
	}
	return fmt.Sprintf("agent-traces-%s-%s.%s", safeName(who), created.UTC().Format("20060102-1504"), ext)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
}

func (s *Service) job(r *http.Request) (agenttrace.Job, error) {
	id := r.PathValue("id")
	j, err := s.Store.GetJob(r.Context(), accountOf(r), id)
	if err == nil && j.Kind != Kind {
		err = agenttrace.Errorf(agenttrace.ENOTFOUND, "export %q not found", id)
	}
	if agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND {
		err = agenttrace.Errorf(agenttrace.ENOTFOUND, "export %q not found", id)
	}
	return j, err
}

// Get answers one export.
func (s *Service) Get(w http.ResponseWriter, r *http.Request) {
	j, err := s.job(r)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, ViewOf(j))
}

// List answers the account's exports, newest first (?limit=, default 50).
func (s *Service) List(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		if _, err := fmt.Sscan(v, &limit); err != nil || limit < 1 || limit > 1000 {
			api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "limit: %q is not a whole number in 1..1000", v))
			return
		}
	}
	list, err := s.Store.ListJobs(r.Context(), accountOf(r), Kind, limit)
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	out := make([]View, len(list))
	for i, j := range list {
		out[i] = ViewOf(j)
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"data": out, "next_cursor": ""})
}

// Cancel stops a queued or running export (a finished one is left as is).
func (s *Service) Cancel(w http.ResponseWriter, r *http.Request) {
	if _, err := s.job(r); err != nil {
		api.WriteError(w, r, err)
		return
	}
	j, err := s.Store.CancelJob(r.Context(), accountOf(r), r.PathValue("id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, ViewOf(j))
}

// ContentType is the media type of a file of the format.
func ContentType(format string, gz bool) string {
	switch {
	case gz:
		return "application/gzip"
	case format == FormatJSON:
		return "application/json"
	}
	return "application/x-ndjson"
}

func (s *Service) retention() time.Duration {
	if s.Retention > 0 {
		return s.Retention
	}
	return DefaultRetention
}

// Run is the job handler of kind "export". It always starts over: a job
// taken up again after a crash or a restart rewrites its file from the
// first run. The file is written to ID.part and renamed to its final name
// only once complete and synced, so no file that looks complete is ever
// short.
func (s *Service) Run(ctx context.Context, j agenttrace.Job, p *jobs.Progress) (any, error) {
	var params Params
	if err := json.Unmarshal(j.Params, &params); err != nil {
		return nil, agenttrace.Errorf(agenttrace.EINVALID, "export params: %v", err)
	}
	q, err := query.Parse(params.Query)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, err
	}
	part := filepath.Join(s.Dir, j.ID+".part")
	ext := params.Format
	if params.Gzip {
		ext += ".gz"
	}
	final := j.ID + "." + ext
	f, err := os.OpenFile(part, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(part)
		}
	}()
	src := Source{Store: s.Store, Account: j.AccountID, Query: q, PageSize: s.PageSize}
	total, err := s.Store.CountRuns(ctx, j.AccountID, q)
	if err != nil {
		return nil, err
	}
	if err := p.Set(ctx, 0, total); err != nil {
		return nil, err
	}
	cw := &countingWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	var out io.Writer = bw
	var zw *gzip.Writer
	if params.Gzip {
		zw = NewGzipWriter(bw)
		zw.Name = strings.TrimSuffix(Filename(params, j.CreatedAt), ".gz")
		out = zw
	}
	wr := Writer{Format: params.Format, Header: header(params, s.now()), Progress: func(n int64) error {
		return p.Set(ctx, n, max(total, n))
	}}
	counts, err := wr.Write(ctx, src, out)
	if err != nil {
		return nil, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return nil, err
		}
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.Rename(part, filepath.Join(s.Dir, final)); err != nil {
		return nil, err
	}
	done = true
	syncDir(s.Dir)
	stored := ""
	if s.Shared {
		if err := s.storeFile(ctx, j.ID, filepath.Join(s.Dir, final)); err != nil {
			return nil, err
		}
		stored = storedInDatabase
	}
	if err := p.Set(ctx, counts.Runs, counts.Runs); err != nil && !errors.Is(err, jobs.ErrCanceled) {
		s.logger().Warn("export progress", "job", j.ID, "err", err)
	}
	host, _ := os.Hostname()
	return Result{Bytes: cw.n, Runs: counts.Runs, Steps: counts.Steps, File: final,
		Filename: Filename(params, j.CreatedAt), Node: host, Stored: stored}, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// staleParts is how long an unmodified .part file is left: a running export
// writes to its file continuously, so an older one was abandoned by a crash.
const staleParts = time.Hour

// Sweep removes export files older than the retention, abandoned .part
// files, and finished export jobs older than the retention.
func (s *Service) Sweep(ctx context.Context) {
	now := s.now()
	cut := now.Add(-s.retention())
	entries, err := os.ReadDir(s.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.logger().Error("export sweep", "err", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		old := fi.ModTime().Before(cut)
		if strings.HasSuffix(e.Name(), ".part") {
			old = fi.ModTime().Before(now.Add(-staleParts))
		}
		if old {
			if err := os.Remove(filepath.Join(s.Dir, e.Name())); err == nil {
				s.logger().Info("export file removed", "file", e.Name())
			}
		}
	}
	if ex, ok := s.Store.(store.Exports); ok {
		if n, err := ex.DeleteJobsFinishedBefore(ctx, Kind, cut); err != nil {
			s.logger().Error("export sweep: jobs", "err", err)
		} else if n > 0 {
			s.logger().Info("export jobs removed", "count", n)
		}
	}
}

// StartSweeper runs Sweep now and then every interval until the returned
// stop function is called.
func (s *Service) StartSweeper(ctx context.Context, interval time.Duration) (stop func(context.Context)) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			s.Sweep(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func(context.Context) { cancel(); wg.Wait() }
}
