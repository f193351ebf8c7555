package web

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"

	"github.com/rdonboard/rdonboard/tasks"
)

// DashboardRoot is where the queue dashboard is served.
const DashboardRoot = "/monitoring"

// newDashboard returns asynqmon over conn, read-only unless writable, with
// verification codes hidden from every payload it shows.
func newDashboard(conn asynq.RedisConnOpt, writable bool) *asynqmon.HTTPHandler {
	return asynqmon.New(asynqmon.Options{
		RootPath:         DashboardRoot,
		RedisConnOpt:     conn,
		ReadOnly:         !writable,
		PayloadFormatter: asynqmon.PayloadFormatterFunc(redactedPayload),
	})
}

func redactedPayload(typ string, payload []byte) string {
	b := tasks.Redacted(typ, payload)
	if !utf8.Valid(b) {
		return "non-printable bytes"
	}
	return string(b)
}

// dashboard is asynqmon behind the operator's login, its writes (when
// writable) refused unless they come from this site, with the headers of
// the project's own pages; or 503 when it has no connection.
func (s *Site) dashboard() http.Handler {
	if s.dash == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			deny(w, r, http.StatusServiceUnavailable, "the queue dashboard has no Redis connection; see the worker's log")
		})
	}
	return s.auth.guard(s.crossOrigin.Handler(s.dash))
}

// dashboardHeaders wraps asynqmon with the headers of the project's pages:
// never cached, never framed, no type sniffing, and a CSP that lets its UI
// run its own scripts (its two inline ones by hash), its styles (Material
// UI writes them inline) and the web fonts its page names, and nothing
// else.
func dashboardHeaders(dash http.Handler) http.Handler {
	csp := dashboardCSP(inlineScripts(dash))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "same-origin")
		dash.ServeHTTP(w, r)
	})
}

func dashboardCSP(scriptHashes []string) string {
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self' " + strings.Join(scriptHashes, " "),
		"style-src 'self' 'unsafe-inline' https://fonts.googleapis.com",
		"font-src 'self' data: https://fonts.gstatic.com",
		"img-src 'self' data:",
		"connect-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// inlineScripts returns the CSP hashes of the inline scripts of the
// dashboard's index page, as it renders it for this configuration.
func inlineScripts(dash http.Handler) []string {
	rec := httptest.NewRecorder()
	dash.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, DashboardRoot+"/", nil))
	var out []string
	for _, m := range inlineScript.FindAllStringSubmatch(rec.Body.String(), -1) {
		sum := sha256.Sum256([]byte(m[1]))
		out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return out
}
