package web

import (
	"errors"
	"net/http"

	"go.uber.org/zap"
)

// listSessions answers GET /v1/sessions: the live operator sessions.
func (s *Site) listSessions(w http.ResponseWriter, r *http.Request) {
	if s.auth.sessions == nil {
		writeJSON(w, http.StatusOK, []Session{})
		return
	}
	list, err := s.auth.sessions.List(r.Context())
	if err != nil {
		s.p.Logger.Error("list sessions", zap.Error(err))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store unavailable; try again"})
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// revokeSession answers DELETE /v1/sessions/{id}: 204 ended on every
// worker, 404 no such session.
func (s *Site) revokeSession(w http.ResponseWriter, r *http.Request) {
	err := ErrNoSession
	if s.auth.sessions != nil {
		err = s.auth.sessions.Revoke(r.Context(), r.PathValue("id"))
	}
	switch {
	case err == nil:
		w.WriteHeader(http.StatusNoContent)
	case errors.Is(err, ErrNoSession):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such session"})
	default:
		s.p.Logger.Error("revoke a session", zap.Error(err))
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "store unavailable; try again"})
	}
}
