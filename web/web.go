// Package web is the server-rendered web UI of agenttrace: sign-in with an
// API key, the All Traces dashboard, agents and their Traces tab, the trace
// page with its step timeline, and usage charts. Templates and static assets
// are embedded (html/template, a little vanilla JS, no build step, nothing
// loaded from the internet). server/web.go mounts it.
//
// Other parts of the server extend the UI through Actions (buttons above the
// run tables acting on the selected runs), RunActions (buttons on the trace
// page) and Pages (routes rendered inside the layout, listed in the nav);
// see docs/ui.md.
package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names.
const (
	SessionCookie = "agenttrace_session"
	loginCookie   = "agenttrace_login" // double-submit CSRF token of the sign-in form
)

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 7 * 24 * time.Hour

// Action is a button above the run tables that acts on the selected runs.
// Other packages append to Actions from an init function; the button shows
// only while between Min and Max runs are selected (Max 0: no upper bound).
type Action struct {
	Label  string
	Path   string // where the button leads, e.g. "/compare"
	Method string // "GET" (default): navigate to Path?…; "POST": submit a form carrying the CSRF token as "csrf"
	Min    int
	Max    int
	// IDParams names the parameters that carry the selected run ids, in
	// order (Compare: []string{"a", "b"}). Empty: every id is sent as "run".
	IDParams []string
	// WithQuery also sends the table's current query as "q".
	WithQuery bool
	// AgentOnly shows the action only on an agent's Traces tab (then "agent" carries its id).
	AgentOnly bool
}

// Actions are the selection actions of the run tables (All Traces and an
// agent's Traces tab). Compare, Evaluate and Export register here.
var Actions []Action

// RunAction is a button on the trace page (Re-run, Compare with…).
type RunAction struct {
	Label  string
	Method string // "GET" (default) or "POST" (a form with the CSRF token)
	// Path answers where the button leads for this run; "" hides it.
	Path func(run agenttrace.Run) string
	// Disabled (optional) answers why the button is disabled for this
	// request (shown as its tooltip); "" leaves it enabled.
	Disabled func(r *http.Request, run agenttrace.Run) string
}

// RunActions are the buttons of the trace page header.
var RunActions []RunAction

// Page is a route served inside the UI's layout, signed in. The handler
// finds the API key with api.KeyFrom(r.Context()) and renders with
// web.Render. Append to Pages from an init function (before the server
// mounts the UI).
type Page struct {
	Pattern string // e.g. "GET /compare"
	Nav     string // label in the top navigation; "" for none
	NavPath string // the link of the nav entry (default: the pattern's path)
	Handler http.HandlerFunc
}

// Pages are the extra pages of other packages.
var Pages []Page

// Config is what the UI needs.
type Config struct {
	API      *api.Server
	Store    store.Store
	Sessions store.Sessions
	Logger   *slog.Logger
	Now      func() time.Time
}

// UI serves the web interface.
type UI struct {
	api      *api.Server
	st       store.Store
	sessions store.Sessions
	agents   store.AgentIndex // optional
	log      *slog.Logger
	now      func() time.Time
	pages    map[string]*template.Template
}

// New parses the templates and returns the UI.
func New(cfg Config) (*UI, error) {
	u := &UI{api: cfg.API, st: cfg.Store, sessions: cfg.Sessions, log: cfg.Logger, now: cfg.Now}
	if u.sessions == nil {
		if ss, ok := cfg.Store.(store.Sessions); ok {
			u.sessions = ss
		} else {
			return nil, agenttrace.Errorf(agenttrace.EINTERNAL, "web: the store does not keep sessions")
		}
	}
	u.agents, _ = cfg.Store.(store.AgentIndex)
	if u.log == nil {
		u.log = slog.Default()
	}
	if u.now == nil {
		u.now = time.Now
	}
	var err error
	if u.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	return u, nil
}

var layoutTemplates *template.Template

func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, err
	}
	layoutTemplates = template.Must(base.Clone())
	template.Must(layoutTemplates.New("content").Parse(`{{.Body}}`))
	names, _ := fs.Glob(templateFS, "templates/*.html")
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// Register mounts the UI's routes on mux.
func (u *UI) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /login", u.loginPage)
	mux.HandleFunc("POST /login", u.login)
	mux.Handle("POST /logout", u.auth(u.logout))
	mux.Handle("GET /{$}", u.auth(u.allTraces))
	mux.Handle("GET /agents", u.auth(u.agentsPage))
	mux.Handle("GET /agents/{id}", u.auth(u.agentPage))
	mux.Handle("GET /runs/{id}", u.auth(u.runPage))
	mux.Handle("GET /runs/{id}/raw", u.auth(u.raw))
	mux.Handle("GET /runs/{id}/steps/{step}/raw", u.auth(u.raw))
	mux.Handle("GET /usage", u.auth(u.usagePage))
	for _, p := range Pages {
		mux.Handle(p.Pattern, u.auth(p.Handler))
	}
	// Everything else that no other part claims is a 404 page.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		u.notFound(w, r, "There is no page at "+r.URL.Path+".")
	})
}

