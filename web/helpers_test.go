// The test environment: a real server, and a browser-like client with a cookie jar.

package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/agenttrace/agenttrace/server"
)

const bootstrapKey = "at_test_web_bootstrap_key_0123456789"

type env struct {
	t   *testing.T
	url string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), BootstrapKey: bootstrapKey, Demo: true, JudgeAllow: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close(ctx)
	})
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := srv.WaitDemoAgent(wctx); err != nil {
		t.Fatalf("the demo agent's first run: %v", err)
	}
	return &env{t: t, url: ts.URL}
}

// api calls the JSON API with a bearer key.
func (e *env) api(method, path, key string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	if res.StatusCode >= 300 && out != nil {
		e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (int, string, http.Header) {
	b.e.t.Helper()
	res, err := b.c.Get(b.e.url + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Header
}

func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.e.t.Helper()
	res, err := b.c.PostForm(b.e.url+path, form)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Header
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", page)
	}
	return m[1]
}

// signIn signs the browser in with key and answers the CSRF token of its session.
func (b *browser) signIn(key string) string {
	t := b.e.t
	t.Helper()
	_, page, _ := b.get("/login")
	code, body, h := b.post("/login", url.Values{"csrf": {csrfOf(t, page)}, "key": {key}, "next": {"/"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/" {
		t.Fatalf("sign in: %d %s %s", code, h.Get("Location"), body)
	}
	_, home, _ := b.get("/")
	return csrfOf(t, home)
}

func mustContain(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Fatalf("page lacks %q:\n%.3000s", s, body)
		}
	}
}

func mustNotContain(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(body, s) {
			t.Fatalf("page contains %q", s)
		}
	}
}
