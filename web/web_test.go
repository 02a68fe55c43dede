package web_test

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/web"
)

func TestSignInRequired(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for path, want := range map[string]string{
		"/": "/login", "/agents": "/login?next=%2Fagents", "/usage?interval=hour": "/login?next=%2Fusage%3Finterval%3Dhour", "/runs/x": "/login?next=%2Fruns%2Fx",
	} {
		code, _, h := b.get(path)
		if code != http.StatusSeeOther || h.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 303 to %q", path, code, h.Get("Location"), want)
		}
	}
	code, body, _ := b.get("/login")
	if code != 200 {
		t.Fatalf("login page: %d", code)
	}
	mustContain(t, body, "Sign in", `name="key"`, `type="password"`)
}

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	_, page, _ := b.get("/login")
	tok := csrfOf(t, page)
	// no CSRF token: rejected
	if code, _, _ := b.post("/login", url.Values{"key": {bootstrapKey}}); code != http.StatusForbidden {
		t.Fatalf("login without csrf: %d, want 403", code)
	}
	// wrong key
	code, body, _ := b.post("/login", url.Values{"csrf": {tok}, "key": {"at_nope"}})
	if code != http.StatusUnauthorized {
		t.Fatalf("wrong key: %d", code)
	}
	mustContain(t, body, "unknown or was revoked")
	// a key without read scope
	var created struct {
		Secret string `json:"secret"`
	}
	e.api("POST", "/api/v1/keys", bootstrapKey, map[string]any{"name": "ingest only", "scopes": []string{"ingest"}}, &created)
	code, body, _ = b.post("/login", url.Values{"csrf": {tok}, "key": {created.Secret}})
	if code != http.StatusForbidden {
		t.Fatalf("ingest-only key: %d", code)
	}
	mustContain(t, body, "lacks the read scope")
	// the right key; next is kept, but only as a local path
	code, _, h := b.post("/login", url.Values{"csrf": {tok}, "key": {bootstrapKey}, "next": {"//evil.example/"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/" {
		t.Fatalf("sign in: %d to %q", code, h.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == web.SessionCookie {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure {
		t.Fatalf("session cookie: %+v", session)
	}
	if strings.Contains(session.Value, bootstrapKey) {
		t.Fatal("the session cookie carries the API key")
	}
	code, home, hh := b.get("/")
	if code != 200 {
		t.Fatalf("home: %d", code)
	}
	if !strings.Contains(hh.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("CSP: %q", hh.Get("Content-Security-Policy"))
	}
	csrf := csrfOf(t, home)
	// sign-out without the token is rejected and keeps the session
	if code, _, _ := b.post("/logout", nil); code != http.StatusForbidden {
		t.Fatalf("logout without csrf: %d, want 403", code)
	}
	if code, _, _ := b.post("/logout", url.Values{"csrf": {"0000"}}); code != http.StatusForbidden {
		t.Fatalf("logout with a wrong csrf: %d, want 403", code)
	}
	if code, _, _ := b.get("/"); code != 200 {
		t.Fatalf("after rejected logout: %d", code)
	}
	if code, _, h := b.post("/logout", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", code, h.Get("Location"))
	}
	if code, _, _ := b.get("/"); code != http.StatusSeeOther {
		t.Fatalf("after logout: %d, want a redirect to /login", code)
	}
	// the old cookie is dead on the server too
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.url)
	jar.SetCookies(u, []*http.Cookie{{Name: web.SessionCookie, Value: session.Value}})
	b2 := &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: b.c.CheckRedirect}}
	if code, _, _ := b2.get("/"); code != http.StatusSeeOther {
		t.Fatalf("replayed session after logout: %d", code)
	}
}

func TestSessionEndsWithKey(t *testing.T) {
	e := newEnv(t)
	var created struct {
		Secret string `json:"secret"`
		Key    struct {
			ID string `json:"id"`
		} `json:"key"`
	}
	e.api("POST", "/api/v1/keys", bootstrapKey, map[string]any{"name": "reader", "scopes": []string{"read"}}, &created)
	b := e.browser()
	b.signIn(created.Secret)
	if code := e.api("DELETE", "/api/v1/keys/"+created.Key.ID, bootstrapKey, nil, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	if code, _, _ := b.get("/"); code != http.StatusSeeOther {
		t.Fatalf("after revoking the key: %d, want a redirect to sign in", code)
	}
}

type runList struct {
	Data []struct {
		ID      string `json:"id"`
		AgentID string `json:"agent_id"`
		Status  string `json:"status"`
		Error   *struct {
			Message string `json:"message"`
			StepID  string `json:"step_id"`
		} `json:"error"`
	} `json:"data"`
}

func TestAllTraces(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(bootstrapKey)
	code, body, _ := b.get("/")
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, body, "All Traces", `class="runtable"`, "st-completed", "st-failed", `rel="next"`, "Query syntax",
		`name="f_agent"`, `<option value="support-bot"`, `name="f_status"`, `name="f_range"`, `href="/?sort=duration"`, `href="/?sort=credits"`)
	if n := strings.Count(body, `name="run" value=`); n != 50 {
		t.Errorf("first page has %d runs, want 50", n)
	}
	// the next page follows the cursor
	next := regexp.MustCompile(`href="([^"]+)" class="next"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next link")
	}
	code, body2, _ := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	if code != 200 || !strings.Contains(body2, "First page") {
		t.Fatalf("next page: %d", code)
	}
	// search status:failed
	code, body, _ = b.get("/?q=" + url.QueryEscape("status:failed"))
	if code != 200 {
		t.Fatal(code)
	}
	tbody := body[strings.Index(body, "<tbody>"):]
	if strings.Contains(tbody, "badge st-completed") || !strings.Contains(tbody, "badge st-failed") {
		t.Error("status:failed shows other statuses")
	}
	mustContain(t, body, `<option value="failed" selected>`)
	// sorting by credits ascending
	code, body, _ = b.get("/?sort=credits&order=asc")
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, body, "Credits ↑")
	// bad sort is an inline error
	if code, body, _ = b.get("/?sort=colour"); code != 400 {
		t.Fatalf("bad sort: %d", code)
	}
	mustContain(t, body, "Query error", "sort")
}

func TestBadQueryInline(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(bootstrapKey)
	code, body, _ := b.get("/?q=" + url.QueryEscape("status:failed colour:red"))
	if code != http.StatusBadRequest {
		t.Fatalf("bad query: %d, want 400", code)
	}
	// a full page: the layout, the search box keeping the query, the error with its position
	mustContain(t, body, "<nav class=\"mainnav\"", "All Traces", `value="status:failed colour:red"`, `id="query-error"`,
		"at position 14", "status:failed <mark>colour:red</mark>", "unknown field")
	// the agent tab too
	code, body, _ = b.get("/agents/support-bot?q=" + url.QueryEscape("credits>abc"))
	if code != http.StatusBadRequest {
		t.Fatalf("agent bad query: %d", code)
	}
	mustContain(t, body, "<mark>credits&gt;abc</mark>", "is not a number")
}

func TestQuickFilters(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(bootstrapKey)
	cases := []struct{ query, want string }{
		{"f=1&q=&f_agent=&p_agent=&f_status=failed&p_status=&f_range=&p_range=", "/?q=status%3Afailed"},
		{"f=1&q=agent:a+status:failed+%22rate+limit%22&f_agent=a&p_agent=a&f_status=completed&p_status=failed&f_range=7d&p_range=", "/?q=agent%3Aa+%22rate+limit%22+status%3Acompleted+after%3A7d"},
		// the box changed, the selects did not: the typed query wins
		{"f=1&q=status:pending&f_status=failed&p_status=failed", "/?q=status%3Apending"},
		{"f=1&q=status:failed+after:24h&f_range=&p_range=24h&sort=credits&order=asc", "/?order=asc&q=status%3Afailed&sort=credits"},
	}
	for _, c := range cases {
		code, _, h := b.get("/?" + c.query)
		if code != http.StatusSeeOther || h.Get("Location") != c.want {
			t.Errorf("%s: %d to %q, want %q", c.query, code, h.Get("Location"), c.want)
		}
	}
	_, body, _ := b.get("/?q=" + url.QueryEscape("after:7d"))
	mustContain(t, body, `<option value="7d" selected>`)
	_, body, _ = b.get("/?q=" + url.QueryEscape("after:2020-01-01"))
	mustContain(t, body, `<option value="keep" selected>after:2020-01-01</option>`)
}

func TestAgentsPages(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(bootstrapKey)
	code, body, _ := b.get("/agents")
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, body, "support-bot", "Failure rate", "<polyline", "latest failed run")
	code, body, _ = b.get("/agents/support-bot")
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, body, "Open latest failed run", `id="latest-failed"`, "Traces", `class="runtable"`, `action="/agents/support-bot"`)
	// the table is scoped to the agent: no agent column, only its runs
	var runs runList
	e.api("GET", "/api/v1/runs?q=agent:support-bot&limit=1", bootstrapKey, nil, &runs)
	mustContain(t, body, runs.Data[0].ID)
	var other runList
	e.api("GET", "/api/v1/runs?q=-agent:support-bot&limit=5", bootstrapKey, nil, &other)
	for _, r := range other.Data {
		mustNotContain(t, body, r.ID)
	}
	if code, body, _ = b.get("/agents/no-such-agent"); code != 404 {
		t.Fatalf("unknown agent: %d", code)
	}
	mustContain(t, body, "Not found")
}

func TestRunPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(bootstrapKey)
	var runs runList
	e.api("GET", "/api/v1/runs?q="+url.QueryEscape("status:failed has:error")+"&limit=20", bootstrapKey, nil, &runs)
	var id, stepID, msg string
	for _, r := range runs.Data {
		if r.Error != nil && r.Error.StepID != "" {
			id, stepID, msg = r.ID, r.Error.StepID, r.Error.Message
			break
		}
	}
	if id == "" {
		t.Fatal("no failed run with a failed step in the demo data")
	}
	code, body, _ := b.get("/runs/" + id)
	if code != 200 {
		t.Fatalf("run page: %d", code)
	}
	mustContain(t, body, `id="first-failed-link"`, `href="#step-`+stepID+`"`, `id="step-`+stepID+`"`, "first failure",
		"Timeline", "tl-bar st-failed", "Trigger", "Credits", "Tokens", "Evaluations", "Metadata",
		"/runs/"+id+"/steps/", "/raw?field=input")
	mustContain(t, body, template_escape(msg))
	// Timeline bars are placed on the time axis (html/template used to
	// replace the style with ZgotmplZ, leaving every bar at 0).
	mustContain(t, body, `class="tl-bar st-failed" style="left: `)
	mustNotContain(t, body, "ZgotmplZ")
	// raw payloads
	var full struct {
		Steps []struct {
			ID    string          `json:"id"`
			Input json.RawMessage `json:"input"`
		} `json:"steps"`
	}
	e.api("GET", "/api/v1/runs/"+id, bootstrapKey, nil, &full)
	for _, s := range full.Steps {
		if len(s.Input) == 0 {
			continue
		}
		code, raw, h := b.get("/runs/" + id + "/steps/" + s.ID + "/raw?field=input")
		if code != 200 || raw != string(s.Input) || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Fatalf("raw input: %d %q", code, h.Get("Content-Type"))
		}
		break
	}
	if code, _, _ := b.get("/runs/" + id + "/steps/nope/raw?field=input"); code != 404 {
		t.Errorf("raw of an unknown step: %d", code)
	}
	if code, _, _ := b.get("/runs/" + id + "/raw?field=secrets"); code != 400 {
		t.Errorf("raw of a bad field: %d", code)
	}
	if code, body, _ = b.get("/runs/no-such-run"); code != 404 {
		t.Fatalf("unknown run: %d", code)
	}
	mustContain(t, body, "Not found", "<nav class=\"mainnav\"")
}

func template_escape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")
	return r.Replace(s)
}

