// The evaluation pass-rate chart of the usage page.

package web

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace/store"
)

type rateSeries struct {
	Name, Colour string
	Points       string // polyline points
	Dots         []chartRect
}

type rateRow struct {
	Time   string
	Values []string
}

// rateChart is the line chart of per-evaluator pass rates over time.
type rateChart struct {
	Empty   bool
	W, H    int
	Series  []rateSeries
	YLabels []chartLabel
	XLabels []chartLabel
	Grid    []float64
	Names   []string
	Rows    []rateRow
}

// evalRates builds the pass-rate chart for the usage page's range and
// query: nil when the account has no evaluators (or the store keeps none).
func (u *UI) evalRates(r *http.Request, opts store.UsageOptions) (*rateChart, error) {
	ev, ok := u.st.(store.Evals)
	if !ok {
		return nil, nil
	}
	acct := accountOf(r)
	evs, err := ev.ListEvaluators(r.Context(), acct)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	buckets, err := ev.EvalStats(r.Context(), acct, store.EvalStatsOptions{Query: opts.Query, Interval: opts.Interval, From: opts.From, To: opts.To})
	if err != nil {
		return nil, err
	}
	width := 24 * time.Hour
	if opts.Interval == "hour" {
		width = time.Hour
	}
	return buildRateChart(buckets, opts.From, opts.To, width), nil
}

func buildRateChart(buckets []store.EvalStatsBucket, fromT, toT time.Time, width time.Duration) *rateChart {
	c := &rateChart{W: 960, H: 260}
	// evaluators ordered by their number of verdicts
	totals := map[string]int64{}
	name := map[string]string{}
	for _, b := range buckets {
		totals[b.EvaluatorID] += b.Pass + b.Fail + b.Error
		name[b.EvaluatorID] = b.EvaluatorName
	}
	ids := make([]string, 0, len(totals))
	for id := range totals {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if totals[ids[i]] != totals[ids[j]] {
			return totals[ids[i]] > totals[ids[j]]
		}
		return name[ids[i]] < name[ids[j]]
	})
	if len(ids) > len(palette) {
		ids = ids[:len(palette)]
	}
	if len(ids) == 0 {
		c.Empty = true
		return c
	}
	from := fromT.UTC().Truncate(width)
	n := int(toT.Sub(from)/width) + 1
	n = max(1, min(n, 2000))
	idx := map[string]int{}
	for i, id := range ids {
		idx[id] = i
		c.Names = append(c.Names, name[id])
	}
	counts := make([][]store.EvalCount, n)
	for i := range counts {
		counts[i] = make([]store.EvalCount, len(ids))
	}
	for _, b := range buckets {
		i := int(b.Time.Sub(from) / width)
		k, ok := idx[b.EvaluatorID]
		if i < 0 || i >= n || !ok {
			continue
		}
		counts[i][k] = b.EvalCount
	}
	const left, right, topPad, bottom = 56.0, 8.0, 10.0, 28.0
	plotW, plotH := float64(c.W)-left-right, float64(c.H)-topPad-bottom
	slot := plotW / float64(n)
	for i := 0; i <= 4; i++ {
		y := topPad + plotH - plotH*float64(i)/4
		c.Grid = append(c.Grid, y)
		c.YLabels = append(c.YLabels, chartLabel{X: left - 6, Y: y + 4, Text: fmt.Sprintf("%d%%", i*25), Anchor: "end"})
	}
	labelEvery := max(1, n/8)
	c.Series = make([]rateSeries, len(ids))
	pts := make([][]string, len(ids))
	for k, id := range ids {
		c.Series[k].Name, c.Series[k].Colour = name[id], palette[k%len(palette)]
	}
	for i := range counts {
		t := from.Add(time.Duration(i) * width)
		label := t.Format("Jan 2")
		if width == time.Hour {
			label = t.Format("Jan 2 15h")
		}
		x := left + float64(i)*slot + slot/2
		if i%labelEvery == 0 {
			c.XLabels = append(c.XLabels, chartLabel{X: x, Y: float64(c.H) - 8, Text: label, Anchor: "middle"})
		}
		row := rateRow{Time: t.Format("2006-01-02 15:04")}
		has := false
		for k, cnt := range counts[i] {
			total := cnt.Pass + cnt.Fail + cnt.Error
			if total == 0 {
				row.Values = append(row.Values, "–")
				continue
			}
			has = true
			rate := float64(cnt.Pass) / float64(total)
			y := topPad + plotH - plotH*rate
			pts[k] = append(pts[k], fmt.Sprintf("%.1f,%.1f", x, y))
			row.Values = append(row.Values, fmt.Sprintf("%.1f%% (%d/%d)", 100*rate, cnt.Pass, total))
			c.Series[k].Dots = append(c.Series[k].Dots, chartRect{X: x, Y: y, Fill: c.Series[k].Colour,
				Title: fmt.Sprintf("%s · %s: %.1f%% pass (%d pass, %d fail, %d error)", label, name[ids[k]], 100*rate, cnt.Pass, cnt.Fail, cnt.Error)})
		}
		if has {
			c.Rows = append(c.Rows, row)
		}
	}
	for k := range ids {
		c.Series[k].Points = strings.Join(pts[k], " ")
	}
	slices.Reverse(c.Rows) // newest first in the table
	return c
}
