package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/rdonboard/rdonboard/internal/httpapi"
)

// SessionCookie is the name of the operator's session cookie.
const SessionCookie = "rdonboard_session"

// SessionTTL is how long a login lasts.
const SessionTTL = 12 * time.Hour

// auth lets operators in: the callback token as a bearer header (scripts),
// or a session cookie set by the login form (browsers). The cookie holds an
// expiring session signed with a key derived from the token, never the
// token; every worker sharing the token accepts it, and changing the token
// ends every session.
type auth struct {
	token string
	key   []byte
	now   func() time.Time
}

func newAuth(token string, now func() time.Time) *auth {
	h := hmac.New(sha256.New, []byte(token))
	h.Write([]byte("rdonboard session key v1"))
	return &auth{token: token, key: h.Sum(nil), now: now}
}

// newSession returns a cookie value: a random ID and an expiry, signed.
func (a *auth) newSession() string {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	body := base64.RawURLEncoding.EncodeToString(id) + "." + strconv.FormatInt(a.now().Add(SessionTTL).Unix(), 10)
	return body + "." + base64.RawURLEncoding.EncodeToString(a.mac(body))
}

func (a *auth) mac(body string) []byte {
	h := hmac.New(sha256.New, a.key)
	h.Write([]byte(body))
	return h.Sum(nil)
}

// validSession reports whether v is a session this service signed that has
// not expired.
func (a *auth) validSession(v string) bool {
	cut := strings.LastIndexByte(v, '.')
	if cut < 0 {
		return false
	}
	mac, err := base64.RawURLEncoding.Strict().DecodeString(v[cut+1:])
	if err != nil || !hmac.Equal(mac, a.mac(v[:cut])) {
		return false
	}
	_, exp, _ := strings.Cut(v[:cut], ".")
	until, err := strconv.ParseInt(exp, 10, 64)
	return err == nil && a.now().Unix() < until
}

// allowed reports whether r carries the bearer token or a valid session.
func (a *auth) allowed(r *http.Request) bool {
	if httpapi.Bearer(r, a.token) {
		return true
	}
	c, err := r.Cookie(SessionCookie)
	return err == nil && a.validSession(c.Value)
}

// guard lets operators through to h: 503 without a configured token; a
// browser without a session is sent to the login form, any other request
// gets 401.
func (a *auth) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case a.token == "":
			deny(w, r, http.StatusServiceUnavailable, "the dashboard is disabled: set ONBOARD_CALLBACK_TOKEN on the worker")
		case a.allowed(r):
			h.ServeHTTP(w, r)
		case r.Method == http.MethodGet && wantsHTML(r):
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		default:
			w.Header().Set("WWW-Authenticate", `Bearer realm="rdonboard"`)
			deny(w, r, http.StatusUnauthorized, "log in at /login, or send the bearer token")
		}
	})
}

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

// login checks the token from the form and sets the session cookie.
func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	a := s.auth
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	next := safeNext(r.PostFormValue("next"))
	if a.token == "" {
		s.render(w, http.StatusServiceUnavailable, "login", loginView{Next: next, Message: "Login is disabled: set ONBOARD_CALLBACK_TOKEN on the worker."})
		return
	}
	if wait := s.lockout.wait(r.Context(), r); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second).Seconds())))
		s.render(w, http.StatusTooManyRequests, "login", loginView{Next: next,
			Message: "Too many wrong tokens from this address. Try again in " + minutes(wait) + "."})
		return
	}
	given := sha256.Sum256([]byte(strings.TrimSpace(r.PostFormValue("token"))))
	want := sha256.Sum256([]byte(a.token))
	if subtle.ConstantTimeCompare(given[:], want[:]) != 1 {
		s.lockout.failed(r.Context(), r)
		s.render(w, http.StatusUnauthorized, "login", loginView{Next: next, Message: "That is not the token. Try again."})
		return
	}
	http.SetCookie(w, a.cookie(r, a.newSession(), int(SessionTTL.Seconds())))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Site) logout(w http.ResponseWriter, r *http.Request) {
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