func TestPayloadsAreEscaped(t *testing.T) {
	e := newEnv(t)
	xss := "<script>alert(1)</script>"
	batch := map[string]any{
		"runs": []map[string]any{{"id": "xss-run", "agent_id": "xss-agent", "status": "failed", "input": map[string]any{"q": xss},
			"error": map[string]any{"type": "Boom", "message": xss}, "metadata": map[string]any{"note": xss, "tags": []string{xss}},
			"session_id": `s"><script>alert(2)</script>`}},
		"steps": []map[string]any{
			{"run_id": "xss-run", "id": "s1", "name": xss, "type": "tool", "status": "failed", "input": xss,
				"output": map[string]any{"html": xss}, "error": map[string]any{"message": xss}, "model": xss},
		},
	}
	var res map[string]any
	e.api("POST", "/api/v1/ingest", bootstrapKey, batch, &res)
	b := e.browser()
	b.signIn(bootstrapKey)
	for _, path := range []string{"/runs/xss-run", "/", "/agents", "/agents/xss-agent", "/usage?group_by=model"} {
		code, body, _ := b.get(path)
		if code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
		mustNotContain(t, body, xss, "<script>alert(2)")
		if path == "/runs/xss-run" {
			mustContain(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
		}
	}
	code, raw, h := b.get("/runs/xss-run/steps/s1/raw?field=input")
	if code != 200 || h.Get("Content-Type") != "application/json; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("raw: %d %v", code, h)
	}
	var got string
	if err := json.Unmarshal([]byte(raw), &got); err != nil || got != xss {
		t.Fatalf("raw body %q", raw)
	}
}

