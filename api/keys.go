package api

import (
	"net/http"

	"github.com/agenttrace/agenttrace"
)

// NewKey creates and stores a key for the account, answering it with its
// secret (which is never stored and cannot be shown again).
func NewKey(r *http.Request, s *Server, accountID, name string, scopes []agenttrace.Scope, serverAdmin bool) (agenttrace.APIKey, string, error) {
	secret := agenttrace.NewSecret()
	k := agenttrace.APIKey{
		ID: agenttrace.NewID("key_"), AccountID: accountID, Name: name, Prefix: agenttrace.SecretPrefix(secret),
		Hash: agenttrace.HashSecret(secret), Scopes: scopes, ServerAdmin: serverAdmin, CreatedAt: s.Now().UTC(),
	}
	return k, secret, s.Store.CreateAPIKey(r.Context(), k)
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request) {
	caller, _ := KeyFrom(r.Context())
	if !caller.ServerAdmin {
		WriteError(w, r, agenttrace.Errorf(agenttrace.EFORBIDDEN, "only the server admin key (the bootstrap key) may create accounts"))
		return
	}
	var in struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := DecodeJSON(w, r, 1<<16, &in); err != nil {
		WriteError(w, r, err)
		return
	}
	if in.ID == "" {
		in.ID = agenttrace.NewID("acct_")
	}
	if err := agenttrace.CheckAgentID("id", in.ID); err != nil {
		WriteError(w, r, err)
		return
	}
	if in.Name == "" {
		in.Name = in.ID
	}
	if err := agenttrace.CheckText("name", in.Name, agenttrace.MaxNameLen); err != nil {
		WriteError(w, r, err)
		return
	}
	a := agenttrace.Account{ID: in.ID, Name: in.Name, CreatedAt: s.Now().UTC()}
	if err := s.Store.CreateAccount(r.Context(), a); err != nil {
		WriteError(w, r, err)
		return
	}
	k, secret, err := NewKey(r, s, a.ID, "admin", []agenttrace.Scope{agenttrace.ScopeAdmin}, false)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, map[string]any{"account": a, "admin_key": secret, "key": k})
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.Store.ListAPIKeys(r.Context(), account(r))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"data": keys, "next_cursor": ""})
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	if err := DecodeJSON(w, r, 1<<16, &in); err != nil {
		WriteError(w, r, err)
		return
	}
	if err := agenttrace.CheckText("name", in.Name, agenttrace.MaxNameLen); err != nil {
		WriteError(w, r, err)
		return
	}
	if len(in.Scopes) == 0 {
		WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "scopes: required (any of ingest, read, export, admin)"))
		return
	}
	var scopes []agenttrace.Scope
	for _, sc := range in.Scopes {
		p, err := agenttrace.ParseScope(sc)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		scopes = append(scopes, p)
	}
	k, secret, err := NewKey(r, s, account(r), in.Name, scopes, false)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, map[string]any{"key": k, "secret": secret})
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) {
	caller, _ := KeyFrom(r.Context())
	id := r.PathValue("id")
	if id == caller.ID {
		WriteError(w, r, agenttrace.Errorf(agenttrace.EINVALID, "id: a key cannot revoke itself; use another admin key"))
		return
	}
	if err := s.Store.DeleteAPIKey(r.Context(), account(r), id); err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
