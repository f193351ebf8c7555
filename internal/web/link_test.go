package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/web"
	"github.com/rdonboard/rdonboard/tasks"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func waitingMember(id string) member.Member {
	return member.Member{AccountID: id, Phone: "86-13900001234", State: member.CodeSent,
		Generation: 1, Sends: 2, CodeExpiresAt: t0.Add(5 * time.Minute)}
}

// flipLast changes the last character of s (a base64 digit of the MAC).
func flipLast(s string) string {
	last := s[len(s)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return s[:len(s)-1] + string(repl)
}

func clock(at time.Time) func() time.Time { return func() time.Time { return at } }

// segment is the part of a link after /c/.
func segment(t *testing.T, l web.Link) string {
	t.Helper()
	_, seg, ok := strings.Cut(l.URL, web.LinkPath)
	if !ok {
		t.Fatalf("link %q has no %s", l.URL, web.LinkPath)
	}
	return seg
}

// TestLinkNamesOneMemberAndOneSend: a link reads back as the member and
// send it was made for, until the code expires; any change to it, or
// another secret, makes it invalid.
func TestLinkNamesOneMemberAndOneSend(t *testing.T) {
	t.Parallel()
	links := web.NewLinks(linkSecret, clock(t0))
	m := waitingMember("1386606283481234")
	l, err := links.For(m, "https://onboard.example/")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.URL, "https://onboard.example/c/") || l.MobilePhone != "86-139****1234" || !l.ExpiresAt.Equal(m.CodeExpiresAt) {
		t.Errorf("link %+v: want URL under https://onboard.example/c/, masked phone, the code's expiry", l)
	}
	seg := segment(t, l)
	c, err := links.Read(seg)
	if err != nil || c.AccountID != m.AccountID || c.Step != m.Step() {
		t.Fatalf("Read = %+v, %v; want the member at step %v", c, err, m.Step())
	}
	fields := strings.Split(seg, ".")
	changed := map[string]string{
		"another account": strings.Replace(seg, m.AccountID, "1386606283489999", 1),
		"another send":    strings.Join([]string{fields[0], fields[1], "3", fields[3], fields[4]}, "."),
		"later expiry":    strings.Join([]string{fields[0], fields[1], fields[2], "9999999999", fields[4]}, "."),
		"last MAC char":   flipLast(seg),
		"cut short":       seg[:len(seg)-5],
		"no MAC":          strings.Join(fields[:4], "."),
		"empty":           "",
	}
	for name, s := range changed {
		if _, err := links.Read(s); !errors.Is(err, web.ErrBadLink) {
			t.Errorf("%s: Read error %v, want ErrBadLink", name, err)
		}
	}
	if _, err := web.NewLinks("another-secret-0123456789", clock(t0)).Read(seg); !errors.Is(err, web.ErrBadLink) {
		t.Errorf("read under another secret: %v, want ErrBadLink", err)
	}
	if _, err := web.NewLinks(linkSecret, clock(m.CodeExpiresAt)).Read(seg); !errors.Is(err, web.ErrLinkExpired) {
		t.Errorf("read at expiry: %v, want ErrLinkExpired", err)
	}
}

// TestLinkOnlyForMembersWaiting: no link for a member not waiting for a
// code or whose code has expired, and none at all without a secret.
func TestLinkOnlyForMembersWaiting(t *testing.T) {
	t.Parallel()
	links := web.NewLinks(linkSecret, clock(t0))
	bound := waitingMember("1000")
	bound.State = member.Bound
	if _, err := links.For(bound, "http://x"); !errors.Is(err, member.ErrNotWaiting) {
		t.Errorf("bound member: %v, want ErrNotWaiting", err)
	}
	late := web.NewLinks(linkSecret, clock(t0.Add(time.Hour)))
	if _, err := late.For(waitingMember("1000"), "http://x"); !errors.Is(err, member.ErrNotWaiting) {
		t.Errorf("expired code: %v, want ErrNotWaiting", err)
	}
	if off := web.NewLinks("", nil); off != nil {
		t.Errorf("NewLinks without a secret = %v, want nil (off)", off)
	}
	var off *web.Links
	if _, err := off.For(waitingMember("1000"), "http://x"); !errors.Is(err, web.ErrLinksOff) {
		t.Errorf("links off: %v, want ErrLinksOff", err)
	}
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ public, addr, want string }{
		{"https://onboard.example/", "127.0.0.1:8080", "https://onboard.example"},
		{"", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"", ":8080", "http://localhost:8080"},
		{"", "0.0.0.0:9000", "http://localhost:9000"},
	} {
		if got := web.BaseURL(c.public, c.addr); got != c.want {
			t.Errorf("BaseURL(%q, %q) = %q, want %q", c.public, c.addr, got, c.want)
		}
	}
}

