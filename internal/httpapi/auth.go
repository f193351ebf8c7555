package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Bearer reports whether r carries token in its Authorization header as a
// bearer token. Always false for an empty token.
func Bearer(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	// Hashing both sides makes the comparison constant-time in the token's
	// length too.
	got, want := sha256.Sum256([]byte(strings.TrimSpace(given))), sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// RequireToken guards h the way /v1/ is guarded, for routes mounted from
// outside the API: 503 when token is empty, 401 when the bearer token is
// missing or wrong.
func RequireToken(token string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			writeError(w, http.StatusServiceUnavailable, "the API is disabled: set ONBOARD_CALLBACK_TOKEN on the worker")
			return
		}
		if !Bearer(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rdonboard"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		h.ServeHTTP(w, r)
	})
}