func TestOtherAccountIsNotFound(t *testing.T) {
	e := newEnv(t)
	var acct struct {
		AdminKey string `json:"admin_key"`
	}
	e.api("POST", "/api/v1/accounts", bootstrapKey, map[string]any{"id": "other", "name": "Other"}, &acct)
	var res map[string]any
	e.api("POST", "/api/v1/ingest", acct.AdminKey, map[string]any{"runs": []map[string]any{{"id": "secret-run", "agent_id": "secret-agent", "status": "completed"}},
		"steps": []map[string]any{{"run_id": "secret-run", "id": "st", "name": "n", "type": "llm", "input": "private"}}}, &res)
	b := e.browser()
	b.signIn(bootstrapKey)
	for _, path := range []string{"/runs/secret-run", "/runs/secret-run/steps/st/raw?field=input", "/agents/secret-agent"} {
		code, body, _ := b.get(path)
		if code != 404 {
			t.Errorf("%s from another account: %d, want 404", path, code)
		}
		mustNotContain(t, body, "private")
	}
	_, body, _ := b.get("/")
	mustNotContain(t, body, "secret-run", "secret-agent")
	// the other account sees its own run and none of the default account's
	b2 := e.browser()
	b2.signIn(acct.AdminKey)
	code, body, _ := b2.get("/")
	if code != 200 {
		t.Fatal(code)
	}
	mustContain(t, body, "secret-run", ">other<")
	if n := strings.Count(body, `name="run" value=`); n != 1 {
		t.Errorf("other account sees %d runs", n)
	}
	if code, _, _ := b2.get("/runs/secret-run"); code != 200 {
		t.Errorf("own run: %d", code)
	}
}