// TestSelfServiceLinkOverHTTP walks links through the worker: the API hands
// them out; the page shows the masked phone and a form; tampered, foreign
// and expired links are refused before anything is read; codes go through
// the intake (malformed 400, too many 429); once the member moves past the
// link's send, the link is used.
func TestSelfServiceLinkOverHTTP(t *testing.T) {
	t.Parallel()
	env, proc := start(t, nil)
	rows := waiting(t, env, "links", 100, 2)
	a, b := rows[0], rows[1]
	la := linkOf(t, proc.URL, a.AccountID)
	if !strings.HasPrefix(la.URL, proc.URL+web.LinkPath) {
		t.Errorf("link %q is not under the address the API was reached at (%s)", la.URL, proc.URL)
	}
	page := do(t, request{url: la.URL})
	if page.status != 200 || !strings.Contains(page.body, "86-139****0100") || strings.Contains(page.body, a.Phone) ||
		!strings.Contains(page.body, `name="code"`) || len(page.resp.Cookies()) != 0 {
		t.Errorf("link page: status %d; want 200 with the masked phone, a code form, no full phone, no cookie:\n%s", page.status, page.body)
	}
	if got := do(t, request{url: proc.URL + "/", header: page.header}); got.status != 401 {
		t.Errorf("after opening a link, GET /: %d, want 401", got.status)
	}

	seg := segment(t, la)
	lb := linkOf(t, proc.URL, b.AccountID)
	foreign := strings.Replace(seg, a.AccountID, b.AccountID, 1)
	m, _ := env.Store.Get(context.Background(), a.AccountID)
	m.CodeExpiresAt = time.Now().Add(-time.Minute)
	expired, err := web.NewLinks(linkSecret, clock(m.CodeExpiresAt.Add(-time.Minute))).For(m, proc.URL)
	if err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name, url, says string
		status          int
	}{
		{"tampered", proc.URL + web.LinkPath + flipLast(seg), "not valid", 404},
		{"other account's", proc.URL + web.LinkPath + foreign, "not valid", 404},
		{"expired", expired.URL, "expired", 410},
	}
	for _, r := range refused {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			got := do(t, request{method: method, url: r.url, form: url.Values{"code": {"123456"}}})
			if got.status != r.status || !strings.Contains(got.body, r.says) || strings.Contains(got.body, `name="code"`) {
				t.Errorf("%s link, %s: status %d; want %d saying %q, no form:\n%s", r.name, method, got.status, r.status, r.says, got.body)
			}
		}
	}
	if m, _ := env.Store.Get(context.Background(), a.AccountID); m.State != member.CodeSent {
		t.Errorf("member %s is %s after refused links, want code_sent", a.AccountID, m.State)
	}

	// Codes wait on the paused callback queue, so the attempts are counted
	// before any is checked.
	insp := asynq.NewInspectorFromRedisClient(env.Redis)
	if err := insp.PauseQueue(tasks.QueueCallback); err != nil {
		t.Fatal(err)
	}
	right, _ := env.Sandbox.LatestCode(b.AccountID)
	var wrong []string
	for _, c := range []string{"000000", "111111", "222222"} {
		if c != right {
			wrong = append(wrong, c)
		}
	}
	for i, c := range []struct {
		code   string
		status int
	}{{"12ab", 400}, {wrong[0], 303}, {wrong[1][:3] + " " + wrong[1][3:], 303}, {right, 429}} {
		got := do(t, request{method: http.MethodPost, url: lb.URL, form: url.Values{"code": {c.code}}})
		if got.status != c.status {
			t.Errorf("code %d: status %d, want %d:\n%s", i, got.status, c.status, got.body)
		}
		if c.status == 303 && !strings.HasPrefix(got.header.Get("Location"), strings.TrimPrefix(lb.URL, proc.URL)+"?") {
			t.Errorf("code %d: redirected to %q, want back to the link", i, got.header.Get("Location"))
		}
	}
	if err := insp.UnpauseQueue(tasks.QueueCallback); err != nil {
		t.Fatal(err)
	}
	// Two wrong codes spend the send: a new code goes out and the link is used.
	waitMember(t, env, b.AccountID, func(m member.Member) bool { return m.Sends == 2 && m.State == member.CodeSent })
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		got := do(t, request{method: method, url: lb.URL, form: url.Values{"code": {right}}})
		if got.status != http.StatusGone || !strings.Contains(got.body, "used") {
			t.Errorf("link of an earlier send, %s: status %d, want 410 saying it was used:\n%s", method, got.status, got.body)
		}
	}
	if m, _ := env.Store.Get(context.Background(), b.AccountID); m.State != member.CodeSent || m.CodeAttempts != 0 {
		t.Errorf("after the used link: member %s, %d attempts; want code_sent, 0 (nothing handed in)", m.State, m.CodeAttempts)
	}
	if fresh := linkOf(t, proc.URL, b.AccountID); fresh.URL == lb.URL || do(t, request{url: fresh.URL}).status != 200 {
		t.Errorf("new send: link %q, want a new link that opens", fresh.URL)
	}
	if got := do(t, request{url: proc.URL + "/v1/members/1999999999999999/link", header: bearer(harness.Token)}); got.status != 404 {
		t.Errorf("link of an unknown member: %d, want 404", got.status)
	}
}
