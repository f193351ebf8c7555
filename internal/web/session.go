package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/httpapi"
)

// SessionCookie is the name of the operator's session cookie.
const SessionCookie = "rdonboard_session"

// SessionTTL is how long a login lasts.
const SessionTTL = 12 * time.Hour

// auth lets operators in: the callback token as a bearer header (scripts),
// or a session cookie set by the login form (browsers). Every token a
// client sends, at the form or as a bearer header, counts against its
// address before it is compared (lockout); sessions live in Redis
// (sessions), so logging out ends one on every worker.
type auth struct {
	token    string
	lockout  *lockout
	sessions *sessions
	logger   *zap.Logger
	// onCompare, when set (tests), is called at each token comparison.
	onCompare func()
}

// checkToken compares given, a token a client sent, with the callback
// token, holding one of the address's tries while it does. A refused
// address gets a wait and no comparison; a right token's try is handed
// back, a wrong one's stays counted.
func (a *auth) checkToken(ctx context.Context, r *http.Request, given string) (ok bool, wait time.Duration) {
	t, wait := a.lockout.take(ctx, r)
	if wait > 0 {
		return false, wait
	}
	if a.onCompare != nil {
		a.onCompare()
	}
	ok = httpapi.TokenMatches(given, a.token)
	t.settle(ctx, ok)
	return ok, 0
}

// hasSession reports whether r carries the cookie of a live session.
func (a *auth) hasSession(r *http.Request) (bool, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return false, nil
	}
	return a.sessions.valid(r.Context(), c.Value)
}

// guard lets operators through to h: 503 without a configured token; a
// browser without a session is sent to the login form, any other request
// without a credential gets 401; a bearer token is checked as checkToken
// does (401 wrong, 429 address refused).
func (a *auth) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.disabled(w, r, "the dashboard") {
			return
		}
		ok, err := a.hasSession(r)
		switch {
		case err != nil:
			a.logger.Error("read a session", zap.Error(err))
			deny(w, r, http.StatusServiceUnavailable, "sessions cannot be read right now; try again")
		case ok:
			h.ServeHTTP(w, r)
		case hasBearer(r):
			a.requireToken(h).ServeHTTP(w, r)
		case r.Method == http.MethodGet && wantsHTML(r):
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="rdonboard"`)
			deny(w, r, http.StatusUnauthorized, "log in at /login, or send the bearer token")
		}
	})
}

// disabled answers 503, naming what is disabled, when no token is
// configured, and reports whether it did.
func (a *auth) disabled(w http.ResponseWriter, r *http.Request, what string) bool {
	if a.token != "" {
		return false
	}
	deny(w, r, http.StatusServiceUnavailable, what+" is disabled: set ONBOARD_CALLBACK_TOKEN on the worker")
	return true
}

func hasBearer(r *http.Request) bool {
	_, ok := httpapi.BearerToken(r)
	return ok
}

// requireToken guards h with the bearer token alone: 503 without a
// configured token, 401 missing or wrong, 429 with Retry-After while the
// address is refused.
func (a *auth) requireToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.disabled(w, r, "the API") {
			return
		}
		given, sent := httpapi.BearerToken(r)
		ok, wait := false, time.Duration(0)
		if sent {
			ok, wait = a.checkToken(r.Context(), r, given)
		}
		switch {
		case ok:
			h.ServeHTTP(w, r)
		case wait > 0:
			w.Header().Set("Retry-After", retryAfter(wait))
			deny(w, r, http.StatusTooManyRequests, "too many wrong tokens from this address; try again in "+minutes(wait))
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="rdonboard"`)
			deny(w, r, http.StatusUnauthorized, "missing or wrong bearer token")
		}
	})
}

// RequireToken guards h the way /v1/ is guarded: the bearer token, wrong
// ones counted per address (TokenLimit). For the API's and /metrics'
// routes.
func (s *Site) RequireToken(h http.Handler) http.Handler { return s.auth.requireToken(h) }

func wantsHTML(r *http.Request) bool { return strings.Contains(r.Header.Get("Accept"), "text/html") }

// deny answers an error as JSON, or as plain text to a browser.
func deny(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsHTML(r) {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// loginView is what the login form shows.
type loginView struct {
	Next    string
	Message string
	Refresh int
}

func (s *Site) loginForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

// login checks the token from the form and starts a session.
func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	a := s.auth
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	next := safeNext(r.PostFormValue("next"))
	view := func(code int, msg string) { s.render(w, code, "login", loginView{Next: next, Message: msg}) }
	switch {
	case a.token == "":
		view(http.StatusServiceUnavailable, "Login is disabled: set ONBOARD_CALLBACK_TOKEN on the worker.")
		return
	case a.sessions == nil:
		view(http.StatusServiceUnavailable, "Login needs Redis for its sessions; use the bearer token.")
		return
	case s.crossOrigin.Check(r) != nil:
		view(http.StatusForbidden, "This form was sent from another site. Open /login on this site and try again.")
		return
	}
	ok, wait := a.checkToken(r.Context(), r, strings.TrimSpace(r.PostFormValue("token")))
	switch {
	case wait > 0:
		w.Header().Set("Retry-After", retryAfter(wait))
		view(http.StatusTooManyRequests, "Too many wrong tokens from this address. Try again in "+minutes(wait)+".")
		return
	case !ok:
		view(http.StatusUnauthorized, "That is not the token. Try again.")
		return
	}
	value, err := a.sessions.create(r.Context(), clientAddr(r), r.UserAgent())
	if err != nil {
		s.p.Logger.Error("start a session", zap.Error(err))
		view(http.StatusServiceUnavailable, "Cannot log in right now. Try again.")
		return
	}
	http.SetCookie(w, a.cookie(r, value, int(SessionTTL.Seconds())))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session on every worker and clears the cookie.
func (s *Site) logout(w http.ResponseWriter, r *http.Request) {
	if s.crossOrigin.Check(r) != nil {
		deny(w, r, http.StatusForbidden, "this logout was sent from another site")
		return
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		if err := s.auth.sessions.end(r.Context(), c.Value); err != nil {
			s.p.Logger.Error("end a session", zap.Error(err))
			deny(w, r, http.StatusServiceUnavailable, "the session could not be ended right now; try again")
			return
		}
	}
	http.SetCookie(w, s.auth.cookie(r, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// cookie is the session cookie: out of reach of scripts, never sent with
// requests from other sites, and HTTPS-only when the request came over TLS
// (directly or through a proxy that says so).
func (a *auth) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
	}
}

// safeNext keeps a post-login redirect on this site: a path on this host,
// or / for anything else. Browsers strip tabs and newlines from a URL, read
// a backslash as a slash and "//host" as another host, so a next holding
// any control character or backslash is refused outright, and what is left
// must parse to a bare path that does not start with two slashes.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}
