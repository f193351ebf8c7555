package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/web"
)

// siteToken is the callback token of the sites built by newSite.
const siteToken = "site-test-token-0123456789"

// newSite builds the web surface over its own connection to rdb's
// database, the way each worker holds its own, and counts the tokens it
// compares into compared.
func newSite(t *testing.T, rdb *redis.Client, compared *atomic.Int64) http.Handler {
	t.Helper()
	own := redis.NewClient(rdb.Options())
	t.Cleanup(func() { _ = own.Close() })
	site := web.New(web.Params{Token: siteToken, Redis: own, Prefix: "onboard:"})
	web.OnCompare(site, func() { compared.Add(1) })
	mux := http.NewServeMux()
	for pattern, h := range site.Routes() {
		mux.Handle(pattern, h)
	}
	return mux
}

// race sends n requests made by mk at once, spread over handlers, all
// from one client address, and returns how many got each status.
func race(handlers []http.Handler, n int, mk func() *http.Request) map[int]int {
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		wg       sync.WaitGroup
		gate     = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			r := mk()
			r.RemoteAddr = "192.0.2.7:40000"
			w := httptest.NewRecorder()
			<-gate
			handlers[i%len(handlers)].ServeHTTP(w, r)
			mu.Lock()
			statuses[w.Code]++
			mu.Unlock()
		})
	}
	close(gate)
	wg.Wait()
	return statuses
}

// TestRacingWrongTokensCompareAtMostTheLimit sends 300 wrong logins at
// once, then 300 wrong bearer tokens, from one address to two sites
// sharing one redis-server: exactly web.TokenLimit.Burst tokens are
// compared (401) and every other try is refused (429) without being
// compared. 200 right tokens at once from one address all get in: a try
// in flight holds a place only until it is compared.
func TestRacingWrongTokensCompareAtMostTheLimit(t *testing.T) {
	t.Parallel()
	rdb := redistest.DB(t)
	var compared atomic.Int64
	sites := []http.Handler{newSite(t, rdb, &compared), newSite(t, rdb, &compared)}
	burst := web.TokenLimit.Burst

	right := race(sites, 200, func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/v1/sessions", nil)
		r.Header.Set("Authorization", "Bearer "+siteToken)
		return r
	})
	if right[http.StatusOK] != 200 || compared.Load() != 200 {
		t.Fatalf("200 right tokens at once: statuses %v, %d compared; want all 200, all compared", right, compared.Load())
	}
	compared.Store(0)

	logins := race(sites, 300, func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {"wrong-guess-0123456789"}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	})
	if got := compared.Load(); got != int64(burst) || logins[http.StatusUnauthorized] != burst || logins[http.StatusTooManyRequests] != 300-burst {
		t.Errorf("300 wrong logins at once: %d tokens compared, statuses %v; want %d compared, %d×401, %d×429",
			got, logins, burst, burst, 300-burst)
	}

	// The same count, on the bearer header, from a fresh address's view.
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	compared.Store(0)
	bearers := race(sites, 300, func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/v1/sessions", nil)
		r.Header.Set("Authorization", "Bearer wrong-guess-0123456789")
		return r
	})
	if got := compared.Load(); got != int64(burst) || bearers[http.StatusTooManyRequests] != 300-burst {
		t.Errorf("300 wrong bearer tokens at once: %d compared, statuses %v; want %d compared, the rest 429", got, bearers, burst)
	}
}

// TestWrongBearerTokensCountLikeWrongLogins guesses bearer tokens at
// /v1/, /metrics and /monitoring/ of two workers sharing Redis: after
// web.TokenLimit.Burst wrong ones in all, the address gets 429 with
// Retry-After everywhere, the right token and the login form included,
// while another address still gets in. Right tokens sent before count
// nothing.
func TestWrongBearerTokensCountLikeWrongLogins(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Workers: 2})
	bases := []string{env.Worker(0).URL, env.Worker(1).URL}
	guesser, other := clientFrom(t, "127.0.0.3"), clientFrom(t, "127.0.0.4")
	paths := []string{"/v1/members/1000000000000001", "/metrics", "/monitoring/api/queues", "/v1/members"}
	get := func(c *http.Client, url, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	for i := range 3 * web.TokenLimit.Burst {
		if resp := get(guesser, bases[i%2]+paths[i%len(paths)], harness.Token); resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("right token %d: 429; right tokens must not count", i+1)
		}
	}
	for i := range web.TokenLimit.Burst {
		url := bases[i%2] + paths[i%len(paths)]
		if resp := get(guesser, url, fmt.Sprintf("guess-%d-0123456789", i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong token %d at %s: status %d, want 401", i+1, url, resp.StatusCode)
		}
	}
	interval := int(web.TokenLimit.Period.Seconds()) / web.TokenLimit.Rate
	for _, base := range bases {
		for _, path := range paths {
			resp := get(guesser, base+path, harness.Token)
			retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			if resp.StatusCode != http.StatusTooManyRequests || retry < 1 || retry > interval {
				t.Errorf("right token at %s%s after %d wrong ones: %d, Retry-After %q; want 429, 1 to %d s",
					base, path, web.TokenLimit.Burst, resp.StatusCode, resp.Header.Get("Retry-After"), interval)
			}
		}
		login, err := guesser.PostForm(base+"/login", url.Values{"token": {harness.Token}})
		if err != nil {
			t.Fatal(err)
		}
		login.Body.Close()
		if login.StatusCode != http.StatusTooManyRequests {
			t.Errorf("login form at %s after wrong bearer tokens: %d, want 429", base, login.StatusCode)
		}
	}
	if resp := get(other, bases[1]+"/metrics", harness.Token); resp.StatusCode != http.StatusOK {
		t.Errorf("right token from another address: %d, want 200", resp.StatusCode)
	}
}

