package web_test

import (
	"net/http"
	"net/url"
	"testing"
)

type lineageList struct {
	Data []struct {
		ID      string `json:"id"`
		AgentID string `json:"agent_id"`
		RerunOf string `json:"rerun_of"`
	} `json:"data"`
}

// aRerun answers a demo run that re-runs another, and its original.
func aRerun(t *testing.T, e *env) (orig, rerun string) {
	t.Helper()
	var runs lineageList
	e.api("GET", "/api/v1/runs?limit=50&q="+url.QueryEscape("trigger:rerun"), bootstrapKey, nil, &runs)
	for _, r := range runs.Data {
		if r.RerunOf != "" {
			return r.RerunOf, r.ID
		}
	}
	t.Fatal("the demo data has no re-run")
	return "", ""
}

func TestComparePage(t *testing.T) {
	e := newEnv(t)
	orig, rr := aRerun(t, e)
	var res struct {
		Divergence int `json:"divergence"`
		Steps      []struct {
			A *struct{ Name string } `json:"a"`
			B *struct{ Name string } `json:"b"`
		} `json:"steps"`
	}
	e.api("GET", "/api/v1/compare?a="+url.QueryEscape(orig)+"&b="+url.QueryEscape(rr), bootstrapKey, nil, &res)
	if res.Divergence < 0 {
		t.Fatal("the demo re-run does not diverge")
	}
	div := res.Steps[res.Divergence]
	name := ""
	if div.A != nil {
		name = div.A.Name
	} else {
		name = div.B.Name
	}
	b := e.browser()
	b.signIn(bootstrapKey)
	code, page, _ := b.get("/compare?a=" + url.QueryEscape(orig) + "&b=" + url.QueryEscape(rr))
	if code != 200 {
		t.Fatalf("compare: %d\n%.2000s", code, page)
	}
	mustContain(t, page, `id="first-divergence"`, `href="#first-divergence"`, "Jump to the first divergence: "+name,
		`<details class="pair divergent" id="first-divergence" open>`, "first divergence", "B re-runs A", "/runs/"+orig, "/runs/"+rr)
	// the trace pages link the comparison both ways
	_, page, _ = b.get("/runs/" + rr)
	mustContain(t, page, ">Compare with original</a>", `href="/compare?a=`+url.QueryEscape(orig)+`&amp;b=`+url.QueryEscape(rr)+`"`, ">Compare with…</a>")
	_, page, _ = b.get("/runs/" + orig)
	mustContain(t, page, ">Compare with its re-run</a>")
	// the "Compare with…" form
	code, page, _ = b.get("/compare?a=" + url.QueryEscape(orig))
	if code != 200 {
		t.Fatalf("compare form: %d", code)
	}
	mustContain(t, page, `name="b"`, `value="`+orig+`"`)
	// All Traces has the Compare action for two runs
	_, page, _ = b.get("/")
	mustContain(t, page, `data-path="/compare"`, `data-params="a,b"`, `data-min="2"`, `data-max="2"`, ">Compare</button>")
	// a missing run is a 404 page
	if code, _, _ := b.get("/compare?a=" + url.QueryEscape(orig) + "&b=nope"); code != http.StatusNotFound {
		t.Errorf("compare with a missing run: %d", code)
	}
}

func TestCompareOtherAccountIsNotFound(t *testing.T) {
	e := newEnv(t)
	var acct struct {
		AdminKey string `json:"admin_key"`
	}
	e.api("POST", "/api/v1/accounts", bootstrapKey, map[string]any{"id": "other"}, &acct)
	var res map[string]any
	e.api("POST", "/api/v1/ingest", acct.AdminKey, map[string]any{"runs": []map[string]any{{"id": "secret-run", "agent_id": "secret-agent", "status": "completed", "output": "private-output"}}}, &res)
	orig, _ := aRerun(t, e)
	b := e.browser()
	b.signIn(bootstrapKey)
	for _, q := range []string{"a=" + orig + "&b=secret-run", "a=secret-run&b=" + orig, "a=secret-run"} {
		code, body, _ := b.get("/compare?" + q)
		if code != http.StatusNotFound {
			t.Errorf("compare %s: %d, want 404", q, code)
		}
		mustNotContain(t, body, "private-output", "secret-agent")
	}
}

func TestCompareEscapesPayloads(t *testing.T) {
	e := newEnv(t)
	var res map[string]any
	step := func(run, out string) map[string]any {
		return map[string]any{"run_id": run, "id": run + "-s1", "seq": 1, "name": "answer <b>", "type": "llm", "status": "completed",
			"input": map[string]any{"q": "<img src=x onerror=alert(1)>"}, "output": out}
	}
	e.api("POST", "/api/v1/ingest", bootstrapKey, map[string]any{
		"runs": []map[string]any{
			{"id": "xa", "agent_id": "x-agent", "status": "completed", "output": map[string]any{"html": "<script>alert(1)</script>"}},
			{"id": "xb", "agent_id": "x-agent", "status": "failed", "output": map[string]any{"html": "<script>alert(2)</script>"}, "error": map[string]any{"message": "<script>boom</script>"}},
		},
		"steps": []map[string]any{step("xa", "hello <script>alert('a')</script> world"), step("xb", "hello <script>alert('b')</script> world")},
	}, &res)
	b := e.browser()
	b.signIn(bootstrapKey)
	code, page, _ := b.get("/compare?a=xa&b=xb")
	if code != 200 {
		t.Fatalf("compare: %d", code)
	}
	mustNotContain(t, page, "<script>alert", "<script>boom", "<img src=x", "answer <b>")
	mustContain(t, page, "&lt;script&gt;", "answer &lt;b&gt;", "<del>", "<ins>")
}
