package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// newChrome starts headless Chromium, or skips (fails when CI=true) without it.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Chromium is required in CI: %s is missing (apt-get install -y chromium)", chromiumPath)
		}
		t.Skipf("browser tests need Chromium at %s (apt-get install -y chromium); skipping", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Headless, chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// do runs browser steps with a time limit, failing the test on error.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one browser action that answers a value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signInBrowser(t *testing.T, ctx context.Context, base, key string) {
	t.Helper()
	do(t, ctx, "sign in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), key),
		chromedp.Submit(chromedp.ID("key")),
		chromedp.WaitVisible(chromedp.CSS("table.runtable")),
	)
}

func TestBrowserDebugFlow(t *testing.T) {
	ctx := newChrome(t)
	e := newEnv(t)
	var acct struct {
		AdminKey string `json:"admin_key"`
	}
	e.api("POST", "/api/v1/accounts", bootstrapKey, map[string]any{"id": "other"}, &acct)
	var res map[string]any
	e.api("POST", "/api/v1/ingest", acct.AdminKey, map[string]any{"runs": []map[string]any{{"id": "secret-run", "agent_id": "secret-agent", "status": "completed"}}}, &res)

	signInBrowser(t, ctx, e.url, bootstrapKey)
	// search status:failed
	do(t, ctx, "search",
		chromedp.SendKeys(chromedp.ID("q"), "status:failed\n"),
		chromedp.WaitVisible(chromedp.CSS(`#q[value="status:failed"]`)),
		chromedp.WaitVisible(chromedp.CSS("tbody td.statuscol .badge.st-failed")),
	)
	loc := get(t, ctx, chromedp.Location())
	if !strings.Contains(loc, "q=status%3Afailed") {
		t.Fatalf("URL after search: %s", loc)
	}
	rows := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("tbody tr").length`))
	others := get(t, ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("tbody .badge")).filter(b => /^st-/.test(b.classList[1]) && b.textContent !== "failed").map(b => b.textContent).join(",")`))
	if rows == 0 || others != "" {
		t.Fatalf("status:failed shows %d rows, other statuses %q", rows, others)
	}
	// open a failed run (clicking its row link) that has a failed step, and jump to that step
	hrefs := get(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("a.runlink")).map(a => a.getAttribute("href"))`))
	opened := false
	for i := range hrefs[:min(len(hrefs), 10)] {
		do(t, ctx, "open run",
			chromedp.Navigate(loc),
			chromedp.WaitVisible(chromedp.CSS("table.runtable")),
			chromedp.Click(chromedp.CSS(fmt.Sprintf("tbody tr:nth-child(%d) a.runlink", i+1))),
			chromedp.WaitVisible(chromedp.CSS(".runhead")),
		)
		if get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#first-failed-link").length`)) == 1 {
			opened = true
			break
		}
	}
	if !opened {
		t.Fatal("no failed run with a first failed step link")
	}
	header := get(t, ctx, chromedp.Text(chromedp.CSS(".runerror")))
	do(t, ctx, "jump to the first failed step",
		chromedp.Click(chromedp.ID("first-failed-link")),
		chromedp.WaitVisible(chromedp.CSS(".step.target .errmsg")),
	)
	hash := get(t, ctx, chromedp.Evaluate[string](`location.hash`))
	stepErr := strings.TrimSpace(get(t, ctx, chromedp.Text(chromedp.CSS(".step.target .errmsg"))))
	if !strings.HasPrefix(hash, "#step-") || stepErr == "" {
		t.Fatalf("after the jump: hash %q, step error %q", hash, stepErr)
	}
	if !strings.Contains(header, stepErr) {
		t.Errorf("the header's error %q does not show the step's %q", header, stepErr)
	}

	// a bad query shows the error inline
	do(t, ctx, "bad query",
		chromedp.Navigate(e.url+"/"),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "colour:red\n"),
		chromedp.WaitVisible(chromedp.ID("query-error")),
	)
	qerr := get(t, ctx, chromedp.Text(chromedp.ID("query-error")))
	if !strings.Contains(qerr, `unknown field "colour"`) || !strings.Contains(qerr, "position 0") {
		t.Fatalf("inline error: %q", qerr)
	}
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("nav.mainnav a").length`)); n < 3 {
		t.Fatalf("the error page is not a full page (nav links: %d)", n)
	}

	// another account's run is a 404 page
	do(t, ctx, "other account's run", chromedp.Navigate(e.url+"/runs/secret-run"), chromedp.WaitVisible(chromedp.CSS(".errorpage")))
	h1 := get(t, ctx, chromedp.Text(chromedp.CSS(".errorpage h1")))
	big := get(t, ctx, chromedp.Text(chromedp.CSS(".errorpage .code-big")))
	if h1 != "Not found" || big != "404" {
		t.Fatalf("another account's run: %q %q", h1, big)
	}
}

func TestBrowserSelection(t *testing.T) {
	ctx := newChrome(t)
	e := newEnv(t)
	signInBrowser(t, ctx, e.url, bootstrapKey)
	do(t, ctx, "select two runs",
		chromedp.Click(chromedp.CSS("tbody tr:nth-child(1) input[name=run]")),
		chromedp.Click(chromedp.CSS("tbody tr:nth-child(2) input[name=run]")),
	)
	if count := get(t, ctx, chromedp.Text(chromedp.CSS(".selcount"))); count != "2 selected" {
		t.Fatalf("selection count %q", count)
	}
}

// shotsDir is where a test saves its screenshots for people to look at:
// AGENTTRACE_SHOTS/TestName when that is set, otherwise a temporary folder
// removed after the test (the pages are still rendered and checked).
func shotsDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("AGENTTRACE_SHOTS")
	if root == "" {
		return t.TempDir()
	}
	dir := filepath.Join(root, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestScreenshots saves every page at 1280 and 390 px wide (see shotsDir).
func TestScreenshots(t *testing.T) {
	ctx := newChrome(t)
	e := newEnv(t)
	dir := shotsDir(t)
	var runs runList
	e.api("GET", "/api/v1/runs?q="+url.QueryEscape("status:failed has:error steps>=5")+"&limit=1", bootstrapKey, nil, &runs)
	if len(runs.Data) == 0 || runs.Data[0].Error == nil {
		t.Fatal("no failed run")
	}
	run := runs.Data[0]
	pages := []struct{ name, path, wait string }{
		{"login", "/login", "#key"},
		{"traces", "/", "table.runtable"},
		{"traces-failed", "/?q=" + url.QueryEscape("status:failed"), "table.runtable"},
		{"traces-badquery", "/?q=" + url.QueryEscape("status:failed colour:red"), "#query-error"},
		{"agents", "/agents", "table.agenttable"},
		{"agent", "/agents/" + run.AgentID, "table.runtable"},
		{"trace", "/runs/" + run.ID, ".timeline"},
		{"trace-step", "/runs/" + run.ID + "#step-" + run.Error.StepID, ".step.target"},
		{"usage", "/usage", "svg.chartsvg"},
		{"usage-model-hour", "/usage?group_by=model&interval=hour", ".chart"},
	}
	for _, width := range []int64{1280, 390} {
		height := int64(900)
		if width < 500 {
			height = 844
		}
		do(t, ctx, "viewport", chromedp.EmulateViewport(width, height, chromedp.EmulateScale(1)))
		for _, p := range pages {
			do(t, ctx, p.name, chromedp.Navigate(e.url+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)), chromedp.Sleep(150*time.Millisecond))
			shot := get(t, ctx, chromedp.CaptureScreenshot())
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", p.name, width)), shot, 0o644); err != nil {
				t.Fatal(err)
			}
			if p.name == "login" {
				do(t, ctx, "sign in", chromedp.SendKeys(chromedp.ID("key"), bootstrapKey), chromedp.Submit(chromedp.ID("key")),
					chromedp.WaitVisible(chromedp.CSS("table.runtable")))
			}
		}
		do(t, ctx, "sign out", chromedp.Navigate(e.url+"/"), chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.ID("key")))
	}
}