func TestEmptyStates(t *testing.T) {
	e := newEnv(t)
	var acct struct {
		AdminKey string `json:"admin_key"`
	}
	e.api("POST", "/api/v1/accounts", bootstrapKey, map[string]any{"id": "fresh"}, &acct)
	b := e.browser()
	b.signIn(acct.AdminKey)
	_, body, _ := b.get("/")
	mustContain(t, body, "No runs yet", "curl -X POST "+e.url+"/api/v1/ingest", "Authorization: Bearer $AGENTTRACE_KEY")
	_, body, _ = b.get("/agents")
	mustContain(t, body, "No agents yet", "curl -X POST")
	_, body, _ = b.get("/usage")
	mustContain(t, body, "Nothing in this range")
	_, body, _ = b.get("/?q=status:failed")
	mustContain(t, body, "No runs match", "clear the search")
}

func TestEmptyStateCurlWorks(t *testing.T) {
	e := newEnv(t)
	var acct struct {
		AdminKey string `json:"admin_key"`
	}
	e.api("POST", "/api/v1/accounts", bootstrapKey, map[string]any{"id": "curl"}, &acct)
	b := e.browser()
	b.signIn(acct.AdminKey)
	_, body, _ := b.get("/")
	m := regexp.MustCompile(`(?s)-d &#39;(.*?)&#39;</pre>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no curl body in %s", body)
	}
	payload := strings.NewReplacer("&#34;", `"`, "&amp;", "&").Replace(m[1])
	var raw json.RawMessage = []byte(payload)
	var res map[string]any
	if code := e.api("POST", "/api/v1/ingest", acct.AdminKey, raw, &res); code != 200 {
		t.Fatalf("the empty state's curl body is rejected: %d", code)
	}
	_, body, _ = b.get("/")
	mustContain(t, body, "hello-1")
}

func TestUsagePage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn(bootstrapKey)
	for _, path := range []string{"/usage", "/usage?interval=hour&group_by=model", "/usage?q=agent:support-bot"} {
		code, body, _ := b.get(path)
		if code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
		mustContain(t, body, "Credits", "Runs", "Failed runs", `<svg class="chartsvg"`, "<rect", `class="legend"`, "<table", "Time (UTC)")
	}
	_, body, _ := b.get("/usage")
	mustContain(t, body, "support-bot")
	code, body, _ := b.get("/usage?q=" + url.QueryEscape("credits>abc"))
	if code != 400 {
		t.Fatalf("bad usage query: %d", code)
	}
	mustContain(t, body, "Query error", "<mark>credits&gt;abc</mark>", "Usage")
	if code, _, _ := b.get("/usage?interval=week"); code != 400 {
		t.Errorf("bad interval: %d", code)
	}
}