type ctxKey int

const (
	csrfKey ctxKey = iota
	uiKey
)

// CSRFToken is the token forms of the signed-in request must carry as "csrf".
func CSRFToken(r *http.Request) string {
	s, _ := r.Context().Value(csrfKey).(string)
	return s
}

func csrfFor(token string) string {
	sum := sha256.Sum256([]byte("agenttrace-csrf\x00" + token))
	return hex.EncodeToString(sum[:16])
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}

// auth signs the request in from its session cookie (else redirects to
// /login), checks the CSRF token of unsafe methods, and runs h with the
// session's API key in the context (api.KeyFrom).
func (u *UI) auth(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w)
		c, err := r.Cookie(SessionCookie)
		var key agenttrace.APIKey
		if err == nil && c.Value != "" {
			_, key, err = u.sessions.SessionByHash(r.Context(), agenttrace.HashSecret(c.Value), u.now())
			if err == nil {
				u.api.TouchKey(r.Context(), &key)
				err = api.RequireScope(key, agenttrace.ScopeRead)
			}
		} else {
			err = agenttrace.Errorf(agenttrace.EUNAUTHORIZED, "not signed in")
		}
		if err != nil {
			if code := agenttrace.ErrorCode(err); code == agenttrace.EINTERNAL {
				u.serverError(w, r, err)
				return
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				u.errorPage(w, r, http.StatusUnauthorized, "Signed out", "Your session ended. Sign in again.")
				return
			}
			next := r.URL.RequestURI()
			target := "/login"
			if next != "/" {
				target += "?next=" + url.QueryEscape(next)
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		csrf := csrfFor(c.Value)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sameToken(r.PostFormValue("csrf"), csrf) {
				u.errorPage(w, r, http.StatusForbidden, "Forbidden", "The form was missing its CSRF token or it was stale. Go back, reload the page and try again.")
				return
			}
		}
		ctx := api.WithKey(r.Context(), key)
		ctx = context.WithValue(ctx, csrfKey, csrf)
		ctx = context.WithValue(ctx, uiKey, u)
		h(w, r.WithContext(ctx))
	})
}

// secure reports whether the browser reached us over HTTPS: directly, or
// through a TLS-terminating proxy that says so in X-Forwarded-Proto. Trusting
// the header is safe here: a forged "https" only makes the cookies stricter.
func secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

type loginData struct {
	base
	Next  string
	Error string
	Token string
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	u.renderLogin(w, r, http.StatusOK, "")
}

func (u *UI) renderLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok := ""
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 32 {
		tok = c.Value
	} else {
		tok = randomToken()
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: secure(r), MaxAge: 3600})
	}
	d := loginData{base: base{Title: "Sign in"}, Next: safeNext(r.FormValue("next")), Error: msg, Token: tok}
	u.render(w, r, status, "login", &d)
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), c.Value) {
		u.errorPage(w, r, http.StatusForbidden, "Forbidden", "The sign-in form was missing its CSRF token or it was stale. Reload the sign-in page and try again.")
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("key"))
	if secret == "" {
		u.renderLogin(w, r, http.StatusUnauthorized, "Paste an API key with the read scope.")
		return
	}
	key, err := u.api.KeyForSecret(r.Context(), secret)
	if err == nil {
		err = api.RequireScope(key, agenttrace.ScopeRead)
	}
	if err != nil {
		if agenttrace.ErrorCode(err) == agenttrace.EINTERNAL {
			u.serverError(w, r, err)
			return
		}
		status := http.StatusUnauthorized
		msg := "That API key is unknown or was revoked."
		if agenttrace.ErrorCode(err) == agenttrace.EFORBIDDEN {
			status, msg = http.StatusForbidden, "That API key lacks the read scope; sign in with a key that has read (or admin)."
		}
		u.renderLogin(w, r, status, msg)
		return
	}
	token := randomToken()
	now := u.now().UTC()
	if err := u.sessions.CreateSession(r.Context(), store.Session{TokenHash: agenttrace.HashSecret(token), AccountID: key.AccountID,
		KeyID: key.ID, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}); err != nil {
		u.serverError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: secure(r), MaxAge: int(SessionTTL / time.Second)})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r)})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := u.sessions.DeleteSession(r.Context(), agenttrace.HashSecret(c.Value)); err != nil {
			u.serverError(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r)})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
