package web_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
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

// segment is the part of a link after path: web.LinkPath (/c/) for a
// member's link, web.OwnerPath (/p/) for an owner link.
func segment(t *testing.T, link, path string) string {
	t.Helper()
	_, seg, ok := strings.Cut(link, path)
	if !ok {
		t.Fatalf("link %q has no %s", link, path)
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
	seg := segment(t, l.URL, web.LinkPath)
	c, err := links.Read(seg)
	if err != nil || c.AccountID != m.AccountID || c.Step != m.Step() {
		t.Fatalf("Read = %+v, %v; want the member at step %v", c, err, m.Step())
	}
	fields := strings.Split(seg, ".")
	read := func(l *web.Links, s string) error { _, err := l.Read(s); return err }
	checkSealed(t, read, seg, m.CodeExpiresAt, map[string]string{
		"another account": strings.Replace(seg, m.AccountID, "1386606283489999", 1),
		"another send":    strings.Join([]string{fields[0], fields[1], "3", fields[3], fields[4]}, "."),
		"later expiry":    strings.Join([]string{fields[0], fields[1], fields[2], "9999999999", fields[4]}, "."),
		"no MAC":          strings.Join(fields[:4], "."),
	})
}

// checkSealed reads seg, a link's segment good until expires, with read
// (Links.Read or Links.ReadPhone) under the test secret at t0: seg changed
// as changed says, or with its last MAC character changed, cut short or
// empty, is a bad link; seg is a bad link under another secret, and has
// expired at expires.
func checkSealed(t *testing.T, read func(*web.Links, string) error, seg string, expires time.Time, changed map[string]string) {
	t.Helper()
	changed = maps.Clone(changed)
	changed["last MAC char"] = flipLast(seg)
	changed["cut short"] = seg[:len(seg)-5]
	changed["empty"] = ""
	links := web.NewLinks(linkSecret, clock(t0))
	for name, s := range changed {
		if err := read(links, s); !errors.Is(err, web.ErrBadLink) {
			t.Errorf("%s: read error %v, want ErrBadLink", name, err)
		}
	}
	if err := read(web.NewLinks("another-secret-0123456789", clock(t0)), seg); !errors.Is(err, web.ErrBadLink) {
		t.Errorf("read under another secret: %v, want ErrBadLink", err)
	}
	if err := read(web.NewLinks(linkSecret, clock(expires)), seg); !errors.Is(err, web.ErrLinkExpired) {
		t.Errorf("read at expiry %s: %v, want ErrLinkExpired", expires, err)
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

// TestSelfServiceLinkOverHTTP walks the per-member links through the
// worker: the API hands them out; opening one leads to the owner page of
// the member's phone, in the browser's language, without the full phone;
// tampered, foreign and expired links are refused in the owner's language
// before anything is read; codes posted to an old per-member page go
// through the intake for the phone (malformed 400, too many 429) and lead
// to the owner page; a link of an earlier send still leads there, but not
// once the member started over on another phone.
func TestSelfServiceLinkOverHTTP(t *testing.T) {
	t.Parallel()
	env, proc := start(t, nil)
	rows := waiting(t, env, "links", 100, 2)
	a, b := rows[0], rows[1]
	en := http.Header{"Accept-Language": {"en"}}
	la := linkOf(t, proc.URL, a.AccountID)
	if !strings.HasPrefix(la.URL, proc.URL+web.LinkPath) {
		t.Errorf("link %q is not under the address the API was reached at (%s)", la.URL, proc.URL)
	}
	hop := do(t, request{url: la.URL, header: en})
	to := hop.header.Get("Location")
	if hop.status != http.StatusSeeOther || !strings.HasPrefix(to, web.OwnerPath) || hop.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("link: status %d to %q; want 303 to the owner page (%s…), not cached", hop.status, to, web.OwnerPath)
	}
	for lang, words := range map[string]string{"en": "Enter the code", "zh-CN": "请输入验证码"} {
		page := do(t, request{url: proc.URL + to, header: http.Header{"Accept-Language": {lang}}})
		if page.status != 200 || !strings.Contains(page.body, "86-139****0100") || strings.Contains(page.body, a.Phone) ||
			!strings.Contains(page.body, words) || !strings.Contains(page.body, `name="code"`) || len(page.resp.Cookies()) != 0 {
			t.Errorf("owner page of the link in %s: status %d; want 200 saying %q, with the masked phone, a code form, no full phone, no cookie:\n%s",
				lang, page.status, words, page.body)
		}
	}
	if got := do(t, request{url: proc.URL + "/", header: hop.header}); got.status != 401 {
		t.Errorf("after opening a link, GET /: %d, want 401", got.status)
	}

	seg := segment(t, la.URL, web.LinkPath)
	lb := linkOf(t, proc.URL, b.AccountID)
	foreign := strings.Replace(seg, a.AccountID, b.AccountID, 1)
	m, _ := env.Store.Get(context.Background(), a.AccountID)
	m.CodeExpiresAt = time.Now().Add(-time.Minute)
	expired, err := web.NewLinks(linkSecret, clock(m.CodeExpiresAt.Add(-time.Minute))).For(m, proc.URL)
	if err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name, url, lang, says string
		status                int
	}{
		{"tampered", proc.URL + web.LinkPath + flipLast(seg), "en", "not valid", 404},
		{"other account's", proc.URL + web.LinkPath + foreign, "zh-CN", "链接无效", 404},
		{"expired", expired.URL, "en", "expired", 410},
	}
	for _, r := range refused {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			got := do(t, request{method: method, url: r.url, form: url.Values{"code": {"123456"}}, header: http.Header{"Accept-Language": {r.lang}}})
			if got.status != r.status || !strings.Contains(got.body, r.says) || strings.Contains(got.body, `name="code"`) || got.header.Get("Location") != "" {
				t.Errorf("%s link, %s: status %d; want %d saying %q, no form, no redirect:\n%s", r.name, method, got.status, r.status, r.says, got.body)
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
		code, says string
		status     int
	}{{"12ab", "6-digit", 400}, {wrong[0], "", 303}, {wrong[1][:3] + " " + wrong[1][3:], "", 303}, {right, "Too many", 429}} {
		got := do(t, request{method: http.MethodPost, url: lb.URL, form: url.Values{"code": {c.code}}, header: en})
		if got.status != c.status || !strings.Contains(got.body, c.says) {
			t.Errorf("code %d: status %d, want %d saying %q:\n%s", i, got.status, c.status, c.says, got.body)
		}
		if c.status == 303 && !strings.HasPrefix(got.header.Get("Location"), web.OwnerPath) {
			t.Errorf("code %d: redirected to %q, want the owner page", i, got.header.Get("Location"))
		}
	}
	if err := insp.UnpauseQueue(tasks.QueueCallback); err != nil {
		t.Fatal(err)
	}
	// Two wrong codes spend the send: a new code goes out. The link of the
	// earlier send still leads to the phone's page, where the new code is
	// handed in.
	waitMember(t, env, b.AccountID, func(m member.Member) bool { return m.Sends == 2 && m.State == member.CodeSent })
	if got := do(t, request{url: lb.URL}); got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), web.OwnerPath) {
		t.Errorf("link of an earlier send: status %d to %q; want 303 to the owner page", got.status, got.header.Get("Location"))
	}
	right, _ = env.Sandbox.LatestCode(b.AccountID)
	if got := do(t, request{method: http.MethodPost, url: lb.URL, form: url.Values{"code": {right}}}); got.status != http.StatusSeeOther {
		t.Errorf("new code on the link of an earlier send: status %d, want 303:\n%s", got.status, got.body)
	}
	waitMember(t, env, b.AccountID, func(m member.Member) bool { return m.State == member.Bound })

	// The member starts over on another phone: its old link must not lead
	// to the new phone's page.
	moved := a
	moved.Phone = "86-13900007777"
	env.Enqueue("links", []harness.Row{moved}, ingest.Options{})
	waitMember(t, env, a.AccountID, func(m member.Member) bool { return m.Phone == moved.Phone })
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		got := do(t, request{method: method, url: la.URL, form: url.Values{"code": {"123456"}}, header: en})
		if got.status != http.StatusGone || !strings.Contains(got.body, "replaced") || got.header.Get("Location") != "" {
			t.Errorf("link from before the phone changed, %s: status %d to %q; want 410 saying it was replaced:\n%s",
				method, got.status, got.header.Get("Location"), got.body)
		}
	}
	if got := do(t, request{url: proc.URL + "/v1/members/1999999999999999/link", header: bearer(harness.Token)}); got.status != 404 {
		t.Errorf("link of an unknown member: %d, want 404", got.status)
	}
}
