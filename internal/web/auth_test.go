package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/web"
	"github.com/rdonboard/rdonboard/tasks"
)

// TestOperatorRoutesNeedTheToken asks every operator route with each kind
// of credential: only the token (bearer) or a session from the login form
// gets in, /v1/ takes the bearer only, and a browser without either is sent
// to the login form.
func TestOperatorRoutesNeedTheToken(t *testing.T) {
	t.Parallel()
	env, proc := start(t, nil)
	id := waiting(t, env, "auth", 0, 1)[0].AccountID
	session := login(t, proc.URL)
	forged := *session
	forged.Value = session.Value[:len(session.Value)-2] + "AA"
	otherKey := loginWith(t, startOther(t).URL, "another-token-90ab12cd") // a session of another deployment

	pages := []string{"/", "/monitoring/", "/monitoring/api/queues"}
	api := "/v1/members/" + id + "/link"
	creds := []struct {
		name   string
		header http.Header
		page   int // answer on pages
		api    int // answer on the link API
	}{
		{"nothing", nil, 401, 401},
		{"wrong bearer", bearer("not-the-token"), 401, 401},
		{"bearer", bearer(harness.Token), 200, 200},
		{"session cookie", withCookie(session), 200, 401},
		{"forged cookie", withCookie(&forged), 401, 401},
		{"session of another token", withCookie(otherKey), 401, 401},
		{"token as cookie", withCookie(&http.Cookie{Name: web.SessionCookie, Value: harness.Token}), 401, 401},
	}
	for _, c := range creds {
		for _, path := range append(pages, api) {
			want := c.page
			if path == api {
				want = c.api
			}
			if a := do(t, request{url: proc.URL + path, header: c.header}); a.status != want {
				t.Errorf("%s, GET %s: status %d, want %d", c.name, path, a.status, want)
			}
		}
	}
	for _, path := range []string{"/", "/monitoring/"} {
		a := do(t, request{url: proc.URL + path, header: browser})
		want := "/login?next=" + url.QueryEscape(path)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != want {
			t.Errorf("browser without a session, GET %s: %d to %q, want 303 to %q", path, a.status, a.header.Get("Location"), want)
		}
	}
}

// startOther starts a second worker on its own Redis with another token.
func startOther(t *testing.T) *harness.Proc {
	_, p := start(t, func(c *config.Config) { c.CallbackToken = "another-token-90ab12cd" })
	return p
}

// TestLoginSetsAGuardedSession checks the login form: a wrong token gets
// 401 and no cookie; the right one a session cookie that scripts cannot
// read, other sites cannot send, and that does not hold the token.
func TestLoginSetsAGuardedSession(t *testing.T) {
	t.Parallel()
	_, proc := start(t, nil)
	wrong := do(t, request{method: http.MethodPost, url: proc.URL + "/login", form: url.Values{"token": {"guess"}}})
	if wrong.status != http.StatusUnauthorized || len(wrong.resp.Cookies()) != 0 {
		t.Errorf("wrong token: status %d, %d cookies; want 401 and none", wrong.status, len(wrong.resp.Cookies()))
	}
	a := do(t, request{method: http.MethodPost, url: proc.URL + "/login",
		form: url.Values{"token": {harness.Token}, "next": {"/monitoring/queues/send"}}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/monitoring/queues/send" {
		t.Errorf("login: %d to %q, want 303 to the page asked for", a.status, a.header.Get("Location"))
	}
	c := a.resp.Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || strings.Contains(c.Value, harness.Token) {
		t.Errorf("cookie over plain HTTP: HttpOnly %v, SameSite %v, Secure %v, holds token %v; want true, Strict, false, false",
			c.HttpOnly, c.SameSite, c.Secure, strings.Contains(c.Value, harness.Token))
	}
	proxied := do(t, request{method: http.MethodPost, url: proc.URL + "/login",
		header: http.Header{"X-Forwarded-Proto": {"https"}}, form: url.Values{"token": {harness.Token}}})
	if c := proxied.resp.Cookies()[0]; !c.Secure {
		t.Error("cookie behind a TLS proxy is not Secure")
	}
	away := do(t, request{method: http.MethodPost, url: proc.URL + "/login",
		form: url.Values{"token": {harness.Token}, "next": {"//evil.example/"}}})
	if away.header.Get("Location") != "/" {
		t.Errorf("next=//evil.example/ redirected to %q, want /", away.header.Get("Location"))
	}
	out := do(t, request{method: http.MethodPost, url: proc.URL + "/logout"})
	if c := out.resp.Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("logout did not clear the session cookie: %v", c)
	}
}

