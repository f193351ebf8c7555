package sandbox

import (
	"net/http"
)

// serveSMS answers GET /sandbox/sms[?phone=86-…]: the SMS sent, oldest
// first.
func (s *Server) serveSMS(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.SMS(r.URL.Query().Get("phone")))
}

// serveStats answers GET /sandbox/stats: the counters.
func (s *Server) serveStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}
