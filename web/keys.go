package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
)

// API keys (/settings/keys, admin scope): list, create (the secret shown
// once), revoke.
func init() {
	Pages = append(Pages,
		Page{Pattern: "GET /settings/keys", Nav: "API keys", Handler: withUI((*UI).keysPage)},
		Page{Pattern: "POST /settings/keys", Handler: withUI((*UI).keysCreate)},
		Page{Pattern: "POST /settings/keys/{id}/revoke", Handler: withUI((*UI).keysRevoke)},
	)
}

const keysScopeMsg = "Managing API keys needs an API key with the admin scope; this session's key does not have it. Sign in with an admin key."

type keyView struct {
	agenttrace.APIKey
	Current bool
}

type keysData struct {
	base
	Keys      []keyView
	AllScopes []agenttrace.Scope
	Name      string
	Scopes    []agenttrace.Scope // checked in the create form
	Created   *agenttrace.APIKey
	Secret    string
	Error     string
	Revoked   string
}

func (d *keysData) Checked(s agenttrace.Scope) bool { return slices.Contains(d.Scopes, s) }

func (u *UI) keysGate(w http.ResponseWriter, r *http.Request) bool {
	if !keyOf(r).Has(agenttrace.ScopeAdmin) {
		u.errorPage(w, r, http.StatusForbidden, "API keys need the admin scope", keysScopeMsg)
		return false
	}
	return true
}

func (u *UI) renderKeys(w http.ResponseWriter, r *http.Request, status int, d *keysData) {
	k := keyOf(r)
	keys, err := u.st.ListAPIKeys(r.Context(), k.AccountID)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	d.Title, d.Nav, d.AllScopes = "API keys", "/settings/keys", agenttrace.AllScopes
	d.Keys = d.Keys[:0]
	for _, x := range keys {
		d.Keys = append(d.Keys, keyView{APIKey: x, Current: x.ID == k.ID})
	}
	u.render(w, r, status, "keys", d)
}

func (u *UI) keysPage(w http.ResponseWriter, r *http.Request) {
	if !u.keysGate(w, r) {
		return
	}
	u.renderKeys(w, r, http.StatusOK, &keysData{Scopes: []agenttrace.Scope{agenttrace.ScopeRead}, Revoked: r.URL.Query().Get("revoked")})
}

func (u *UI) keysCreate(w http.ResponseWriter, r *http.Request) {
	if !u.keysGate(w, r) {
		return
	}
	d := &keysData{Name: strings.TrimSpace(r.PostFormValue("name"))}
	_ = r.ParseForm()
	for _, s := range r.PostForm["scope"] {
		sc, err := agenttrace.ParseScope(s)
		if err != nil {
			d.Error = agenttrace.ErrorMessage(err)
			break
		}
		if !slices.Contains(d.Scopes, sc) {
			d.Scopes = append(d.Scopes, sc)
		}
	}
	switch {
	case d.Error != "":
	case d.Name == "":
		d.Error = "name: give the key a name that says who or what uses it (e.g. \"support-bot ingest\")."
	case len(d.Name) > agenttrace.MaxNameLen:
		d.Error = "name: too long (the limit is " + fmtInt(int64(agenttrace.MaxNameLen)) + " bytes)."
	case len(d.Scopes) == 0:
		d.Error = "scopes: choose at least one."
	default:
		if err := agenttrace.CheckText("name", d.Name, agenttrace.MaxNameLen); err != nil {
			d.Error = agenttrace.ErrorMessage(err) + "."
		}
	}
	if d.Error != "" {
		u.renderKeys(w, r, http.StatusBadRequest, d)
		return
	}
	k, secret, err := api.NewKey(r, u.api, keyOf(r).AccountID, d.Name, d.Scopes, false)
	if err != nil {
		u.storeError(w, r, err, "key")
		return
	}
	d.Created, d.Secret = &k, secret
	d.Name, d.Scopes = "", []agenttrace.Scope{agenttrace.ScopeRead}
	u.renderKeys(w, r, http.StatusCreated, d)
}

func (u *UI) keysRevoke(w http.ResponseWriter, r *http.Request) {
	if !u.keysGate(w, r) {
		return
	}
	k := keyOf(r)
	id := r.PathValue("id")
	if id == k.ID {
		u.renderKeys(w, r, http.StatusBadRequest, &keysData{Scopes: []agenttrace.Scope{agenttrace.ScopeRead},
			Error: "This is the key your session signed in with; a key cannot revoke itself. Sign in with another admin key to revoke it."})
		return
	}
	keys, err := u.st.ListAPIKeys(r.Context(), k.AccountID)
	if err != nil {
		u.serverError(w, r, err)
		return
	}
	name := ""
	if i := slices.IndexFunc(keys, func(x agenttrace.APIKey) bool { return x.ID == id }); i >= 0 {
		name = keys[i].Name
		if name == "" {
			name = keys[i].Prefix + "…"
		}
	}
	if err := u.st.DeleteAPIKey(r.Context(), k.AccountID, id); err != nil {
		u.storeError(w, r, err, "API key")
		return
	}
	if name == "" {
		name = id
	}
	http.Redirect(w, r, "/settings/keys?revoked="+url.QueryEscape(name), http.StatusSeeOther)
}
