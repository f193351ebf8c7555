package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/internal/web"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// linkSecret signs the links of the test workers.
const linkSecret = "test-link-secret-0123456789"

// start runs one worker with links on and MaxCodeAttempts 2, then adjust.
func start(t *testing.T, adjust func(*config.Config)) (*harness.Env, *harness.Proc) {
	t.Helper()
	env := harness.Start(t, harness.Options{Configure: func(c *config.Config) {
		c.LinkSecret = linkSecret
		c.MaxCodeAttempts = 2
		// Owner pages walk a phone's accounts one after another: a short
		// gap between their SMS keeps the tests quick.
		c.PhoneGap = 50 * time.Millisecond
		if adjust != nil {
			adjust(c)
		}
	}})
	return env, env.Worker(0)
}

// waiting enqueues n members into batch and waits until all wait for a
// code.
func waiting(t *testing.T, env *harness.Env, batch string, first, n int) []harness.Row {
	t.Helper()
	rows := harness.Members(first, n)
	env.Enqueue(batch, rows, ingest.Options{})
	env.WaitFor(30*time.Second, func(c map[member.State]int64) bool { return c[member.CodeSent] >= int64(n) })
	return rows
}

// request is one HTTP request of a test.
type request struct {
	method, url string
	header      http.Header
	form        url.Values
}

// answer is what came back.
type answer struct {
	status int
	header http.Header
	body   string
	resp   *http.Response
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

func do(t *testing.T, r request) answer {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), r.method, r.url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if h := r.header.Get("Host"); h != "" {
		req.Host = h // the client sends req.Host, not a Host header
	}
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b), resp: resp}
}

func bearer(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

// browser is the Accept header of a browser's page load.
var browser = http.Header{"Accept": {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}}

// login posts the token to the login form and returns the session cookie.
func login(t *testing.T, base string) *http.Cookie {
	t.Helper()
	return loginWith(t, base, harness.Token)
}

func loginWith(t *testing.T, base, token string) *http.Cookie {
	t.Helper()
	a := do(t, request{method: http.MethodPost, url: base + "/login", form: url.Values{"token": {token}, "next": {"/"}}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("login: status %d, want 303: %s", a.status, a.body)
	}
	for _, c := range a.resp.Cookies() {
		if c.Name == web.SessionCookie {
			return c
		}
	}
	t.Fatalf("login set no %s cookie", web.SessionCookie)
	return nil
}

func withCookie(c *http.Cookie) http.Header {
	return http.Header{"Cookie": {c.Name + "=" + c.Value}}
}

// linkOf asks the API for a member's self-service link.
func linkOf(t *testing.T, base, accountID string) web.Link {
	t.Helper()
	a := do(t, request{url: base + "/v1/members/" + accountID + "/link", header: bearer(harness.Token)})
	if a.status != http.StatusOK {
		t.Fatalf("link of %s: status %d: %s", accountID, a.status, a.body)
	}
	var l web.Link
	if err := json.Unmarshal([]byte(a.body), &l); err != nil {
		t.Fatalf("link of %s: %v", accountID, err)
	}
	return l
}

// waitMember polls the store until member id satisfies cond.
func waitMember(t *testing.T, env *harness.Env, id string, cond func(member.Member) bool) member.Member {
	t.Helper()
	var m member.Member
	if !testwait.Poll(30*time.Second, func() bool {
		var err error
		m, err = env.Store.Get(context.Background(), id)
		return err == nil && cond(m)
	}) {
		t.Fatalf("member %s: condition not met after 30s (state %s, step %v)", id, m.State, m.Step())
	}
	return m
}
