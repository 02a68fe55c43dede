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

// createEvaluatorForm posts the new-evaluator form and answers the status, body and Location.
func createEvaluatorForm(b *browser, csrf string, v url.Values) (int, string, string) {
	if csrf != "" {
		v.Set("csrf", csrf)
	}
	code, body, h := b.post("/evaluators", v)
	return code, body, h.Get("Location")
}

var evaluatorIDRe = regexp.MustCompile(`^/evaluators/(evr_[A-Za-z0-9_-]+)\?saved=1$`)

func mustCreateRule(t *testing.T, b *browser, csrf, name, expr string) string {
	t.Helper()
	code, body, loc := createEvaluatorForm(b, csrf, url.Values{"name": {name}, "kind": {"rule"}, "expression": {expr}})
	m := evaluatorIDRe.FindStringSubmatch(loc)
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("create %s: %d to %q\n%.2000s", name, code, loc, body)
	}
	return m[1]
}

var jobRe = regexp.MustCompile(`^/evaluations/(job_[A-Za-z0-9_-]+)$`)

// startEvaluation posts the Evaluate form and answers the job id.
func startEvaluation(t *testing.T, b *browser, v url.Values) string {
	t.Helper()
	code, body, h := b.post("/evaluations", v)
	m := jobRe.FindStringSubmatch(h.Get("Location"))
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("start evaluation: %d to %q\n%.2000s", code, h.Get("Location"), body)
	}
	return m[1]
}

// waitJob polls the job page's status endpoint until the job ends.
func waitJob(t *testing.T, b *browser, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		code, body, h := b.get("/evaluations/" + id + "/status")
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Fatalf("status: %d %s", code, body)
		}
		var s map[string]any
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatal(err)
		}
		if s["done"] == true {
			if s["status"] != "completed" {
				t.Fatalf("job ended %v: %v", s["status"], s["error"])
			}
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("job %s did not finish", id)
	return nil
}

