package web

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/store"
)

// palette colours the series of a chart (colour-blind friendly, Okabe–Ito-like).
var palette = []string{"#2563eb", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#8c6d1f", "#6b7280", "#0f766e", "#9333ea"}

const maxSeries = 8 // more groups fold into "other"

type chartRect struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

type chartLabel struct {
	X, Y   float64
	Text   string
	Anchor string
}

type legendItem struct{ Name, Colour string }

type chartRow struct {
	Time   string
	Values []string
	Total  string
}

type chart struct {
	Title   string
	Empty   bool
	W, H    int
	Rects   []chartRect
	YLabels []chartLabel
	XLabels []chartLabel
	Grid    []float64
	Legend  []legendItem
	Groups  []string
	Rows    []chartRow
	Total   string
}

type usageData struct {
	base
	Q        string
	Interval string
	GroupBy  string
	Err      *qError
	Charts   []chart
	Links    map[string]string
	From, To string
	// EvalRates: per-evaluator pass rates (web/evaluations.go); nil without evaluators.
	EvalRates *rateChart
}

func (u *UI) usagePage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	d := &usageData{base: base{Title: "Usage", Nav: "usage"}, Q: v.Get("q"), Interval: v.Get("interval"), GroupBy: v.Get("group_by")}
	if d.Interval == "" {
		d.Interval = "day"
	}
	if d.GroupBy == "" {
		d.GroupBy = "agent"
		q := r.URL.Query()
		q.Set("group_by", "agent")
		r.URL.RawQuery = q.Encode()
	}
	d.Links = map[string]string{}
	for _, iv := range []string{"hour", "day"} {
		d.Links["interval-"+iv] = usageURL(d.Q, iv, d.GroupBy)
	}
	for _, g := range []string{"agent", "model"} {
		d.Links["group-"+g] = usageURL(d.Q, d.Interval, g)
	}
	opts, err := api.UsageOptionsFrom(r, u.now())
	if err == nil && d.GroupBy != "agent" && d.GroupBy != "model" {
		err = agenttrace.Errorf(agenttrace.EINVALID, "group_by: %q is not agent or model", d.GroupBy)
	}
	var buckets []store.UsageBucket
	if err == nil {
		buckets, err = u.st.Usage(r.Context(), accountOf(r), opts)
	}
	if err != nil {
		if agenttrace.ErrorCode(err) == agenttrace.EINVALID {
			d.Err = toQError(err, d.Q)
			u.render(w, r, http.StatusBadRequest, "usage", d)
			return
		}
		u.serverError(w, r, err)
		return
	}
	d.From, d.To = opts.From.UTC().Format("2006-01-02 15:04"), opts.To.UTC().Format("2006-01-02 15:04 UTC")
	width := 24 * time.Hour
	if opts.Interval == "hour" {
		width = time.Hour
	}
	d.Charts = []chart{
		buildChart("Credits", buckets, opts, width, func(b store.UsageBucket) float64 { return b.Credits }, fmtCredits),
		buildChart("Runs", buckets, opts, width, func(b store.UsageBucket) float64 { return float64(b.Runs) }, fmtCount),
		buildChart("Failed runs", buckets, opts, width, func(b store.UsageBucket) float64 { return float64(b.FailedRuns) }, fmtCount),
	}
	if d.EvalRates, err = u.evalRates(r, opts); err != nil {
		u.serverError(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "usage", d)
}

func fmtCount(f float64) string { return fmtInt(int64(math.Round(f))) }

func usageURL(q, interval, group string) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	v.Set("interval", interval)
	v.Set("group_by", group)
	return "/usage?" + v.Encode()
}