// TestSessionKeyIsSaltedPerDeployment: the session key is derived from the
// token and a random salt the first worker writes to Redis; every worker
// of a deployment reads the same salt, another deployment with the same
// token has another key, and a worker that starts later does not replace
// the salt.
func TestSessionKeyIsSaltedPerDeployment(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := func(rdb *redis.Client) []byte {
		t.Helper()
		k, err := web.SessionKey(ctx, web.New(web.Params{Token: siteToken, Redis: rdb, Prefix: "onboard:"}))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	one, two := redistest.DB(t), redistest.DB(t)
	first := key(one)
	salt, err := one.Get(ctx, "onboard:session-salt").Result()
	if err != nil || len(salt) != 64 {
		t.Fatalf("salt in Redis: %q, %v; want 32 random bytes in hex", salt, err)
	}
	if again := key(redis.NewClient(one.Options())); !bytes.Equal(first, again) {
		t.Error("two workers of one deployment derive different session keys")
	}
	if after, _ := one.Get(ctx, "onboard:session-salt").Result(); after != salt {
		t.Error("a second worker replaced the salt")
	}
	if bytes.Equal(first, key(two)) {
		t.Error("two deployments with the same token derive the same session key: the token alone decides it")
	}
}

// TestLogoutEndsTheSessionOnEveryWorker logs in at one worker, lists the
// session, logs out, and tries a copy of the cookie (as a thief would
// hold it) at both workers: it is dead. A session revoked through the API
// is dead too.
func TestLogoutEndsTheSessionOnEveryWorker(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Workers: 2})
	first, second := env.Worker(0).URL, env.Worker(1).URL
	stolen := login(t, first)
	if a := do(t, request{url: second + "/", header: withCookie(stolen)}); a.status != http.StatusOK {
		t.Fatalf("session of worker 0 at worker 1: status %d, want 200", a.status)
	}
	if list := sessionsOf(t, second); len(list) != 1 || list[0].Client != "127.0.0.1" || list[0].ExpiresAt.Sub(list[0].CreatedAt) != web.SessionTTL {
		t.Fatalf("sessions listed: %+v; want the one login from 127.0.0.1 lasting %v", list, web.SessionTTL)
	}
	out := do(t, request{method: http.MethodPost, url: first + "/logout", header: withCookie(stolen)})
	if out.status != http.StatusSeeOther {
		t.Fatalf("logout: status %d, want 303: %s", out.status, out.body)
	}
	for _, base := range []string{first, second} {
		for _, path := range []string{"/", "/monitoring/api/queues"} {
			if a := do(t, request{url: base + path, header: withCookie(stolen)}); a.status != http.StatusUnauthorized {
				t.Errorf("copy of the cookie after logout, %s%s: status %d, want 401", base, path, a.status)
			}
		}
	}
	if list := sessionsOf(t, first); len(list) != 0 {
		t.Errorf("sessions after logout: %+v, want none", list)
	}

	other := login(t, second)
	id := sessionsOf(t, first)[0].ID
	if a := do(t, request{method: http.MethodDelete, url: first + "/v1/sessions/" + id, header: bearer(harness.Token)}); a.status != http.StatusNoContent {
		t.Errorf("revoke session: status %d, want 204: %s", a.status, a.body)
	}
	if a := do(t, request{url: second + "/", header: withCookie(other)}); a.status != http.StatusUnauthorized {
		t.Errorf("revoked session: status %d, want 401", a.status)
	}
	if a := do(t, request{method: http.MethodDelete, url: first + "/v1/sessions/" + id, header: bearer(harness.Token)}); a.status != http.StatusNotFound {
		t.Errorf("revoke it again: status %d, want 404", a.status)
	}
}

func sessionsOf(t *testing.T, base string) []web.Session {
	t.Helper()
	a := do(t, request{url: base + "/v1/sessions", header: bearer(harness.Token)})
	var list []web.Session
	if err := json.Unmarshal([]byte(a.body), &list); a.status != http.StatusOK || err != nil {
		t.Fatalf("GET /v1/sessions: %d %s (%v)", a.status, a.body, err)
	}
	return list
}