func TestEvaluatorForm(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn(bootstrapKey)
	code, body, _ := b.get("/evaluators")
	if code != 200 {
		t.Fatalf("evaluators: %d", code)
	}
	mustContain(t, body, `<a href="/evaluators" aria-current="page">Evaluators</a>`, "No evaluators yet", `href="/evaluators/new"`)
	code, body, _ = b.get("/evaluators/new")
	if code != 200 {
		t.Fatalf("new form: %d", code)
	}
	mustContain(t, body, `name="expression"`, `run.credits &lt;= 5.0`, `s.name == &#34;delete_account&#34;`, `name="check"`, `value="pii"`,
		`name="api_key"`, `type="password"`, `name="all_agents" value="*"`, `name="agent" value="support-bot"`, "/static/evaluations.js")

	// without the CSRF token: rejected
	if code, _, _ := createEvaluatorForm(b, "", url.Values{"name": {"x"}, "kind": {"rule"}, "expression": {"true"}}); code != http.StatusForbidden {
		t.Fatalf("create without csrf: %d, want 403", code)
	}
	// a rule that does not compile: 400 with the full form and the message inline
	code, body, _ = createEvaluatorForm(b, csrf, url.Values{"name": {"broken"}, "kind": {"rule"}, "expression": {"run.credits <= "}})
	if code != http.StatusBadRequest {
		t.Fatalf("bad rule: %d, want 400", code)
	}
	mustContain(t, body, `id="form-error"`, "The rule does not compile", "config.expression:", "Syntax error", `value="broken"`, "run.credits &lt;= </textarea>")
	code, body, _ = createEvaluatorForm(b, csrf, url.Values{"name": {"nofield"}, "kind": {"rule"}, "expression": {"run.colour == 'red'"}})
	if code != http.StatusBadRequest {
		t.Fatalf("unknown field: %d", code)
	}
	mustContain(t, body, `1:4: run has no field &#34;colour&#34;`)
	// a bad name
	code, body, _ = createEvaluatorForm(b, csrf, url.Values{"name": {"has space"}, "kind": {"rule"}, "expression": {"true"}})
	if code != http.StatusBadRequest {
		t.Fatalf("bad name: %d", code)
	}
	mustContain(t, body, "may not contain spaces")

	// a good rule, attached to an agent
	code, body, loc := createEvaluatorForm(b, csrf, url.Values{"name": {"cheap"}, "description": {"under 5 credits"}, "kind": {"rule"},
		"expression": {"run.credits <= 5.0"}, "agent": {"support-bot"}, "other_agents": {"future-bot"}})
	m := evaluatorIDRe.FindStringSubmatch(loc)
	if code != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d to %q %s", code, loc, body)
	}
	id := m[1]
	_, body, _ = b.get(loc)
	mustContain(t, body, "Saved.", `value="cheap"`, "run.credits &lt;= 5.0", `name="agent" value="support-bot" checked`, `value="future-bot"`, "Delete cheap")
	// the name is taken: 409 inline
	code, body, _ = createEvaluatorForm(b, csrf, url.Values{"name": {"cheap"}, "kind": {"rule"}, "expression": {"true"}})
	if code != http.StatusConflict {
		t.Fatalf("taken name: %d", code)
	}
	mustContain(t, body, `id="form-error"`)

	// a built-in check and a judge with a write-only key
	code, body, _ = createEvaluatorForm(b, csrf, url.Values{"name": {"banned"}, "kind": {"builtin"}, "check": {"banned_tools"}, "tools": {"delete_account, wire"}})
	if code != http.StatusSeeOther {
		t.Fatalf("builtin: %d %s", code, body)
	}
	code, body, _ = createEvaluatorForm(b, csrf, url.Values{"name": {"nomax"}, "kind": {"builtin"}, "check": {"max_credits"}})
	if code != http.StatusBadRequest {
		t.Fatalf("builtin without max: %d", code)
	}
	mustContain(t, body, "config.params.max: required")
	code, body, loc = createEvaluatorForm(b, csrf, url.Values{"name": {"judge"}, "kind": {"judge"}, "url": {"http://127.0.0.1:1/v1"}, "model": {"m"},
		"api_key": {"sk-secret-value-123"}, "all_agents": {"*"}})
	if code != http.StatusSeeOther {
		t.Fatalf("judge: %d %s", code, body)
	}
	_, body, _ = b.get(loc)
	mustContain(t, body, `id="key-set">set</span>`, "leave empty to keep the stored key", `name="all_agents" value="*" checked`)
	mustNotContain(t, body, "sk-secret-value-123")
	var judge struct {
		SecretSet bool `json:"secret_set"`
	}
	e.api("GET", "/api/v1/evaluators/"+strings.TrimSuffix(strings.TrimPrefix(loc, "/evaluators/"), "?saved=1"), bootstrapKey, nil, &judge)
	if !judge.SecretSet {
		t.Fatal("the judge's key was not stored")
	}
	// editing without a key keeps it
	judgeID := strings.TrimSuffix(strings.TrimPrefix(loc, "/evaluators/"), "?saved=1")
	code, _, _ = b.post("/evaluators/"+judgeID, url.Values{"csrf": {csrf}, "name": {"judge"}, "kind": {"judge"}, "url": {"http://127.0.0.1:1/v1"}, "model": {"m2"}, "all_agents": {"*"}})
	if code != http.StatusSeeOther {
		t.Fatalf("edit judge: %d", code)
	}
	e.api("GET", "/api/v1/evaluators/"+judgeID, bootstrapKey, nil, &judge)
	if !judge.SecretSet {
		t.Fatal("editing without a key dropped it")
	}

	// the list: names, kinds, agents
	_, body, _ = b.get("/evaluators")
	mustContain(t, body, ">cheap</a>", "under 5 credits", "support-bot, future-bot", ">banned</a>", "banned_tools", ">judge</a>", "all agents",
		`href="/?q=eval%3Acheap%3Dfail"`)
	// edit: change the expression
	code, _, _ = b.post("/evaluators/"+id, url.Values{"csrf": {csrf}, "name": {"cheap"}, "kind": {"rule"}, "expression": {"run.credits <= 6.0"}})
	if code != http.StatusSeeOther {
		t.Fatalf("edit: %d", code)
	}
	_, body, _ = b.get("/evaluators")
	mustContain(t, body, "run.credits &lt;= 6.0")
	// delete: POST with CSRF only
	if code, _, _ := b.post("/evaluators/"+id+"/delete", url.Values{}); code != http.StatusForbidden {
		t.Fatalf("delete without csrf: %d", code)
	}
	if code, _, h := b.post("/evaluators/"+id+"/delete", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther || h.Get("Location") != "/evaluators?done=deleted" {
		t.Fatalf("delete: %d %s", code, h.Get("Location"))
	}
	_, body, _ = b.get("/evaluators?done=deleted")
	mustContain(t, body, "was deleted")
	mustNotContain(t, body, ">cheap</a>")
	if code, _, _ := b.get("/evaluators/" + id); code != 404 {
		t.Fatalf("deleted evaluator: %d", code)
	}
}

