package eval

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestJudgeGuardRefusesInternalURLs(t *testing.T) {
	g := JudgeGuard{}
	for _, raw := range []string{"http://127.0.0.1:11434/v1", "http://localhost/v1", "http://api.localhost/v1", "http://169.254.169.254/latest",
		"http://[::1]:8080/v1", "http://10.1.2.3/v1", "http://192.168.0.10/v1", "http://100.64.0.1/v1", "http://0.0.0.0/v1", "http://[::ffff:127.0.0.1]/v1"} {
		u, _ := url.Parse(raw)
		err := g.CheckURL(u)
		if err == nil || !strings.Contains(err.Error(), "config.url") || !strings.Contains(err.Error(), "AGENTTRACE_JUDGE_ALLOW") {
			t.Errorf("%s: %v, want a refusal naming config.url and AGENTTRACE_JUDGE_ALLOW", raw, err)
		}
	}
	for _, raw := range []string{"https://api.openai.com/v1", "http://8.8.8.8/v1", "https://example.com:8443/v1"} {
		u, _ := url.Parse(raw)
		if err := g.CheckURL(u); err != nil {
			t.Errorf("%s: refused: %v", raw, err)
		}
	}
	allowed := map[string]JudgeGuard{
		"http://127.0.0.1:11434/v1": {Allow: []string{"127.0.0.1:11434"}},
		"http://localhost/v1":       {Allow: []string{"localhost"}},
		"http://10.1.2.3/v1":        {Allow: []string{"*"}},
	}
	for raw, g := range allowed {
		u, _ := url.Parse(raw)
		if err := g.CheckURL(u); err != nil {
			t.Errorf("%s with %v: refused: %v", raw, g.Allow, err)
		}
	}
	u, _ := url.Parse("http://127.0.0.1:9999/v1")
	if err := (JudgeGuard{Allow: []string{"127.0.0.1:11434"}}).CheckURL(u); err == nil {
		t.Error("an allowed host:port let another port through")
	}
}

// TestJudgeGuardChecksTheDialledAddress: the client refuses to connect to a
// loopback server (as a public name resolving inside would be), unless allowed.
func TestJudgeGuardChecksTheDialledAddress(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	defer ts.Close()
	_, err := (JudgeGuard{}).Client().Get(ts.URL)
	if err == nil || !strings.Contains(err.Error(), "internal address") {
		t.Fatalf("GET %s through the guard: %v, want a refusal", ts.URL, err)
	}
	resp, err := (JudgeGuard{Allow: []string{"127.0.0.1"}}).Client().Get(ts.URL)
	if err != nil {
		t.Fatalf("allowed host refused: %v", err)
	}
	resp.Body.Close()
}

// TestClipMakesStorableText: a reason is cut on a character boundary, and
// what PostgreSQL's text cannot hold (NUL, invalid UTF-8) becomes U+FFFD.
func TestClipMakesStorableText(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 9, "short"},
		{"judge\x00said", 20, "judge\uFFFDsaid"},
		{"bad\xffbyte", 20, "bad\uFFFDbyte"},
		{strings.Repeat("é", 10), 9, strings.Repeat("é", 4) + "…"}, // 9 bytes: cut before the 5th é
	}
	for _, c := range cases {
		if got := clip(c.in, c.n); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
