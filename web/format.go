package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
)

var funcs = template.FuncMap{
	"dur":         fmtDuration,
	"credits":     fmtCredits,
	"num":         fmtInt,
	"when":        fmtTime,
	"iso":         isoTime,
	"ago":         agoTime,
	"pct":         fmtPct,
	"statusClass": func(s agenttrace.Status) string { return "st-" + string(s) },
	"verdictClass": func(v string) string {
		switch v {
		case "pass", "fail":
			return "v-" + v
		}
		return "v-other"
	},
	"add":      func(a, b int) int { return a + b },
	"runURL":   runURL,
	"agentURL": agentURL,
	"stepRaw": func(runID, stepID, field string) string {
		return runURL(runID) + "/steps/" + url.PathEscape(stepID) + "/raw?field=" + field
	},
	"runRaw":   func(runID, field string) string { return runURL(runID) + "/raw?field=" + field },
	"pl":       func(p payload, label, raw string) payloadRef { return payloadRef{P: p, Label: label, Raw: raw} },
	"deref":    func(f *float64) float64 { return *f },
	"tp":       func(t time.Time) *time.Time { return &t },
	"queryURL": func(q string) string { return "/?q=" + url.QueryEscape(q) },
}

type payloadRef struct {
	P          payload
	Label, Raw string
}

func runURL(id string) string   { return "/runs/" + url.PathEscape(id) }
func agentURL(id string) string { return "/agents/" + url.PathEscape(id) }

func fmtDuration(ms float64) string {
	switch {
	case ms <= 0:
		return "–"
	case ms < 1:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	case ms < 60_000:
		return fmt.Sprintf("%.2f s", ms/1000)
	case ms < 3_600_000:
		m := int(ms / 60_000)
		return fmt.Sprintf("%dm %02ds", m, int(ms/1000)%60)
	}
	h := int(ms / 3_600_000)
	return fmt.Sprintf("%dh %02dm", h, int(ms/60_000)%60)
}

func fmtCredits(c float64) string {
	switch {
	case c == 0:
		return "0"
	case math.Abs(c) < 0.0001:
		return "<0.0001"
	case math.Abs(c) < 1:
		return strconv.FormatFloat(c, 'f', 4, 64)
	case math.Abs(c) < 1000:
		return strconv.FormatFloat(c, 'f', 2, 64)
	}
	return fmtInt(int64(math.Round(c)))
}

func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtPct(part, whole int64) string {
	if whole == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func isoTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

var nowFunc = time.Now

func agoTime(t *time.Time) string {
	if t == nil {
		return "–"
	}
	d := nowFunc().Sub(*t)
	switch {
	case d < 0:
		return t.UTC().Format("Jan 2 15:04")
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	case d < 7*24*time.Hour:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
	return t.UTC().Format("Jan 2 15:04")
}

// payload is a JSON value prepared for reading.
type payload struct {
	Present bool
	Text    string // pretty-printed JSON, or the string itself for a JSON string
	IsText  bool   // a JSON string shown as text
	Bytes   int    // size of the stored payload
	Lines   int
	Long    bool // folded behind <details>
	Cut     bool // Text is a prefix; the raw link has the rest
	Size    string
	Lazy    bool // folded, loaded from the raw link when opened
}

const (
	foldChars  = 1200
	foldLines  = 24
	shownLimit = 64 << 10
)

func makePayload(raw json.RawMessage, lazy bool) payload {
	if len(raw) == 0 {
		return payload{}
	}
	p := payload{Present: true, Bytes: len(raw), Size: fmtBytes(len(raw))}
	if lazy {
		p.Lazy, p.Long = true, true
		return p
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		p.Text, p.IsText = s, true
	} else {
		var buf bytes.Buffer
		if len(raw) <= 4*shownLimit && json.Indent(&buf, raw, "", "  ") == nil {
			p.Text = buf.String()
		} else {
			p.Text = string(raw)
		}
	}
	if len(p.Text) > shownLimit {
		cut := shownLimit
		for cut > 0 && !utf8Start(p.Text[cut]) {
			cut--
		}
		p.Text, p.Cut = p.Text[:cut], true
	}
	p.Lines = strings.Count(p.Text, "\n") + 1
	p.Long = len(p.Text) > foldChars || p.Lines > foldLines
	return p
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func fmtBytes(n int) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

func metadataPayload(md map[string]any, lazy bool) payload {
	if len(md) == 0 {
		return payload{}
	}
	b, err := json.Marshal(md)
	if err != nil {
		return payload{}
	}
	return makePayload(b, lazy)
}