func TestEvaluateFlow(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn(bootstrapKey)
	notFailed := mustCreateRule(t, b, csrf, "not-failed", `run.status != "failed"`)
	// a reason that holds markup (rule reasons quote the expression)
	xss := mustCreateRule(t, b, csrf, "xss", `run.credits < 0.0 && "<script>alert(1)</script>" != ""`)
	code, _, _ := createEvaluatorForm(b, csrf, url.Values{"name": {"no-failed-steps"}, "kind": {"builtin"}, "check": {"no_failed_steps"}})
	if code != http.StatusSeeOther {
		t.Fatal(code)
	}
	var evs struct {
		Data []struct{ ID, Name string } `json:"data"`
	}
	e.api("GET", "/api/v1/evaluators", bootstrapKey, nil, &evs)
	ids := map[string]string{}
	for _, ev := range evs.Data {
		ids[ev.Name] = ev.ID
	}

	// All Traces offers Evaluate (enabled with nothing selected: it acts on the query) and counts nothing on load
	_, home, _ := b.get("/?q=" + url.QueryEscape("status:failed"))
	mustContain(t, home, `data-path="/evaluations/new"`, `data-withq="true"`, ">Evaluate</button>")
	mustNotContain(t, home, "matching")
	_, agentPage, _ := b.get("/agents/support-bot")
	mustContain(t, agentPage, ">Evaluate</button>")

	// selected runs
	var runs runList
	e.api("GET", "/api/v1/runs?limit=3", bootstrapKey, nil, &runs)
	sel := []string{runs.Data[0].ID, runs.Data[1].ID, runs.Data[2].ID}
	code, form, _ := b.get("/evaluations/new?run=" + sel[0] + "&run=" + sel[1] + "&run=" + sel[2] + "&q=")
	if code != 200 {
		t.Fatalf("evaluate form: %d", code)
	}
	mustContain(t, form, `<strong>3</strong> selected runs`, `name="scope" value="runs" checked`, `value="`+notFailed+`"`, ">not-failed<", "of the account (no query)")
	// no evaluator chosen: 400 inline
	code, body, _ := b.post("/evaluations", url.Values{"csrf": {csrf}, "run": sel, "scope": {"runs"}})
	if code != http.StatusBadRequest {
		t.Fatalf("no evaluator: %d", code)
	}
	mustContain(t, body, "Choose at least one evaluator")
	// a run id no run can have: 400 inline, naming it
	code, body, _ = b.post("/evaluations", url.Values{"csrf": {csrf}, "run": {sel[0], "r\x00"}, "scope": {"runs"}, "evaluator": {notFailed}})
	if code != http.StatusBadRequest {
		t.Fatalf("a NUL in a run id: %d", code)
	}
	mustContain(t, body, "run_ids[1]: contains a NUL")
	// without CSRF: rejected
	if code, _, _ := b.post("/evaluations", url.Values{"run": sel, "scope": {"runs"}, "evaluator": {notFailed}}); code != http.StatusForbidden {
		t.Fatalf("evaluate without csrf: %d", code)
	}
	job := startEvaluation(t, b, url.Values{"csrf": {csrf}, "run": sel, "scope": {"runs"}, "evaluator": {notFailed, xss}})
	waitJob(t, b, job)
	_, page, _ := b.get("/evaluations/" + job)
	mustContain(t, page, `class="badge st-completed" id="job-status">completed`, "3 selected runs", ">not-failed</a>", ">xss</a>", `id="verdicts"`,
		`href="/runs/`+sel[0]+`"`, "3 runs evaluated")
	// the reason is escaped
	mustContain(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;")
	mustNotContain(t, page, "<script>alert(1)</script>")
	if n := strings.Count(page, `<span class="badge v-`); n != 6 {
		t.Fatalf("%d verdict badges, want 6 (3 runs × 2 evaluators)", n)
	}

	// all runs matching status:failed (counted on the form)
	var failed runList
	e.api("GET", "/api/v1/runs?limit=1000&q="+url.QueryEscape("status:failed"), bootstrapKey, nil, &failed)
	_, form, _ = b.get("/evaluations/new?q=" + url.QueryEscape("status:failed"))
	mustContain(t, form, `name="scope" value="query" checked`, `<strong id="match-count">`+itoa(len(failed.Data))+`</strong>`, "matching <code>status:failed</code>")
	job2 := startEvaluation(t, b, url.Values{"csrf": {csrf}, "q": {"status:failed"}, "scope": {"query"}, "evaluator": {notFailed, ids["no-failed-steps"]}})
	waitJob(t, b, job2)
	_, page, _ = b.get("/evaluations/" + job2)
	mustContain(t, page, "Runs matching", "<code>status:failed</code>", `href="/?q=eval%3Anot-failed%3Dfail"`)
	// every failed run fails not-failed; the failed steps are linked
	_, page, _ = b.get("/evaluations/" + job2 + "?verdict=fail&evaluator=" + notFailed)
	if n := strings.Count(page, `<span class="badge v-fail">fail</span>`); n != min(len(failed.Data), 100) {
		t.Fatalf("%d fail verdicts of not-failed, want %d", n, len(failed.Data))
	}
	mustNotContain(t, page, `<span class="badge v-pass">pass</span>`)
	_, page, _ = b.get("/evaluations/" + job2 + "?verdict=fail&evaluator=" + ids["no-failed-steps"])
	if !regexp.MustCompile(`href="/runs/[^"#]+#step-[^"]+" class="steplink"`).MatchString(page) {
		t.Fatalf("no step link in the verdicts:\n%.3000s", page)
	}
	// a bad verdict filter
	if code, _, _ := b.get("/evaluations/" + job2 + "?verdict=maybe"); code != 400 {
		t.Fatalf("bad verdict filter: %d", code)
	}
	// the run tables show the badges, and eval:NAME=fail finds the runs
	_, body, _ = b.get("/?q=" + url.QueryEscape("eval:not-failed=fail"))
	if n := strings.Count(body, `name="run" value=`); n != min(len(failed.Data), 50) {
		t.Fatalf("eval:not-failed=fail shows %d runs, want %d", n, len(failed.Data))
	}
	mustContain(t, body, `not-failed ✗`)
	mustNotContain(t, body, `<td class="statuscol"><span class="badge st-completed">`)
	// the trace page shows the verdict
	_, body, _ = b.get("/runs/" + failed.Data[0].ID)
	mustContain(t, body, "not-failed", `<span class="badge v-fail">fail</span>`)

	// the list of jobs
	_, body, _ = b.get("/evaluations")
	mustContain(t, body, `href="/evaluations/`+job+`"`, `href="/evaluations/`+job2+`"`, "3 selected", "<code>status:failed</code>", "not-failed, xss")

	// the usage page charts the pass rates
	_, body, _ = b.get("/usage")
	mustContain(t, body, `id="eval-rates"`, "Evaluator pass rates", "<polyline", ">not-failed</th>")

	// an agent's Traces tab: the query is scoped to the agent
	_, form, _ = b.get("/evaluations/new?agent=support-bot&q=" + url.QueryEscape("status:failed"))
	mustContain(t, form, "matching <code>status:failed agent:support-bot</code>", `name="agent" value="support-bot"`)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestEvaluationsReadOnlyAndCancel(t *testing.T) {
	e := newEnv(t)
	admin := e.browser()
	csrf := admin.signIn(bootstrapKey)
	// the usage page has no pass-rate chart without evaluators
	_, body, _ := admin.get("/usage")
	mustNotContain(t, body, `id="eval-rates"`)
	id := mustCreateRule(t, admin, csrf, "cheap", "run.credits <= 5.0")

	var created struct {
		Secret string `json:"secret"`
	}
	e.api("POST", "/api/v1/keys", bootstrapKey, map[string]any{"name": "reader", "scopes": []string{"read"}}, &created)
	b := e.browser()
	rcsrf := b.signIn(created.Secret)
	code, body, _ := b.get("/evaluators")
	if code != 200 {
		t.Fatalf("read-only list: %d", code)
	}
	mustContain(t, body, ">cheap</span>", `id="readonly-note"`)
	mustNotContain(t, body, `href="/evaluators/new"`, `href="/evaluators/`+id+`"`)
	for _, path := range []string{"/evaluators/new", "/evaluators/" + id, "/evaluations/new?q="} {
		code, body, _ := b.get(path)
		if code != http.StatusForbidden {
			t.Errorf("GET %s read-only: %d, want 403", path, code)
		}
		mustContain(t, body, "read-only", "admin scope")
	}
	for path, form := range map[string]url.Values{
		"/evaluators":                   {"csrf": {rcsrf}, "name": {"x"}, "kind": {"rule"}, "expression": {"true"}},
		"/evaluators/" + id:             {"csrf": {rcsrf}, "name": {"cheap"}, "kind": {"rule"}, "expression": {"true"}},
		"/evaluators/" + id + "/delete": {"csrf": {rcsrf}},
		"/evaluations":                  {"csrf": {rcsrf}, "q": {""}, "scope": {"query"}, "evaluator": {id}},
	} {
		code, body, _ := b.post(path, form)
		if code != http.StatusForbidden {
			t.Errorf("POST %s read-only: %d, want 403", path, code)
		}
		mustContain(t, body, "read-only", "admin scope")
	}
	var list struct {
		Data []any `json:"data"`
	}
	e.api("GET", "/api/v1/evaluators", bootstrapKey, nil, &list)
	if len(list.Data) != 1 {
		t.Fatalf("evaluators after read-only attempts: %d", len(list.Data))
	}

	// another account's evaluation and evaluator are 404
	var acct struct {
		AdminKey string `json:"admin_key"`
	}
	e.api("POST", "/api/v1/accounts", bootstrapKey, map[string]any{"id": "other"}, &acct)
	var res map[string]any
	e.api("POST", "/api/v1/ingest", acct.AdminKey, map[string]any{"runs": []map[string]any{{"id": "other-run", "agent_id": "other-agent", "status": "completed"}}}, &res)
	var oev struct{ ID string }
	e.api("POST", "/api/v1/evaluators", acct.AdminKey, map[string]any{"name": "theirs", "kind": "rule", "config": map[string]any{"expression": "true"}}, &oev)
	var ojob struct{ ID string }
	e.api("POST", "/api/v1/evaluations", acct.AdminKey, map[string]any{"evaluator_ids": []string{oev.ID}, "q": ""}, &ojob)
	for _, path := range []string{"/evaluations/" + ojob.ID, "/evaluations/" + ojob.ID + "/status", "/evaluators/" + oev.ID} {
		if code, body, _ := admin.get(path); code != 404 || strings.Contains(body, "theirs") {
			t.Errorf("GET %s of another account: %d, want 404", path, code)
		}
	}
	if code, _, _ := admin.post("/evaluations/"+ojob.ID+"/cancel", url.Values{"csrf": {csrf}}); code != 404 {
		t.Errorf("cancel another account's job: %d", code)
	}
	if code, _, _ := admin.post("/evaluators/"+oev.ID+"/delete", url.Values{"csrf": {csrf}}); code != 404 {
		t.Errorf("delete another account's evaluator: %d", code)
	}
	_, body, _ = admin.get("/evaluations")
	mustNotContain(t, body, ojob.ID)
	// another account's evaluator id cannot be used in a job
	code, body, _ = admin.post("/evaluations", url.Values{"csrf": {csrf}, "q": {""}, "scope": {"query"}, "evaluator": {oev.ID}})
	if code != 400 || !strings.Contains(body, "no longer exists") {
		t.Fatalf("job with another account's evaluator: %d", code)
	}

	// cancel: a job page offers it while the job runs; the read-only key may not
	job := startEvaluation(t, admin, url.Values{"csrf": {csrf}, "q": {""}, "scope": {"query"}, "evaluator": {id}})
	if code, body, _ := b.post("/evaluations/"+job+"/cancel", url.Values{"csrf": {rcsrf}}); code != 403 || !strings.Contains(body, "read-only") {
		t.Fatalf("read-only cancel: %d", code)
	}
	if code, _, h := admin.post("/evaluations/"+job+"/cancel", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther || h.Get("Location") != "/evaluations/"+job {
		t.Fatalf("cancel: %d", code)
	}
	_, body, _ = b.get("/evaluations/" + job)
	mustContain(t, body, `id="job-status"`)
	mustNotContain(t, body, `id="cancel-job"`)
}
