// Package web owns the worker's pages: the status page and the queue
// dashboard (asynqmon) for operators, behind the callback token or a login
// session, and the self-service code page that a phone's owner reaches
// through a signed link and that grants nothing else.
package web

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/i18n"
	"github.com/rdonboard/rdonboard/internal/intake"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/ownermsg"
	"github.com/rdonboard/rdonboard/internal/status"
)

// formLimit bounds a form body.
const formLimit = 4 << 10

// Params are the parts the pages are built from.
type Params struct {
	Store  *member.Store
	Intake *intake.Intake
	Status status.Source
	// Messages is where the latest message to each phone's owner is kept;
	// nil leaves that section out of the status page.
	Messages *ownermsg.Book
	// Token is the callback token (ONBOARD_CALLBACK_TOKEN): the operator's
	// key to the status page and the dashboard; empty closes them (503).
	Token string
	// Links signs the self-service links; nil turns them off.
	Links *Links
	// PublicURL is the base of the links the API hands out (BaseURL of the
	// configuration); never the Host a request names.
	PublicURL string
	// Locale is the owner page's language when the browser asks for
	// neither (ONBOARD_LOCALE); Zone shows times (ONBOARD_TIMEZONE).
	Locale i18n.Lang
	Zone   *time.Location
	// Dashboard is the queue dashboard's Redis connection; nil serves 503
	// at /monitoring/.
	Dashboard asynq.RedisConnOpt
	// DashboardWritable lets the dashboard delete, run and pause; default
	// read-only.
	DashboardWritable bool
	// MaxCodeAttempts is the number of codes accepted per send, shown to
	// phone owners.
	MaxCodeAttempts int
	// Redis keeps the operators' sessions and counts wrong tokens per
	// client address (TokenLimit), for every worker sharing it; keys start
	// with Prefix. Without it there is no login form (the bearer token
	// still works) and no count.
	Redis  redis.UniversalClient
	Prefix string
	Logger *zap.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Site is the web surface. It is a worker component: Shutdown closes the
// dashboard's connections.
type Site struct {
	p    Params
	auth *auth
	dash http.Handler
	// closeDash closes the dashboard's connections.
	closeDash   func() error
	pages       map[string]*template.Template
	crossOrigin *http.CrossOriginProtection
}

//go:embed templates
var templateFS embed.FS

// New returns the site.
func New(p Params) *Site {
	if p.Logger == nil {
		p.Logger = zap.NewNop()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	s := &Site{p: p, pages: parsePages(), crossOrigin: http.NewCrossOriginProtection()}
	s.auth = &auth{token: p.Token, logger: p.Logger,
		lockout:  newLockout(p.Redis, p.Prefix, p.Now, p.Logger),
		sessions: newSessions(p.Redis, p.Prefix, p.Token, p.Now)}
	// Behind a proxy the Host a request names may not be the public one.
	_ = s.crossOrigin.AddTrustedOrigin(originOf(p.PublicURL))
	if p.Dashboard != nil {
		dash := newDashboard(p.Dashboard, p.DashboardWritable)
		s.dash, s.closeDash = dashboardHeaders(dash), dash.Close
	}
	return s
}

func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range []string{"status", "login", "owner"} {
		pages[name] = template.Must(template.New(name).Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

var funcs = template.FuncMap{
	"when":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"percent": percent,
}

// Routes returns the site's handlers by ServeMux pattern, for the API's
// mounts.
func (s *Site) Routes() map[string]http.Handler {
	guard := s.auth.guard
	return map[string]http.Handler{
		"GET /{$}":                          guard(http.HandlerFunc(s.statusPage)),
		"/monitoring/":                      s.dashboard(),
		"GET /login":                        http.HandlerFunc(s.loginForm),
		"POST /login":                       http.HandlerFunc(s.login),
		"POST /logout":                      http.HandlerFunc(s.logout),
		"GET " + LinkPath + "{link}":        http.HandlerFunc(s.codePage),
		"POST " + LinkPath + "{link}":       http.HandlerFunc(s.submitCode),
		"GET /v1/members/{account_id}/link": s.RequireToken(http.HandlerFunc(s.memberLink)),
		"GET /v1/phones/{phone}/link":       s.RequireToken(http.HandlerFunc(s.phoneLink)),
		"GET /v1/sessions":                  s.RequireToken(http.HandlerFunc(s.listSessions)),
		"DELETE /v1/sessions/{id}":          s.RequireToken(http.HandlerFunc(s.revokeSession)),
		"GET " + OwnerPath + "{link}":       http.HandlerFunc(s.ownerPage),
		"POST " + OwnerPath + "{link}":      http.HandlerFunc(s.submitOwnerCode),
	}
}

// Start does nothing: the routes serve from the worker's HTTP server.
func (s *Site) Start(context.Context) error { return nil }

// Shutdown closes the dashboard's Redis connections.
func (s *Site) Shutdown(context.Context) error {
	if s.closeDash == nil {
		return nil
	}
	return s.closeDash()
}

// render writes page name with v. Pages never go into a shared cache and
// cannot be framed; links on the owner's pages send no Referer (a code link
// is a key), the operator's pages send it to this site only, so that their
// forms carry a real Origin.
func (s *Site) render(w http.ResponseWriter, code int, name string, v any) {
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.p.Logger.Error("render page", zap.String("page", name), zap.Error(err))
		http.Error(w, "page failed to render", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	if name == "status" || name == "login" {
		h.Set("Referrer-Policy", "same-origin")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}