// TestNoTokenClosesTheOperatorRoutes: without ONBOARD_CALLBACK_TOKEN the
// pages, the dashboard and the link API answer 503 like /v1/.
func TestNoTokenClosesTheOperatorRoutes(t *testing.T) {
	t.Parallel()
	_, proc := start(t, func(c *config.Config) { c.CallbackToken = "" })
	for _, path := range []string{"/", "/monitoring/", "/monitoring/api/queues", "/v1/members/1000/link"} {
		for _, h := range []http.Header{nil, bearer(""), browser} {
			if a := do(t, request{url: proc.URL + path, header: h}); a.status != http.StatusServiceUnavailable {
				t.Errorf("GET %s (%v): status %d, want 503", path, h, a.status)
			}
		}
	}
	a := do(t, request{method: http.MethodPost, url: proc.URL + "/login", form: url.Values{"token": {""}}})
	if a.status != http.StatusServiceUnavailable || len(a.resp.Cookies()) != 0 {
		t.Errorf("login without a token configured: %d, %d cookies; want 503, none", a.status, len(a.resp.Cookies()))
	}
}

// TestDashboardIsReadOnlyAndHidesCodes: the dashboard refuses actions
// unless ONBOARD_DASHBOARD_WRITABLE is set, and never shows a code handed
// in.
func TestDashboardIsReadOnlyAndHidesCodes(t *testing.T) {
	t.Parallel()
	env, proc := start(t, nil)
	insp := asynq.NewInspectorFromRedisClient(env.Redis)
	if err := insp.PauseQueue(tasks.QueueCallback); err != nil {
		t.Fatal(err)
	}
	task, _ := tasks.NewCodeSubmitted("1000000000000042", "654321")
	if _, err := env.Client.EnqueueContext(context.Background(), task); err != nil {
		t.Fatal(err)
	}
	list := do(t, request{url: proc.URL + "/monitoring/api/queues/callback/pending_tasks", header: bearer(harness.Token)})
	if list.status != 200 || strings.Contains(list.body, "654321") || !strings.Contains(list.body, `******`) {
		t.Errorf("pending callback tasks: status %d, body %s; want 200 with the code hidden", list.status, list.body)
	}
	act := do(t, request{method: http.MethodPost, url: proc.URL + "/monitoring/api/queues/callback:resume", header: bearer(harness.Token)})
	if act.status != http.StatusMethodNotAllowed {
		t.Errorf("resume through a read-only dashboard: status %d, want 405", act.status)
	}

	_, writable := start(t, func(c *config.Config) { c.DashboardWritable = true })
	act = do(t, request{method: http.MethodPost, url: writable.URL + "/monitoring/api/queues/send:pause", header: bearer(harness.Token)})
	if act.status != http.StatusNoContent && act.status != http.StatusOK {
		t.Errorf("pause through a writable dashboard: status %d, want 2xx: %s", act.status, act.body)
	}
}

// TestLoginRefusesAnAddressThatGuesses: after web.TokenLimit wrong tokens
// from one address, the login form and the bearer header refuse that
// address (429, even the right token) on every worker, while other
// addresses and a session it had already still get in.
func TestLoginRefusesAnAddressThatGuesses(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Workers: 2})
	first, second := env.Worker(0).URL, env.Worker(1).URL
	guesser, other := clientFrom(t, "127.0.0.1"), clientFrom(t, "127.0.0.2")
	post := func(c *http.Client, base, token string) *http.Response {
		t.Helper()
		resp, err := c.PostForm(base+"/login", url.Values{"token": {token}, "next": {"/"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	before := post(guesser, first, harness.Token) // a session from before the guessing
	for i := 1; i <= web.TokenLimit.Burst; i++ {
		if resp := post(guesser, first, fmt.Sprintf("guess-%d", i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: status %d, want 401", i, resp.StatusCode)
		}
	}
	for _, base := range []string{first, second} {
		resp := post(guesser, base, harness.Token)
		retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || len(resp.Cookies()) != 0 {
			t.Errorf("right token after %d wrong ones: status %d, %d cookies; want 429 and none",
				web.TokenLimit.Burst, resp.StatusCode, len(resp.Cookies()))
		}
		if interval := int(web.TokenLimit.Period.Seconds()) / web.TokenLimit.Rate; retry < 1 || retry > interval {
			t.Errorf("Retry-After %q, want 1 to %d seconds", resp.Header.Get("Retry-After"), interval)
		}
	}
	page := do(t, request{method: http.MethodPost, url: first + "/login", form: url.Values{"token": {"again"}}})
	if !strings.Contains(page.body, "Too many wrong tokens from this address") {
		t.Errorf("locked-out login page does not say why:\n%s", page.body)
	}
	if resp := post(other, first, harness.Token); resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Errorf("right token from another address: status %d, want 303 with a session", resp.StatusCode)
	}
	if a := do(t, request{url: first + "/", header: bearer(harness.Token)}); a.status != http.StatusTooManyRequests {
		t.Errorf("bearer token from the locked-out address: status %d, want 429", a.status)
	}
	if a := do(t, request{url: second + "/", header: withCookie(before.Cookies()[0])}); a.status != http.StatusOK {
		t.Errorf("session started before the guessing, from the locked-out address: status %d, want 200", a.status)
	}
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip, and that shows redirects instead of following them.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: dialer.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: noRedirects.Timeout, CheckRedirect: noRedirects.CheckRedirect}
}