func TestNotFoundAndStatic(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if code, body, _ := b.get("/static/app.css"); code != 200 || !strings.Contains(body, ".badge") {
		t.Fatalf("static css: %d", code)
	}
	if code, _, _ := b.get("/static/app.js"); code != 200 {
		t.Fatalf("static js: %d", code)
	}
	b.signIn(bootstrapKey)
	if code, body, _ := b.get("/no/such/page"); code != 404 || !strings.Contains(body, "Not found") {
		t.Fatalf("unknown page: %d", code)
	}
	// the API keeps its JSON 404
	if code, body, _ := b.get("/api/v1/nothing"); code != 404 || !strings.Contains(body, `"error"`) {
		t.Fatalf("api 404: %d %s", code, body)
	}
}

func TestActionHooks(t *testing.T) {
	saved, savedRun, savedPages := web.Actions, web.RunActions, web.Pages
	t.Cleanup(func() { web.Actions, web.RunActions, web.Pages = saved, savedRun, savedPages })
	web.Actions, web.RunActions = nil, nil // only this test's hooks (the UI's own Export is on All Traces)
	web.Pages = append(web.Pages, web.Page{Pattern: "GET /hello", Nav: "Hello", Handler: func(w http.ResponseWriter, r *http.Request) {
		k, _ := api.KeyFrom(r.Context())
		var buf bytes.Buffer
		_ = template.Must(template.New("p").Parse(`<p id="hello">hello {{.}}</p>`)).Execute(&buf, k.AccountID+"<b>")
		web.Render(w, r, http.StatusOK, "Hello", "/hello", template.HTML(buf.String()))
	}})
	web.Actions = append(web.Actions, web.Action{Label: "Compare", Path: "/compare", Min: 2, Max: 2, IDParams: []string{"a", "b"}},
		web.Action{Label: "Export", Path: "/exports/new", Method: "POST", Min: 1, WithQuery: true, AgentOnly: true})
	web.RunActions = append(web.RunActions, web.RunAction{Label: "Re-run", Method: "POST", Path: func(r agenttrace.Run) string { return "/runs/" + r.ID + "/rerun" }})
	e := newEnv(t)
	b := e.browser()
	if code, _, h := b.get("/hello"); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("extra page without a session: %d", code)
	}
	b.signIn(bootstrapKey)
	code, page, _ := b.get("/hello")
	if code != 200 {
		t.Fatalf("extra page: %d", code)
	}
	mustContain(t, page, `<p id="hello">hello default&lt;b&gt;</p>`, `<a href="/hello" aria-current="page">Hello</a>`, "Sign out")
	_, body, _ := b.get("/")
	mustContain(t, body, `<a href="/hello" >Hello</a>`, `data-path="/compare"`, `data-params="a,b"`, `data-max="2"`, ">Compare</button>")
	mustNotContain(t, body, ">Export</button>")
	_, body, _ = b.get("/agents/support-bot")
	mustContain(t, body, ">Export</button>", `data-method="POST"`, `data-withq="true"`)
	var runs runList
	e.api("GET", "/api/v1/runs?limit=1", bootstrapKey, nil, &runs)
	_, body, _ = b.get("/runs/" + runs.Data[0].ID)
	mustContain(t, body, `action="/runs/`+runs.Data[0].ID+`/rerun"`, ">Re-run</button>")
}

func TestNoActionsByDefault(t *testing.T) {
	if len(web.Actions) > 0 {
		t.Skip("another package registered actions")
	}
	e := newEnv(t)
	b := e.browser()
	b.signIn(bootstrapKey)
	_, body, _ := b.get("/")
	mustNotContain(t, body, `class="action"`, "/compare?")
}
