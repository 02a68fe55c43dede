package web_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var estRunsRe = regexp.MustCompile(`id="est-runs">([0-9,]+)<`)

func TestExportFlow(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn(bootstrapKey)
	// the action on All Traces and on an agent's Traces tab
	_, page, _ := b.get("/")
	mustContain(t, page, `data-path="/exports/new"`, `data-withq="true"`, ">Export</button>", `<a href="/exports" >Exports</a>`)
	// the estimate of support-bot's failed runs
	code, page, _ := b.get("/exports/new?agent=support-bot&q=" + url.QueryEscape("status:failed"))
	if code != 200 {
		t.Fatalf("estimate: %d\n%.2000s", code, page)
	}
	m := estRunsRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no estimate:\n%.3000s", page)
	}
	n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	if n == 0 {
		t.Fatal("estimate of 0 runs")
	}
	mustContain(t, page, `id="est-bytes"`, `id="est-steps"`, "status:failed", "support-bot", `action="/exports"`, `name="agent" value="support-bot"`)
	if !regexp.MustCompile(`id="est-bytes">[0-9.]+ (B|KB|MB)<`).MatchString(page) {
		t.Fatalf("no human size in the estimate")
	}
	// a bad query says why
	code, page, _ = b.get("/exports/new?q=" + url.QueryEscape("colour:red"))
	if code != http.StatusBadRequest {
		t.Fatalf("bad query: %d", code)
	}
	mustContain(t, page, `unknown field &#34;colour&#34;`)
	// confirm without CSRF: rejected
	if code, _, _ := b.post("/exports", url.Values{"agent": {"support-bot"}, "q": {"status:failed"}}); code != http.StatusForbidden {
		t.Fatalf("export without csrf: %d", code)
	}
	code, body, h := b.post("/exports", url.Values{"csrf": {csrf}, "agent": {"support-bot"}, "q": {"status:failed"}, "format": {"jsonl"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/exports/exp_") {
		t.Fatalf("confirm: %d %q %s", code, h.Get("Location"), body)
	}
	job := h.Get("Location")
	code, page, _ = b.get(job)
	if code != 200 {
		t.Fatalf("job page: %d", code)
	}
	if !strings.Contains(page, `id="download-link"`) {
		mustContain(t, page, `data-poll="`+job+`/status"`, `<noscript><meta http-equiv="refresh" content="2"></noscript>`, "<progress")
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, st, _ := b.get(job + "/status")
		if strings.Contains(st, `"done":true`) {
			mustContain(t, st, `"status":"completed"`)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the export did not finish: %s", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_, page, _ = b.get(job)
	mustContain(t, page, `id="download-link" href="`+job+`/download"`, "completed")
	mustNotContain(t, page, "http-equiv")
	// the download through the session
	res, err := b.c.Get(e.url + job + "/download")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Disposition"), "agent-traces-support-bot-") {
		t.Fatalf("download: %d %v", res.StatusCode, res.Header)
	}
	lines := 0
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		if v["agent_id"] != nil && v["agent_id"] != "support-bot" {
			t.Fatalf("line of agent %v", v["agent_id"])
		}
		lines++
	}
	if lines < n {
		t.Fatalf("downloaded %d lines for %d runs", lines, n)
	}
	// the list
	_, page, _ = b.get("/exports")
	mustContain(t, page, strings.TrimPrefix(job, "/exports/"), ">Download</a>")
	// without a session the download redirects to sign-in
	res2, err := http.Get(e.url + job + "/download")
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(res2.Body)
	res2.Body.Close()
	if strings.Contains(string(b2), `"run_id"`) || res2.Request.URL.Path != "/login" {
		t.Fatalf("download without a session ended at %s", res2.Request.URL)
	}
}

func TestReadOnlyCannotExport(t *testing.T) {
	e := newEnv(t)
	var created struct {
		Secret string `json:"secret"`
	}
	e.api("POST", "/api/v1/keys", bootstrapKey, map[string]any{"name": "reader", "scopes": []string{"read"}}, &created)
	b := e.browser()
	csrf := b.signIn(created.Secret)
	for _, path := range []string{"/exports/new?agent=support-bot", "/exports"} {
		code, page, _ := b.get(path)
		if code != http.StatusForbidden {
			t.Fatalf("%s for a reader: %d", path, code)
		}
		mustContain(t, page, "Exporting needs an API key with the export scope")
	}
	code, page, _ := b.post("/exports", url.Values{"csrf": {csrf}, "agent": {"support-bot"}})
	if code != http.StatusForbidden {
		t.Fatalf("export by a reader: %d", code)
	}
	mustContain(t, page, "export scope")
	var list struct {
		Data []any `json:"data"`
	}
	e.api("GET", "/authenticated/resource-exports", bootstrapKey, nil, &list)
	if len(list.Data) != 0 {
		t.Fatalf("a reader created an export")
	}
}
