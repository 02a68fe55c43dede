package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var secretRe = regexp.MustCompile(`<code id="new-secret" class="secret">([^<]+)</code>`)
var revokeRe = regexp.MustCompile(`<tr id="key-([^"]+)">\s*<td>ci reader`)

func TestKeysPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.signIn(bootstrapKey)
	code, page, _ := b.get("/settings/keys")
	if code != 200 {
		t.Fatalf("keys page: %d", code)
	}
	mustContain(t, page, bootstrapKey[:10], "this session", `name="scope" value="export"`)
	mustNotContain(t, page, bootstrapKey)
	// create without CSRF: rejected
	if code, _, _ := b.post("/settings/keys", url.Values{"name": {"x"}, "scope": {"read"}}); code != http.StatusForbidden {
		t.Fatalf("create without csrf: %d", code)
	}
	// no scope: the form says so
	code, page, _ = b.post("/settings/keys", url.Values{"csrf": {csrf}, "name": {"ci reader"}})
	if code != http.StatusBadRequest {
		t.Fatalf("no scopes: %d", code)
	}
	mustContain(t, page, "choose at least one")
	code, page, _ = b.post("/settings/keys", url.Values{"csrf": {csrf}, "name": {"ci reader"}, "scope": {"read", "export"}})
	if code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	m := secretRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no secret shown:\n%.3000s", page)
	}
	secret := m[1]
	mustContain(t, page, "shown only this once", "Copy")
	if got := e.api("GET", "/api/v1/runs?limit=1", secret, nil, &runList{}); got != 200 {
		t.Fatalf("the new key does not work: %d", got)
	}
	// never shown again
	_, page, _ = b.get("/settings/keys")
	mustNotContain(t, page, secret)
	mustContain(t, page, "ci reader", secret[:10])
	// revoke without CSRF: rejected
	id := revokeRe.FindStringSubmatch(page)
	if id == nil {
		t.Fatalf("no row for the new key:\n%s", page)
	}
	if code, _, _ := b.post("/settings/keys/"+id[1]+"/revoke", nil); code != http.StatusForbidden {
		t.Fatalf("revoke without csrf: %d", code)
	}
	code, _, h := b.post("/settings/keys/"+id[1]+"/revoke", url.Values{"csrf": {csrf}})
	if code != http.StatusSeeOther {
		t.Fatalf("revoke: %d", code)
	}
	_, page, _ = b.get(h.Get("Location"))
	mustContain(t, page, "Revoked key “ci reader”")
	if strings.Contains(page, `<tr id="key-`+id[1]+`"`) {
		t.Fatal("the revoked key is still listed")
	}
	if got := e.api("GET", "/api/v1/runs?limit=1", secret, nil, nil); got != http.StatusUnauthorized {
		t.Fatalf("the revoked key still works: %d", got)
	}
	// the session's own key cannot be revoked here
	var keys struct {
		Data []struct{ ID, Prefix string } `json:"data"`
	}
	e.api("GET", "/api/v1/keys", bootstrapKey, nil, &keys)
	own := ""
	for _, k := range keys.Data {
		if strings.HasPrefix(bootstrapKey, k.Prefix) {
			own = k.ID
		}
	}
	code, page, _ = b.post("/settings/keys/"+own+"/revoke", url.Values{"csrf": {csrf}})
	if code != http.StatusBadRequest {
		t.Fatalf("revoking the session's key: %d", code)
	}
	mustContain(t, page, "cannot revoke itself")
	// an unknown key is a 404
	if code, _, _ := b.post("/settings/keys/key_nope/revoke", url.Values{"csrf": {csrf}}); code != 404 {
		t.Fatalf("unknown key: %d", code)
	}
}

func TestKeysNeedAdmin(t *testing.T) {
	e := newEnv(t)
	var created struct {
		Secret string `json:"secret"`
	}
	e.api("POST", "/api/v1/keys", bootstrapKey, map[string]any{"name": "reader", "scopes": []string{"read", "export"}}, &created)
	b := e.browser()
	csrf := b.signIn(created.Secret)
	code, page, _ := b.get("/settings/keys")
	if code != http.StatusForbidden {
		t.Fatalf("keys page for a non-admin: %d", code)
	}
	mustContain(t, page, "needs an API key with the admin scope")
	if code, _, _ := b.post("/settings/keys", url.Values{"csrf": {csrf}, "name": {"x"}, "scope": {"admin"}}); code != http.StatusForbidden {
		t.Fatalf("create by a non-admin: %d", code)
	}
}