// TestStateChangingFormsRefuseOtherSites posts the login form, the logout
// form and a dashboard write as another site would make a browser send
// them (a foreign Origin, or Sec-Fetch-Site: cross-site): each is refused
// with 403 and changes nothing; the same requests from this site work.
func TestStateChangingFormsRefuseOtherSites(t *testing.T) {
	t.Parallel()
	env, proc := start(t, func(c *config.Config) { c.DashboardWritable = true })
	foreign := []http.Header{{"Origin": {"http://evil.example"}}, {"Sec-Fetch-Site": {"cross-site"}}}
	session := login(t, proc.URL)
	insp := asynq.NewInspectorFromRedisClient(env.Redis)
	// A queue no worker serves, to pause through the dashboard.
	if _, err := env.Client.Enqueue(asynq.NewTask("probe", nil), asynq.Queue("probe")); err != nil {
		t.Fatal(err)
	}
	for _, h := range foreign {
		in := do(t, request{method: http.MethodPost, url: proc.URL + "/login", header: h, form: url.Values{"token": {harness.Token}}})
		if in.status != http.StatusForbidden || len(in.resp.Cookies()) != 0 {
			t.Errorf("login from another site (%v): %d, %d cookies; want 403, none", h, in.status, len(in.resp.Cookies()))
		}
		withSession := withCookie(session)
		for k, v := range h {
			withSession[k] = v
		}
		if out := do(t, request{method: http.MethodPost, url: proc.URL + "/logout", header: withSession}); out.status != http.StatusForbidden {
			t.Errorf("logout from another site (%v): %d, want 403", h, out.status)
		}
		if a := do(t, request{url: proc.URL + "/", header: withCookie(session)}); a.status != http.StatusOK {
			t.Errorf("session after a foreign logout (%v): %d, want 200", h, a.status)
		}
		pause := do(t, request{method: http.MethodPost, url: proc.URL + "/monitoring/api/queues/probe:pause", header: withSession})
		info, err := insp.GetQueueInfo("probe")
		if pause.status != http.StatusForbidden || err != nil || info.Paused {
			t.Errorf("dashboard pause from another site (%v): %d, queue paused %v (%v); want 403, not paused", h, pause.status, info != nil && info.Paused, err)
		}
	}
	same := http.Header{"Origin": {proc.URL}, "Sec-Fetch-Site": {"same-origin"}, "Cookie": withCookie(session)["Cookie"]}
	pause := do(t, request{method: http.MethodPost, url: proc.URL + "/monitoring/api/queues/probe:pause", header: same})
	if info, err := insp.GetQueueInfo("probe"); pause.status/100 != 2 || err != nil || !info.Paused {
		t.Errorf("dashboard pause from this site: %d (%s), queue paused: %v; want 2xx, paused", pause.status, pause.body, err == nil && info.Paused)
	}
	if out := do(t, request{method: http.MethodPost, url: proc.URL + "/logout", header: same}); out.status != http.StatusSeeOther {
		t.Errorf("logout from this site: %d, want 303", out.status)
	}
	in := do(t, request{method: http.MethodPost, url: proc.URL + "/login", header: http.Header{"Origin": {proc.URL}}, form: url.Values{"token": {harness.Token}}})
	if in.status != http.StatusSeeOther {
		t.Errorf("login from this site: %d, want 303", in.status)
	}
}

// TestDashboardCarriesThePagesHeaders reads the dashboard's page, its
// script and its API: each answer is never cached, never framed, never
// sniffed, and under a CSP; the bearer scheme is read in any case.
func TestDashboardCarriesThePagesHeaders(t *testing.T) {
	t.Parallel()
	_, proc := start(t, nil)
	page := do(t, request{url: proc.URL + "/monitoring/", header: bearer(harness.Token)})
	script := ""
	if i := strings.Index(page.body, `src="/monitoring/static/js/`); i >= 0 {
		script = page.body[i+len(`src="`):]
		script = script[:strings.IndexByte(script, '"')]
	}
	if script == "" {
		t.Fatalf("dashboard page names no script:\n%s", page.body)
	}
	for _, path := range []string{"/monitoring/", script, "/monitoring/api/queues"} {
		a := do(t, request{url: proc.URL + path, header: bearer(harness.Token)})
		h := a.header
		csp := h.Get("Content-Security-Policy")
		if a.status != http.StatusOK || h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Cache-Control") != "no-store" || !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.Contains(csp, "script-src 'self' 'sha256-") || strings.Contains(csp, "'unsafe-eval'") {
			t.Errorf("GET %s: %d, X-Frame-Options %q, nosniff %q, Cache-Control %q, CSP %q",
				path, a.status, h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"), h.Get("Cache-Control"), csp)
		}
	}
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		h := http.Header{"Authorization": {scheme + " " + harness.Token}}
		for _, path := range []string{"/v1/members", "/monitoring/api/queues", "/metrics"} {
			if a := do(t, request{url: proc.URL + path, header: h}); a.status != http.StatusOK {
				t.Errorf("%q scheme, GET %s: %d, want 200", scheme, path, a.status)
			}
		}
	}
}
