package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/export"
)

// Exports in the UI: the Export action of the run tables leads to an
// estimate page (a dry run), Confirm creates the job, the job page follows
// its progress and offers the download; /exports lists them. The handlers
// of export.Service run in process with the session's key (api.WithKey).
func init() {
	Actions = append(Actions, Action{Label: "Export", Path: "/exports/new", Min: 0, WithQuery: true})
	Pages = append(Pages,
		Page{Pattern: "GET /exports", Nav: "Exports", Handler: withUI((*UI).exportsPage)},
		Page{Pattern: "GET /exports/new", Handler: withUI((*UI).exportNew)},
		Page{Pattern: "POST /exports", Handler: withUI((*UI).exportCreate)},
		Page{Pattern: "GET /exports/{id}", Handler: withUI((*UI).exportPage)},
		Page{Pattern: "GET /exports/{id}/status", Handler: withUI((*UI).exportStatus)},
		Page{Pattern: "GET /exports/{id}/download", Handler: withUI((*UI).exportDownload)},
		Page{Pattern: "POST /exports/{id}/cancel", Handler: withUI((*UI).exportCancel)},
	)
}

var exportServices sync.Map // *api.Server → *export.Service

// UseExports hands the UI of the server whose API is a the export service
// that server mounted (server/export.go calls it); without it the export
// pages say that exports are not enabled.
func UseExports(a *api.Server, s *export.Service) { exportServices.Store(a, s) }

func (u *UI) exports() *export.Service {
	if s, ok := exportServices.Load(u.api); ok {
		return s.(*export.Service)
	}
	return nil
}

const exportScopeMsg = "Exporting needs an API key with the export scope (or admin); this session's key does not have it. Sign in with such a key to export."

// callExport runs one export.Service handler in process as the session's
// key and decodes its JSON answer into out (or answers the API error).
func callExport(r *http.Request, h http.HandlerFunc, method, target string, id string, body any, out any) (int, error) {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequestWithContext(r.Context(), method, target, rd)
	req.Header.Set("Content-Type", "application/json")
	if id != "" {
		req.SetPathValue("id", id)
	}
	rec := httptest.NewRecorder()
	h(rec, req)
	if rec.Code >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error.Message == "" {
			return rec.Code, agenttrace.Errorf(agenttrace.EINTERNAL, "export: %d %s", rec.Code, rec.Body.String())
		}
		return rec.Code, agenttrace.Errorf(e.Error.Code, "%s", e.Error.Message)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			return rec.Code, err
		}
	}
	return rec.Code, nil
}

// exportGate answers the export service, or renders why there is none.
func (u *UI) exportGate(w http.ResponseWriter, r *http.Request) *export.Service {
	if !keyOf(r).Has(agenttrace.ScopeExport) {
		u.errorPage(w, r, http.StatusForbidden, "Export needs the export scope", exportScopeMsg)
		return nil
	}
	s := u.exports()
	if s == nil {
		u.errorPage(w, r, http.StatusServiceUnavailable, "Exports are not enabled", "This server does not run exports.")
		return nil
	}
	return s
}

type exportNewData struct {
	base
	Q        string
	Agent    string
	Format   string
	Gzip     bool
	Selected int // runs selected in the table (the export takes the whole filter)
	Query    string
	Estimate *export.Estimate
	Error    string
}

func exportRequest(q, agent, format string, gz, dry bool) export.Request {
	return export.Request{ResourceType: export.ResourceType, AgentID: agent, Format: format, Gzip: gz,
		Filters: export.Filters{Q: q}, DryRun: dry}
}

func formatOf(v string) string {
	if v == export.FormatJSON {
		return v
	}
	return export.FormatJSONL
}

func (u *UI) exportNew(w http.ResponseWriter, r *http.Request) {
	svc := u.exportGate(w, r)
	if svc == nil {
		return
	}
	v := r.URL.Query()
	d := &exportNewData{base: base{Title: "Export traces", Nav: "/exports"}, Q: strings.TrimSpace(v.Get("q")), Agent: strings.TrimSpace(v.Get("agent")),
		Format: formatOf(v.Get("format")), Gzip: v.Get("gzip") == "1", Selected: len(v["run"])}
	u.estimate(w, r, svc, d, http.StatusOK)
}

func (u *UI) estimate(w http.ResponseWriter, r *http.Request, svc *export.Service, d *exportNewData, status int) {
	var ans struct {
		Estimate export.Estimate `json:"estimate"`
		Query    string          `json:"query"`
	}
	code, err := callExport(r, svc.Create, http.MethodPost, "/authenticated/resource-exports", "",
		exportRequest(d.Q, d.Agent, d.Format, d.Gzip, true), &ans)
	if err != nil {
		if agenttrace.ErrorCode(err) == agenttrace.EINTERNAL {
			u.serverError(w, r, err)
			return
		}
		if agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND && d.Agent != "" {
			u.notFound(w, r, "No agent "+d.Agent+" in your account.")
			return
		}
		d.Error = agenttrace.ErrorMessage(err)
		u.render(w, r, code, "export_new", d)
		return
	}
	d.Estimate, d.Query = &ans.Estimate, ans.Query
	u.render(w, r, status, "export_new", d)
}

