package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// BearerToken returns the credentials of r's Authorization header when
// its scheme is Bearer (in any case, as RFC 9110 has schemes).
func BearerToken(r *http.Request) (string, bool) {
	scheme, given, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(given), true
}

// TokenMatches reports whether given is token. Always false for an empty
// token.
func TokenMatches(given, token string) bool {
	if token == "" {
		return false
	}
	// Hashing both sides makes the comparison constant-time in the token's
	// length too.
	got, want := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// Bearer reports whether r carries token in its Authorization header as a
// bearer token. Always false for an empty token.
func Bearer(r *http.Request, token string) bool {
	given, ok := BearerToken(r)
	return ok && TokenMatches(given, token)
}

// RequireToken guards h with the bearer token alone, counting nothing: 503
// when token is empty, 401 when the bearer token is missing or wrong. The
// worker guards /v1/ with the web site's guard instead (Params.Guard),
// which also refuses an address that sent too many wrong tokens.
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
