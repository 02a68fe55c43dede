package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// latestFailed waits for the in-process demo agent's failing run.
func latestFailed(t *testing.T, e *env, agent string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var runs runList
		e.api("GET", "/api/v1/runs?limit=1&q="+url.QueryEscape("agent:"+agent+" status:failed"), bootstrapKey, nil, &runs)
		if len(runs.Data) > 0 {
			return runs.Data[0].ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed run of %s", agent)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var waitRe = regexp.MustCompile(`^/runs/[^/]+/reruns/([^/]+)$`)

func TestRerunFlow(t *testing.T) {
	e := newEnv(t)
	id := latestFailed(t, e, "support-demo")
	b := e.browser()
	csrf := b.signIn(bootstrapKey)
	_, page, _ := b.get("/runs/" + id)
	mustContain(t, page, `href="/runs/`+id+`/rerun">Re-run</a>`)
	code, page, _ := b.get("/runs/" + id + "/rerun")
	if code != 200 {
		t.Fatalf("re-run form: %d", code)
	}
	mustContain(t, page, `name="model"`, `name="prompt"`, `name="metadata"`, `name="input"`, `<option value="gpt-4o">`)
	var run struct {
		Input json.RawMessage `json:"input"`
	}
	e.api("GET", "/api/v1/runs/"+id, bootstrapKey, nil, &run)
	if len(run.Input) > 0 {
		var v map[string]any
		if json.Unmarshal(run.Input, &v) == nil {
			for k := range v {
				mustContain(t, page, "&#34;"+k+"&#34;") // the input is prefilled
			}
		}
	}
	// without the CSRF token: rejected, nothing asked
	if code, _, _ := b.post("/runs/"+id+"/rerun", url.Values{"model": {"gpt-4o"}}); code != http.StatusForbidden {
		t.Fatalf("re-run without csrf: %d", code)
	}
	// bad metadata: the form again with the message
	code, page, _ = b.post("/runs/"+id+"/rerun", url.Values{"csrf": {csrf}, "model": {"gpt-4o"}, "metadata": {"[1]"}})
	if code != http.StatusBadRequest {
		t.Fatalf("bad metadata: %d", code)
	}
	mustContain(t, page, "metadata: not a JSON object", `value="gpt-4o"`)
	// the re-run
	code, body, h := b.post("/runs/"+id+"/rerun", url.Values{"csrf": {csrf}, "model": {"gpt-4o"}, "input": {string(run.Input)}})
	if code != http.StatusSeeOther {
		t.Fatalf("re-run: %d %s", code, body)
	}
	m := waitRe.FindStringSubmatch(h.Get("Location"))
	if m == nil {
		t.Fatalf("re-run redirects to %q", h.Get("Location"))
	}
	newID := m[1]
	code, page, _ = b.get(h.Get("Location"))
	if code != 200 {
		t.Fatalf("wait page: %d", code)
	}
	mustContain(t, page, newID, `src="/static/jobs.js"`)
	if !strings.Contains(page, `id="new-run-link"`) {
		mustContain(t, page, `<noscript><meta http-equiv="refresh" content="3"></noscript>`, `data-poll="/runs/`+id+`/reruns/`+newID+`/status"`)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, st, _ := b.get("/runs/" + id + "/reruns/" + newID + "/status")
		if strings.Contains(st, `"done":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new run did not arrive: %s", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, page, _ = b.get(h.Get("Location"))
	mustContain(t, page, `id="new-run-link" href="/runs/`+newID+`"`, `href="/compare?a=`+id+`&amp;b=`+newID+`"`)
	mustNotContain(t, page, "http-equiv")
	code, page, _ = b.get("/compare?a=" + id + "&b=" + newID)
	if code != 200 {
		t.Fatalf("compare: %d", code)
	}
	mustContain(t, page, `id="first-divergence"`, "gpt-4o")
	// an unknown re-run of the run is a 404
	if code, _, _ := b.get("/runs/" + id + "/reruns/run_nope"); code != 404 {
		t.Fatalf("unknown re-run: %d", code)
	}
}

func TestRerunErrors(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn(bootstrapKey)
	var runs runList
	e.api("GET", "/api/v1/runs?limit=1&q="+url.QueryEscape("agent:support-bot"), bootstrapKey, nil, &runs)
	id := runs.Data[0].ID
	// 409: the agent has no rerun_url; the message says how to set one
	_, page, _ := b.get("/runs/" + id + "/rerun")
	mustContain(t, page, `id="rerun-nourl"`)
	code, page, _ := b.post("/runs/"+id+"/rerun", url.Values{"csrf": {csrf}, "model": {"gpt-4o"}})
	if code != http.StatusConflict {
		t.Fatalf("no rerun_url: %d", code)
	}
	mustContain(t, page, `has no rerun_url`, `PUT /api/v1/agents/support-bot`)
	// 502: the agent is unreachable
	e.api("PUT", "/api/v1/agents/support-bot", bootstrapKey, map[string]any{"rerun_url": "http://127.0.0.1:1/rerun"}, &map[string]any{})
	code, page, _ = b.post("/runs/"+id+"/rerun", url.Values{"csrf": {csrf}})
	if code != http.StatusBadGateway {
		t.Fatalf("unreachable agent: %d", code)
	}
	mustContain(t, page, "is unreachable", "not started")
}

func TestReadOnlyCannotRerun(t *testing.T) {
	e := newEnv(t)
	var created struct {
		Secret string `json:"secret"`
	}
	e.api("POST", "/api/v1/keys", bootstrapKey, map[string]any{"name": "reader", "scopes": []string{"read"}}, &created)
	id := latestFailed(t, e, "support-demo")
	b := e.browser()
	csrf := b.signIn(created.Secret)
	_, page, _ := b.get("/runs/" + id)
	mustContain(t, page, `<button type="button" disabled title="Re-running needs an API key with the ingest scope`)
	mustNotContain(t, page, `href="/runs/`+id+`/rerun"`)
	code, page, _ := b.get("/runs/" + id + "/rerun")
	if code != http.StatusForbidden {
		t.Fatalf("re-run form for a reader: %d", code)
	}
	mustContain(t, page, "needs an API key with the ingest scope")
	code, page, _ = b.post("/runs/"+id+"/rerun", url.Values{"csrf": {csrf}, "model": {"gpt-4o"}})
	if code != http.StatusForbidden {
		t.Fatalf("re-run by a reader: %d", code)
	}
	mustContain(t, page, "needs an API key with the ingest scope")
	var reruns struct {
		Data []any `json:"data"`
	}
	e.api("GET", "/api/v1/runs/"+id+"/reruns", bootstrapKey, nil, &reruns)
	if len(reruns.Data) != 0 {
		t.Fatalf("a reader's re-run was sent: %v", reruns.Data)
	}
}