// buildChart draws a stacked bar chart of one measure per bucket and group.
func buildChart(title string, buckets []store.UsageBucket, opts store.UsageOptions, width time.Duration,
	val func(store.UsageBucket) float64, format func(float64) string) chart {
	c := chart{Title: title, W: 960, H: 260}
	// groups ordered by their total, the smallest folded into "other"
	totals := map[string]float64{}
	for _, b := range buckets {
		totals[b.Group] += val(b)
	}
	groups := make([]string, 0, len(totals))
	for g := range totals {
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool {
		if totals[groups[i]] != totals[groups[j]] {
			return totals[groups[i]] > totals[groups[j]]
		}
		return groups[i] < groups[j]
	})
	fold := map[string]string{}
	if len(groups) > maxSeries {
		for _, g := range groups[maxSeries-1:] {
			fold[g] = "other"
		}
		groups = append(groups[:maxSeries-1:maxSeries-1], "other")
	}
	gi := map[string]int{}
	for i, g := range groups {
		gi[g] = i
		name := g
		if name == "" {
			name = "(none)"
		}
		c.Groups = append(c.Groups, name)
		c.Legend = append(c.Legend, legendItem{name, palette[i%len(palette)]})
	}
	from := opts.From.UTC().Truncate(width)
	n := int(opts.To.Sub(from)/width) + 1
	if n < 1 {
		n = 1
	}
	if n > 2000 {
		n = 2000
	}
	vals := make([][]float64, n)
	for i := range vals {
		vals[i] = make([]float64, len(groups))
	}
	var grand float64
	for _, b := range buckets {
		i := int(b.Time.Sub(from) / width)
		if i < 0 || i >= n {
			continue
		}
		g := b.Group
		if f, ok := fold[g]; ok {
			g = f
		}
		vals[i][gi[g]] += val(b)
		grand += val(b)
	}
	c.Total = format(grand)
	if grand == 0 {
		c.Empty = true
	}
	var top float64
	for _, row := range vals {
		var s float64
		for _, x := range row {
			s += x
		}
		top = math.Max(top, s)
	}
	top = niceCeil(top)
	const left, right, topPad, bottom = 56.0, 8.0, 10.0, 28.0
	plotW, plotH := float64(c.W)-left-right, float64(c.H)-topPad-bottom
	slot := plotW / float64(n)
	barW := math.Max(1, slot*0.78)
	for i := 0; i <= 4; i++ {
		y := topPad + plotH - plotH*float64(i)/4
		c.Grid = append(c.Grid, y)
		c.YLabels = append(c.YLabels, chartLabel{X: left - 6, Y: y + 4, Text: format(top * float64(i) / 4), Anchor: "end"})
	}
	labelEvery := max(1, n/8)
	for i, row := range vals {
		t := from.Add(time.Duration(i) * width)
		label := t.Format("Jan 2")
		if width == time.Hour {
			label = t.Format("Jan 2 15h")
		}
		x := left + float64(i)*slot + (slot-barW)/2
		y := topPad + plotH
		var total float64
		cells := make([]string, len(row))
		for g, v := range row {
			total += v
			cells[g] = format(v)
			if v <= 0 || top == 0 {
				continue
			}
			h := plotH * v / top
			y -= h
			c.Rects = append(c.Rects, chartRect{X: x, Y: y, W: barW, H: h, Fill: palette[g%len(palette)],
				Title: fmt.Sprintf("%s · %s: %s", label, c.Groups[g], format(v))})
		}
		if i%labelEvery == 0 {
			c.XLabels = append(c.XLabels, chartLabel{X: x + barW/2, Y: float64(c.H) - 8, Text: label, Anchor: "middle"})
		}
		c.Rows = append(c.Rows, chartRow{Time: t.Format("2006-01-02 15:04"), Values: cells, Total: format(total)})
	}
	// newest first in the table
	for i, j := 0, len(c.Rows)-1; i < j; i, j = i+1, j-1 {
		c.Rows[i], c.Rows[j] = c.Rows[j], c.Rows[i]
	}
	return c
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	exp := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*exp >= v {
			return m * exp
		}
	}
	return 10 * exp
}
