package compare

import (
	"net/http"

	"github.com/agenttrace/agenttrace"
	"github.com/agenttrace/agenttrace/api"
	"github.com/agenttrace/agenttrace/store"
)

// Register mounts GET /api/v1/compare?a=ID&b=ID (read scope): the Result as
// JSON, or as the terminal text with &format=text. A run of another account
// is a 404, like a missing one.
func Register(mux *http.ServeMux, srv *api.Server) {
	mux.Handle("GET /api/v1/compare", srv.Auth(agenttrace.ScopeRead, func(w http.ResponseWriter, r *http.Request) {
		res, err := Load(r, srv.Store)
		if err != nil {
			api.WriteError(w, r, err)
			return
		}
		switch r.URL.Query().Get("format") {
		case "", "json":
			api.WriteJSON(w, http.StatusOK, res)
		case "text":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_ = WriteText(w, res)
		default:
			api.WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "format: %q is not json or text", r.URL.Query().Get("format")))
		}
	}))
}

// Load reads the a and b parameters and compares those runs of the
// request's account (the web UI's compare page uses it too).
func Load(r *http.Request, st store.Traces) (Result, error) {
	k, _ := api.KeyFrom(r.Context())
	q := r.URL.Query()
	ida, idb := q.Get("a"), q.Get("b")
	if ida == "" || idb == "" {
		return Result{}, agenttrace.Errorf(agenttrace.EINVALID, "a and b: give two run ids (GET /api/v1/compare?a=RUN_ID&b=RUN_ID)")
	}
	ra, err := st.GetRun(r.Context(), k.AccountID, ida)
	if err != nil {
		return Result{}, paramErr("a", ida, err)
	}
	rb, err := st.GetRun(r.Context(), k.AccountID, idb)
	if err != nil {
		return Result{}, paramErr("b", idb, err)
	}
	return Runs(ra, rb), nil
}

func paramErr(param, id string, err error) error {
	if agenttrace.ErrorCode(err) == agenttrace.ENOTFOUND {
		return agenttrace.Errorf(agenttrace.ENOTFOUND, "%s: run %q not found", param, id)
	}
	return err
}
