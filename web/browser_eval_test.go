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

// TestBrowserEvaluate creates an evaluator through the form, selects runs on
// All Traces → Evaluate → progress → results, and saves screenshots of the
// evaluation pages at 1280 and 390 px (see shotsDir).
func TestBrowserEvaluate(t *testing.T) {
	ctx := newChrome(t)
	e := newEnv(t)
	signInBrowser(t, ctx, e.url, bootstrapKey)

	// a rule that does not compile shows the error inline; then a good one
	do(t, ctx, "new evaluator form",
		chromedp.Navigate(e.url+"/evaluators"),
		chromedp.WaitVisible(chromedp.ID("new-evaluator")),
		chromedp.Click(chromedp.ID("new-evaluator")),
		chromedp.WaitVisible(chromedp.ID("ev-name")),
	)
	if hidden := get(t, ctx, chromedp.Evaluate[bool](`document.getElementById("cfg-judge").hidden && !document.getElementById("cfg-rule").hidden`)); !hidden {
		t.Fatal("the kind picker does not show only the rule's configuration")
	}
	do(t, ctx, "bad rule",
		chromedp.SendKeys(chromedp.ID("ev-name"), "not-failed"),
		chromedp.SendKeys(chromedp.ID("ev-expr"), `run.status !=`),
		chromedp.Click(chromedp.ID("save-evaluator")),
		chromedp.WaitVisible(chromedp.ID("form-error")),
	)
	if msg := get(t, ctx, chromedp.Text(chromedp.ID("form-error"))); !strings.Contains(msg, "config.expression") {
		t.Fatalf("inline error: %q", msg)
	}
	do(t, ctx, "good rule",
		chromedp.SetValue(chromedp.ID("ev-expr"), `run.status != "failed"`),
		chromedp.Click(chromedp.ID("save-evaluator")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	// a built-in check, picked with the kind picker
	do(t, ctx, "builtin",
		chromedp.Navigate(e.url+"/evaluators/new"),
		chromedp.WaitVisible(chromedp.ID("ev-name")),
		chromedp.SendKeys(chromedp.ID("ev-name"), "no-failed-steps"),
		chromedp.Click(chromedp.CSS(`input[name=kind][value=builtin]`)),
		chromedp.WaitVisible(chromedp.ID("ev-check")),
		chromedp.SetValue(chromedp.ID("ev-check"), "no_failed_steps"),
		chromedp.Click(chromedp.ID("save-evaluator")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)

	// select two failed runs on All Traces → Evaluate
	do(t, ctx, "select runs",
		chromedp.Navigate(e.url+"/?q="+url.QueryEscape("status:failed")),
		chromedp.WaitVisible(chromedp.CSS("table.runtable")),
		chromedp.Click(chromedp.CSS("tbody tr:nth-child(1) input[name=run]")),
		chromedp.Click(chromedp.CSS("tbody tr:nth-child(2) input[name=run]")),
		chromedp.Click(chromedp.CSS(`button.action[data-path="/evaluations/new"]`)),
		chromedp.WaitVisible(chromedp.ID("evaluate-form")),
	)
	if txt := get(t, ctx, chromedp.Text(chromedp.ID("evaluate-form"))); !strings.Contains(txt, "2 selected runs") {
		t.Fatalf("evaluate form: %q", txt)
	}
	shots := map[string]string{"evaluate": get(t, ctx, chromedp.Location())}
	do(t, ctx, "start",
		chromedp.Click(chromedp.CSS(`input[name=evaluator]`)),
		chromedp.Click(chromedp.ID("start-evaluation")),
		chromedp.WaitVisible(chromedp.ID("progress")),
	)
	// The polling script reloads the page when the job ends. Verdicts show
	// page by page while it runs, so wait for the status itself.
	waitJobCompleted(t, ctx)
	if st := get(t, ctx, chromedp.Text(chromedp.ID("job-status"))); st != "completed" {
		t.Fatalf("job status %q", st)
	}
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#verdicts tbody tr").length`)); n != 2 {
		t.Fatalf("%d verdicts, want 2", n)
	}
	if fails := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#verdicts .badge.v-fail").length`)); fails != 2 {
		t.Fatalf("%d fail verdicts, want 2", fails)
	}
	shots["evaluation"] = get(t, ctx, chromedp.Location())

	// a query job over all failed runs, for the usage chart and the list
	do(t, ctx, "evaluate all failed",
		chromedp.Navigate(e.url+"/?q="+url.QueryEscape("status:failed")),
		chromedp.WaitVisible(chromedp.CSS("table.runtable")),
		chromedp.Click(chromedp.CSS(`button.action[data-path="/evaluations/new"]`)),
		chromedp.WaitVisible(chromedp.ID("scope-query")),
		chromedp.Click(chromedp.CSS(`input[name=evaluator]`)),
		chromedp.Click(chromedp.CSS(`.evchoice:nth-child(2) input[name=evaluator]`)),
		chromedp.Click(chromedp.ID("start-evaluation")),
		chromedp.WaitVisible(chromedp.ID("job-status")),
	)
	waitJobCompleted(t, ctx)
	shots["evaluation-query"] = get(t, ctx, chromedp.Location())

	dir := shotsDir(t)
	pages := []struct{ name, path, wait string }{
		{"evaluators", "/evaluators", "table.evaluatortable"},
		{"evaluator-new", "/evaluators/new", "#evaluator-form"},
		{"evaluate", strings.TrimPrefix(shots["evaluate"], e.url), "#evaluate-form"},
		{"evaluation", strings.TrimPrefix(shots["evaluation"], e.url), "#verdicts"},
		{"evaluation-query", strings.TrimPrefix(shots["evaluation-query"], e.url), "#verdicts"},
		{"evaluations", "/evaluations", "table.jobtable"},
		{"usage-evals", "/usage", "#eval-rates"},
		{"traces-evals", "/?q=" + url.QueryEscape("eval:not-failed=fail"), "table.runtable"},
	}
	for _, width := range []int64{1280, 390} {
		height := int64(900)
		if width < 500 {
			height = 844
		}
		do(t, ctx, "viewport", chromedp.EmulateViewport(width, height, chromedp.EmulateScale(1)))
		for _, p := range pages {
			do(t, ctx, p.name, chromedp.Navigate(e.url+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)), chromedp.Sleep(150*time.Millisecond))
			shot := get(t, ctx, chromedp.FullScreenshot(100))
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.png", p.name, width)), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// the evaluator edit page with a compile error, for a look
	do(t, ctx, "bad rule shot",
		chromedp.Navigate(e.url+"/evaluators/new"),
		chromedp.WaitVisible(chromedp.ID("ev-name")),
		chromedp.SendKeys(chromedp.ID("ev-name"), "broken"),
		chromedp.SendKeys(chromedp.ID("ev-expr"), `run.steps.exists(s, s.colour == )`),
		chromedp.Click(chromedp.ID("save-evaluator")),
		chromedp.WaitVisible(chromedp.ID("form-error")),
	)
	shot := get(t, ctx, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, "evaluator-error-390.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitJobCompleted waits until the evaluation page shows its job completed,
// with its verdicts. The page's polling script reloads it when the job ends,
// so a check may meet a navigation: it is simply tried again.
func waitJobCompleted(t *testing.T, ctx context.Context) {
	t.Helper()
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		done, err := chromedp.Run(cctx, chromedp.Evaluate[bool](`(() => { const s = document.querySelector("#job-status");
			return s !== null && s.textContent === "completed" && document.querySelector("#verdicts") !== null; })()`))
		cancel()
		if err == nil && done {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the evaluation job did not show completed with its verdicts within 25 s (status %q)",
		get(t, ctx, chromedp.Text(chromedp.ID("job-status"))))
}