func (u *UI) exportCreate(w http.ResponseWriter, r *http.Request) {
	svc := u.exportGate(w, r)
	if svc == nil {
		return
	}
	d := &exportNewData{base: base{Title: "Export traces", Nav: "/exports"}, Q: strings.TrimSpace(r.PostFormValue("q")), Agent: strings.TrimSpace(r.PostFormValue("agent")),
		Format: formatOf(r.PostFormValue("format")), Gzip: r.PostFormValue("gzip") == "1"}
	var view export.View
	_, err := callExport(r, svc.Create, http.MethodPost, "/authenticated/resource-exports", "",
		exportRequest(d.Q, d.Agent, d.Format, d.Gzip, false), &view)
	if err != nil {
		if agenttrace.ErrorCode(err) == agenttrace.EINTERNAL {
			u.serverError(w, r, err)
			return
		}
		d.Error = agenttrace.ErrorMessage(err)
		u.estimate(w, r, svc, d, api.StatusOf(agenttrace.ErrorCode(err)))
		return
	}
	http.Redirect(w, r, "/exports/"+url.PathEscape(view.ID), http.StatusSeeOther)
}

type exportsData struct {
	base
	Exports []export.View
}

func (u *UI) exportsPage(w http.ResponseWriter, r *http.Request) {
	svc := u.exportGate(w, r)
	if svc == nil {
		return
	}
	var list struct {
		Data []export.View `json:"data"`
	}
	if _, err := callExport(r, svc.List, http.MethodGet, "/authenticated/resource-exports?limit=100", "", nil, &list); err != nil {
		u.storeError(w, r, err, "exports")
		return
	}
	u.render(w, r, http.StatusOK, "exports", &exportsData{base: base{Title: "Exports", Nav: "/exports"}, Exports: list.Data})
}

type exportJobData struct {
	base
	Job     export.View
	Done    bool
	Percent int
}

func (u *UI) getExport(w http.ResponseWriter, r *http.Request, svc *export.Service) (export.View, bool) {
	var v export.View
	if _, err := callExport(r, svc.Get, http.MethodGet, "/", r.PathValue("id"), nil, &v); err != nil {
		if agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND {
			u.notFound(w, r, "No export with this id in your account.")
		} else {
			u.storeError(w, r, err, "export")
		}
		return v, false
	}
	return v, true
}

func exportDone(v export.View) bool {
	switch v.Status {
	case "queued", "running":
		return false
	}
	return true
}

func exportPercent(v export.View) int {
	if v.Status == string(agenttrace.JobCompleted) {
		return 100
	}
	if v.Progress.RunsTotal <= 0 {
		return 0
	}
	return int(min(100, v.Progress.RunsWritten*100/v.Progress.RunsTotal))
}

func (u *UI) exportPage(w http.ResponseWriter, r *http.Request) {
	svc := u.exportGate(w, r)
	if svc == nil {
		return
	}
	v, ok := u.getExport(w, r, svc)
	if !ok {
		return
	}
	u.render(w, r, http.StatusOK, "export_job", &exportJobData{base: base{Title: "Export " + v.ID, Nav: "/exports"}, Job: v,
		Done: exportDone(v), Percent: exportPercent(v)})
}

func (u *UI) exportStatus(w http.ResponseWriter, r *http.Request) {
	if !keyOf(r).Has(agenttrace.ScopeExport) {
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.EFORBIDDEN, "%s", exportScopeMsg))
		return
	}
	svc := u.exports()
	if svc == nil {
		api.WriteError(w, r, agenttrace.Errorf(agenttrace.ENOTFOUND, "exports are not enabled"))
		return
	}
	var v export.View
	if _, err := callExport(r, svc.Get, http.MethodGet, "/", r.PathValue("id"), nil, &v); err != nil {
		api.WriteError(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"status": v.Status, "runs_written": v.Progress.RunsWritten,
		"runs_total": v.Progress.RunsTotal, "percent": exportPercent(v), "done": exportDone(v)})
}

func (u *UI) exportDownload(w http.ResponseWriter, r *http.Request) {
	svc := u.exportGate(w, r)
	if svc == nil {
		return
	}
	v, ok := u.getExport(w, r, svc)
	if !ok {
		return
	}
	if v.Status != string(agenttrace.JobCompleted) {
		u.errorPage(w, r, http.StatusConflict, "Not ready", "Export "+v.ID+" is "+v.Status+"; its file can be downloaded once it has completed.")
		return
	}
	// Download writes the file itself (with Range support); its errors
	// (a file removed by retention) come back as the API's JSON, which a
	// person should read as a page.
	rec := &downloadWriter{ResponseWriter: w}
	svc.Download(rec, r)
	if rec.failed != nil {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(rec.failed.Bytes(), &e)
		u.errorPage(w, r, rec.code, "Cannot download", e.Error.Message)
	}
}

// downloadWriter passes a successful download through and holds back an
// error answer.
type downloadWriter struct {
	http.ResponseWriter
	code   int
	failed *bytes.Buffer
}

func (d *downloadWriter) WriteHeader(code int) {
	if code >= 400 {
		d.code, d.failed = code, &bytes.Buffer{}
		return
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *downloadWriter) Write(b []byte) (int, error) {
	if d.failed != nil {
		return d.failed.Write(b)
	}
	return d.ResponseWriter.Write(b)
}

func (u *UI) exportCancel(w http.ResponseWriter, r *http.Request) {
	svc := u.exportGate(w, r)
	if svc == nil {
		return
	}
	if _, err := callExport(r, svc.Cancel, http.MethodDelete, "/", r.PathValue("id"), nil, nil); err != nil {
		u.storeError(w, r, err, "export")
		return
	}
	http.Redirect(w, r, "/exports/"+url.PathEscape(r.PathValue("id")), http.StatusSeeOther)
}
