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

// shoot saves a screenshot of the page as name.png in dir (see shotsDir).
func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	shot := get(t, ctx, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserCompareRerunExport walks the flows of the compare, re-run and
// export pages in Chromium.
func TestBrowserCompareRerunExport(t *testing.T) {
	ctx := newChrome(t)
	e := newEnv(t)
	orig, rr := aRerun(t, e)
	signInBrowser(t, ctx, e.url, bootstrapKey)

	// All Traces: select the two runs of a re-run → Compare → the divergence
	do(t, ctx, "list both", chromedp.Navigate(e.url+"/?q="+url.QueryEscape("agent:support-bot")), chromedp.WaitVisible(chromedp.CSS("table.runtable")))
	both := get(t, ctx, chromedp.Evaluate[int](fmt.Sprintf(`[%q, %q].filter(id => document.querySelector('input[name=run][value="' + id + '"]')).length`, orig, rr)))
	if both == 2 {
		do(t, ctx, "select both",
			chromedp.Click(chromedp.CSS(`input[name=run][value="`+orig+`"]`)),
			chromedp.Click(chromedp.CSS(`input[name=run][value="`+rr+`"]`)),
		)
	} else {
		// not on one page: select any two runs, then compare the pair we know
		do(t, ctx, "select two",
			chromedp.Click(chromedp.CSS("tbody tr:nth-child(1) input[name=run]")),
			chromedp.Click(chromedp.CSS("tbody tr:nth-child(2) input[name=run]")),
		)
	}
	if n := get(t, ctx, chromedp.Text(chromedp.CSS(".selcount"))); n != "2 selected" {
		t.Fatalf("selection: %q", n)
	}
	do(t, ctx, "compare", chromedp.Click(chromedp.CSS(`button.action[data-path="/compare"]`)), chromedp.WaitVisible(chromedp.CSS("table.cmphead")))
	if both != 2 {
		do(t, ctx, "compare the re-run", chromedp.Navigate(e.url+"/compare?a="+url.QueryEscape(orig)+"&b="+url.QueryEscape(rr)), chromedp.WaitVisible(chromedp.CSS("table.cmphead")))
	}
	do(t, ctx, "see the divergence", chromedp.WaitVisible(chromedp.CSS(`details#first-divergence[open] .pairbody`)))
	if h := get(t, ctx, chromedp.Evaluate[string](`location.hash`)); h != "#first-divergence" {
		t.Errorf("the compare page did not go to the divergence: %q", h)
	}

	// the latest failed support-demo run → Re-run with gpt-4o → the new run → compare
	id := latestFailed(t, e, "support-demo")
	do(t, ctx, "open the failed run", chromedp.Navigate(e.url+"/agents/support-demo"), chromedp.WaitVisible(chromedp.CSS("table.runtable")),
		chromedp.Navigate(e.url+"/runs/"+id), chromedp.WaitVisible(chromedp.CSS(".runhead")))
	do(t, ctx, "re-run form", chromedp.Click(chromedp.CSS(`.runactions a[href$="/rerun"]`)), chromedp.WaitVisible(chromedp.ID("rerun-form")))
	do(t, ctx, "re-run with gpt-4o",
		chromedp.SendKeys(chromedp.ID("rr-model"), "gpt-4o"),
		chromedp.Click(chromedp.CSS(`#rerun-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("rerun-wait")),
	)
	ctx2, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := chromedp.Do(ctx2, chromedp.WaitVisible(chromedp.ID("compare-link")))
	cancel()
	if err != nil {
		t.Fatalf("the new run link did not appear: %v", err)
	}
	newHref := get(t, ctx, chromedp.Evaluate[string](`document.getElementById("new-run-link").getAttribute("href")`))
	do(t, ctx, "open compare", chromedp.Click(chromedp.ID("compare-link")), chromedp.WaitVisible(chromedp.CSS("details#first-divergence[open]")))
	loc := get(t, ctx, chromedp.Location())
	if !strings.Contains(loc, "a="+url.QueryEscape(id)) || !strings.Contains(loc, "b="+url.QueryEscape(strings.TrimPrefix(newHref, "/runs/"))) {
		t.Fatalf("compare opened %s", loc)
	}

	// Export from an agent's Traces tab → estimate → Confirm → Download link
	do(t, ctx, "agent tab", chromedp.Navigate(e.url+"/agents/support-bot"), chromedp.WaitVisible(chromedp.CSS("table.runtable")))
	do(t, ctx, "export", chromedp.Click(chromedp.CSS(`button.action[data-path="/exports/new"]`)), chromedp.WaitVisible(chromedp.ID("estimate")))
	if loc := get(t, ctx, chromedp.Location()); !strings.Contains(loc, "agent=support-bot") {
		t.Fatalf("export page without the agent: %s", loc)
	}
	do(t, ctx, "gzip", chromedp.Click(chromedp.CSS(`input[name=gzip]`)), chromedp.WaitReady(chromedp.CSS(`#export-confirm input[name=gzip]`)))
	do(t, ctx, "confirm", chromedp.Click(chromedp.CSS(`#export-confirm button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("export-job")))
	ctx3, cancel3 := context.WithTimeout(ctx, 30*time.Second)
	err = chromedp.Do(ctx3, chromedp.WaitVisible(chromedp.ID("download-link")))
	cancel3()
	if err != nil {
		t.Fatalf("the download link did not appear: %v", err)
	}
	if txt := get(t, ctx, chromedp.Text(chromedp.ID("download-link"))); !strings.HasSuffix(strings.TrimSpace(txt), ".jsonl.gz") {
		t.Fatalf("download link %q", txt)
	}
}

// TestScreenshotsNewPages saves the compare, re-run, export and keys pages
// at 1280 and 390 px (see shotsDir).
func TestScreenshotsNewPages(t *testing.T) {
	ctx := newChrome(t)
	e := newEnv(t)
	dir := shotsDir(t)
	orig, rr := aRerun(t, e)
	id := latestFailed(t, e, "support-demo")
	signInBrowser(t, ctx, e.url, bootstrapKey)
	// a finished export and re-run to show
	b := e.browser()
	csrf := b.signIn(bootstrapKey)
	_, _, h := b.post("/exports", url.Values{"csrf": {csrf}, "agent": {"support-bot"}, "format": {"json"}})
	job := h.Get("Location")
	_, _, h = b.post("/runs/"+id+"/rerun", url.Values{"csrf": {csrf}, "model": {"gpt-4o"}})
	wait := h.Get("Location")
	var reader struct {
		Secret string `json:"secret"`
	}
	e.api("POST", "/api/v1/keys", bootstrapKey, map[string]any{"name": "reader", "scopes": []string{"read"}}, &reader)
	pages := []struct{ name, path, wait string }{
		{"compare", "/compare?a=" + url.QueryEscape(orig) + "&b=" + url.QueryEscape(rr), "table.cmpsteps"},
		{"compare-top", "/compare?a=" + url.QueryEscape(orig) + "&b=" + url.QueryEscape(rr) + "#top", "table.cmphead"},
		{"compare-form", "/compare?a=" + url.QueryEscape(orig), "#cmp-b"},
		{"trace-actions", "/runs/" + rr, ".runactions"},
		{"rerun-form", "/runs/" + id + "/rerun", "#rerun-form"},
		{"rerun-409", "", "#rerun-error"},
		{"rerun-wait", wait, "#compare-link"},
		{"export-new", "/agents/support-bot", "#estimate"},
		{"export-job", job, "#download-link"},
		{"exports", "/exports", "table.exporttable"},
		{"keys", "/settings/keys", "table.keytable"},
		{"keys-created", "", "#new-key"},
	}
	for _, width := range []int64{1280, 390} {
		height := int64(900)
		if width < 500 {
			height = 844
		}
		do(t, ctx, "viewport", chromedp.EmulateViewport(width, height, chromedp.EmulateScale(1)))
		for _, p := range pages {
			switch p.name {
			case "export-new":
				do(t, ctx, p.name, chromedp.Navigate(e.url+p.path), chromedp.WaitVisible(chromedp.CSS("table.runtable")),
					chromedp.Click(chromedp.CSS(`button.action[data-path="/exports/new"]`)))
			case "rerun-409":
				do(t, ctx, p.name, chromedp.Navigate(e.url+"/agents/support-bot"), chromedp.WaitVisible(chromedp.CSS("table.runtable")),
					chromedp.Click(chromedp.CSS("tbody tr:nth-child(1) a.runlink")), chromedp.WaitVisible(chromedp.CSS(".runactions")),
					chromedp.Click(chromedp.CSS(`.runactions a[href$="/rerun"]`)), chromedp.WaitVisible(chromedp.ID("rerun-form")),
					chromedp.Click(chromedp.CSS(`#rerun-form button[type=submit]`)))
			case "keys-created":
				do(t, ctx, p.name, chromedp.Navigate(e.url+"/settings/keys"), chromedp.WaitVisible(chromedp.ID("key-name")),
					chromedp.SendKeys(chromedp.ID("key-name"), fmt.Sprintf("ci %d", width)), chromedp.Click(chromedp.CSS(`#key-create button[type=submit]`)))
			default:
				do(t, ctx, p.name, chromedp.Navigate(e.url+p.path))
			}
			ctx2, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := chromedp.Do(ctx2, chromedp.WaitVisible(chromedp.CSS(p.wait)), chromedp.Sleep(200*time.Millisecond))
			cancel()
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			shoot(t, ctx, dir, fmt.Sprintf("%s-%d", p.name, width))
		}
	}
	// a read-only session: the disabled Re-run button and the export message
	do(t, ctx, "sign out", chromedp.Navigate(e.url+"/"), chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.ID("key")))
	signInBrowser(t, ctx, e.url, reader.Secret)
	do(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900, chromedp.EmulateScale(1)))
	do(t, ctx, "reader trace", chromedp.Navigate(e.url+"/runs/"+id), chromedp.WaitVisible(chromedp.CSS(".runactions button[disabled]")))
	shoot(t, ctx, dir, "trace-readonly-1280")
	do(t, ctx, "reader export", chromedp.Navigate(e.url+"/exports/new"), chromedp.WaitVisible(chromedp.CSS(".errorpage")))
	shoot(t, ctx, dir, "export-readonly-1280")
}
