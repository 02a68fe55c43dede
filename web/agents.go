package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/agenttrace/agenttrace"
)

type agentRow struct {
	agenttrace.AgentSummary
	Spark sparkline
}

type sparkline struct {
	Points string // polyline points
	Area   string // polygon points (filled)
	W, H   int
	Max    int64
	Total  int64
}

func makeSparkline(days []int64) sparkline {
	s := sparkline{W: 112, H: 28}
	for _, n := range days {
		s.Max = max(s.Max, n)
		s.Total += n
	}
	if len(days) < 2 {
		return s
	}
	var pts []string
	step := float64(s.W-2) / float64(len(days)-1)
	for i, n := range days {
		y := float64(s.H - 2)
		if s.Max > 0 {
			y = float64(s.H-2) - float64(n)/float64(s.Max)*float64(s.H-4)
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", 1+float64(i)*step, y))
	}
	s.Points = strings.Join(pts, " ")
	s.Area = fmt.Sprintf("1,%d %s %.1f,%d", s.H-1, s.Points, 1+float64(len(days)-1)*step, s.H-1)
	return s
}

type agentsData struct {
	base
	Agents []agentRow
	Curl   string
}

func (u *UI) agentsPage(w http.ResponseWriter, r *http.Request) {
	list, err := u.st.ListAgents(r.Context(), accountOf(r))
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	d := &agentsData{base: base{Title: "Agents", Nav: "agents"}, Curl: curlExample(r)}
	for _, a := range list {
		d.Agents = append(d.Agents, agentRow{AgentSummary: a, Spark: makeSparkline(a.DailyRuns)})
	}
	u.render(w, r, http.StatusOK, "agents", d)
}

type agentData struct {
	base
	Agent agentRow
	Table runTable
}

func (u *UI) agentPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	path := agentURL(id)
	if redirectFilters(w, r, path) {
		return
	}
	a, err := u.st.GetAgent(r.Context(), accountOf(r), id)
	if err != nil {
		u.storeError(w, r, err, "agent")
		return
	}
	t, status, err := u.loadTable(r, path, id)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	title := a.Name
	if title == "" {
		title = a.ID
	}
	u.render(w, r, status, "agent", &agentData{base: base{Title: title, Nav: "agents"},
		Agent: agentRow{AgentSummary: a, Spark: makeSparkline(a.DailyRuns)}, Table: t})
}
