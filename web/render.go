package web

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
)

// base is what the layout needs; every page's data embeds it.
type base struct {
	Title    string
	Nav      string // the active top-level section
	Account  string
	KeyName  string
	CSRF     string
	SignedIn bool
	NavPages []navLink
}

type navLink struct{ Label, Path string }

func (b *base) basePtr() *base { return b }

type pageData interface{ basePtr() *base }

func (u *UI) fill(r *http.Request, d pageData) {
	b := d.basePtr()
	if k, ok := api.KeyFrom(r.Context()); ok {
		b.SignedIn = true
		b.Account = k.AccountID
		b.KeyName = k.Name
		if b.KeyName == "" {
			b.KeyName = k.Prefix + "…"
		}
	}
	b.CSRF = CSRFToken(r)
	for _, p := range Pages {
		if p.Nav == "" {
			continue
		}
		path := p.NavPath
		if path == "" {
			path = patternPath(p.Pattern)
		}
		b.NavPages = append(b.NavPages, navLink{p.Nav, path})
	}
}

func patternPath(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			return p[i:]
		}
	}
	return p
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	u.fill(r, d)
	t := u.pages[name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		u.log.Error("render", "page", name, "err", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type extPage struct {
	base
	Body template.HTML
}

// Render writes a page of another package inside the UI's layout: body is
// HTML that package rendered itself with html/template (never raw user data).
func Render(w http.ResponseWriter, r *http.Request, status int, title, nav string, body template.HTML) {
	d := &extPage{base: base{Title: title, Nav: nav}, Body: body}
	(&UI{}).fillExt(r, d)
	var buf bytes.Buffer
	if err := layoutTemplates.ExecuteTemplate(&buf, "layout", d); err != nil {
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	setSecurityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (u *UI) fillExt(r *http.Request, d pageData) { u.fill(r, d) }

type errorData struct {
	base
	Status  int
	Heading string
	Message string
}

func (u *UI) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	u.render(w, r, status, "error", &errorData{base: base{Title: heading}, Status: status, Heading: heading, Message: msg})
}

func (u *UI) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	setSecurityHeaders(w)
	u.errorPage(w, r, http.StatusNotFound, "Not found", msg)
}

func (u *UI) serverError(w http.ResponseWriter, r *http.Request, err error) {
	u.log.Error("web: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	u.errorPage(w, r, http.StatusInternalServerError, "Something went wrong", "Internal error. The server log has the details; try again.")
}

// storeError renders the page for a store error: 404 for ENOTFOUND (another
// account's objects included), the message for invalid input, else 500.
func (u *UI) storeError(w http.ResponseWriter, r *http.Request, err error, what string) {
	switch agenttrace.ErrorCode(err) {
	case agenttrace.ENOTFOUND:
		u.notFound(w, r, "No "+what+" with this id in your account.")
	case agenttrace.EINTERNAL:
		u.serverError(w, r, err)
	default:
		u.errorPage(w, r, api.StatusOf(agenttrace.ErrorCode(err)), "Cannot show this page", agenttrace.ErrorMessage(err))
	}
}
