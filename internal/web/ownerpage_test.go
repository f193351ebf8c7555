package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/internal/web"
)

// sharedPhone enqueues n members on one phone (numbered from first) and
// returns them.
func sharedPhone(t *testing.T, env *harness.Env, batch string, first, n int) []harness.Row {
	t.Helper()
	rows := harness.Members(first, n)
	for i := range rows {
		rows[i].Phone = fmt.Sprintf("86-139%08d", first)
		rows[i].Name = fmt.Sprintf("prod-%d", i+1)
	}
	env.Enqueue(batch, rows, ingest.Options{})
	return rows
}

// ownerLinkOf asks the API for a phone's owner link, as given in raw.
func ownerLinkOf(t *testing.T, base, raw string, header http.Header) web.OwnerLink {
	t.Helper()
	h := bearer(harness.Token)
	for k, v := range header {
		h[k] = v
	}
	a := do(t, request{url: base + "/v1/phones/" + url.PathEscape(raw) + "/link", header: h})
	if a.status != http.StatusOK {
		t.Fatalf("owner link of %s: status %d: %s", raw, a.status, a.body)
	}
	var l web.OwnerLink
	if err := json.Unmarshal([]byte(a.body), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

var tokenField = regexp.MustCompile(`name="t" value="([^"]+)"`)

// postCode hands code in on the owner page at link as a browser would:
// with the page's form token, from the page's origin.
func postCode(t *testing.T, origin, link, code string, lang string) answer {
	t.Helper()
	page := do(t, request{url: link, header: http.Header{"Accept-Language": {lang}}})
	m := tokenField.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("owner page has no form token (status %d):\n%s", page.status, page.body)
	}
	return do(t, request{method: http.MethodPost, url: link, form: url.Values{"code": {code}, "t": {m[1]}},
		header: http.Header{"Origin": {origin}, "Accept-Language": {lang}}})
}

// pageUntil loads the owner page at link until it says want.
func pageUntil(t *testing.T, link, lang, want string) string {
	t.Helper()
	var a answer
	if !testwait.Poll(30*time.Second, func() bool {
		a = do(t, request{url: link, header: http.Header{"Accept-Language": {lang}}})
		return strings.Contains(a.body, want)
	}) {
		t.Fatalf("owner page never said %q; last (status %d):\n%s", want, a.status, a.body)
	}
	return a.body
}

// TestOwnerPageOverHTTP walks one phone with 3 accounts through its owner
// link: the API hands the link out under the configured address whatever
// Host the request names; the page speaks the browser's language, shows
// the live account and progress; foreign forms are refused; a wrong code
// says so; codes typed one after another bind all three; then the page
// says all is done and takes no more codes.
func TestOwnerPageOverHTTP(t *testing.T) {
	t.Parallel()
	env, proc := start(t, nil)
	rows := sharedPhone(t, env, "owners", 9001, 3)
	waitMember(t, env, rows[0].AccountID, func(m member.Member) bool { return m.State == member.CodeSent })

	l := ownerLinkOf(t, proc.URL, "+86 139 0000 9001", http.Header{"Host": {"evil.example"}})
	if !strings.HasPrefix(l.URL, proc.URL+web.OwnerPath) || strings.Contains(l.URL, "evil.example") ||
		l.MobilePhone != "86-139****9001" || l.Accounts != 3 {
		t.Errorf("owner link %+v: want under %s%s (not the Host header's), masked phone, 3 accounts", l, proc.URL, web.OwnerPath)
	}
	evil := bearer(harness.Token)
	evil.Set("Host", "evil.example")
	if ml := do(t, request{url: proc.URL + "/v1/members/" + rows[0].AccountID + "/link", header: evil}); ml.status != 200 ||
		strings.Contains(ml.body, "evil.example") || !strings.Contains(ml.body, proc.URL+web.LinkPath) {
		t.Errorf("member link asked with Host: evil.example: %d %s; want a link under %s", ml.status, ml.body, proc.URL)
	}
	if got := do(t, request{url: proc.URL + "/v1/phones/86-13911119999/link", header: bearer(harness.Token)}); got.status != 404 {
		t.Errorf("link of a phone no member has: %d, want 404", got.status)
	}
	if got := do(t, request{url: proc.URL + "/v1/phones/86-13900009001/link"}); got.status != 401 {
		t.Errorf("link without the token: %d, want 401", got.status)
	}

	en := pageUntil(t, l.URL, "en-US,en;q=0.9", "Enter the code")
	for _, want := range []string{`lang="en"`, "86-139****9001", "0 of 3 accounts bound", "1000********9001", `name="code"`,
		`inputmode="numeric"`, `autocomplete="one-time-code"`, "(Asia/Shanghai)"} {
		if !strings.Contains(en, want) {
			t.Errorf("English owner page lacks %q:\n%s", want, en)
		}
	}
	if strings.Contains(en, rows[0].Phone) || strings.Contains(en, rows[0].AccountID) {
		t.Errorf("owner page shows a full phone or account ID:\n%s", en)
	}
	zh := pageUntil(t, l.URL, "zh-CN,zh;q=0.9", "请输入验证码")
	for _, want := range []string{`lang="zh-CN"`, "已绑定 0/3 个账号", "提交", "（Asia/Shanghai）"} {
		if !strings.Contains(zh, want) {
			t.Errorf("Chinese owner page lacks %q:\n%s", want, zh)
		}
	}
	if def := do(t, request{url: l.URL}); !strings.Contains(def.body, "请输入验证码") {
		t.Errorf("without Accept-Language the page is not in ONBOARD_LOCALE (zh-CN):\n%s", def.body)
	}

	live, _, _ := env.Store.LiveMember(context.Background(), rows[0].Phone)
	right, _ := env.Sandbox.LatestCode(live.AccountID)
	token := tokenField.FindStringSubmatch(en)[1]
	for name, r := range map[string]request{
		"foreign origin": {method: http.MethodPost, url: l.URL, form: url.Values{"code": {right}, "t": {token}},
			header: http.Header{"Origin": {"http://evil.example"}}},
		"cross-site fetch": {method: http.MethodPost, url: l.URL, form: url.Values{"code": {right}, "t": {token}},
			header: http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		"no form token": {method: http.MethodPost, url: l.URL, form: url.Values{"code": {right}}},
		"token of another link": {method: http.MethodPost, url: l.URL, form: url.Values{"code": {right},
			"t": {web.NewLinks(linkSecret, nil).FormToken("x")}}},
	} {
		if got := do(t, r); got.status != http.StatusForbidden || strings.Contains(got.body, `name="code"`) {
			t.Errorf("%s: status %d, want 403 and no form:\n%s", name, got.status, got.body)
		}
	}
	if m, _ := env.Store.Get(context.Background(), live.AccountID); m.State != member.CodeSent {
		t.Errorf("after refused forms the member is %s, want code_sent", m.State)
	}
	if got := postCode(t, proc.URL, l.URL, "12ab", "en"); got.status != 400 || !strings.Contains(got.body, "Enter the 6-digit code") {
		t.Errorf("malformed code: %d, want 400 asking for 6 digits:\n%s", got.status, got.body)
	}
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	if got := postCode(t, proc.URL, l.URL, wrong, "en"); got.status != http.StatusSeeOther {
		t.Fatalf("wrong code: %d, want 303:\n%s", got.status, got.body)
	}
	pageUntil(t, l.URL, "en", "That code was not right")

	for i := range rows {
		// The phone passes to its next account after the bind, at the
		// phone gap: wait for that account's code to be live.
		live := waitMember(t, env, rows[i].AccountID, func(m member.Member) bool { return m.State == member.CodeSent })
		code, _ := env.Sandbox.LatestCode(live.AccountID)
		got := postCode(t, "null", l.URL, code, "en")
		if got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), web.OwnerPath) {
			t.Fatalf("code %d: status %d to %q, want 303 back to the page:\n%s", i+1, got.status, got.header.Get("Location"), got.body)
		}
		after := do(t, request{url: proc.URL + got.header.Get("Location"), header: http.Header{"Accept-Language": {"en"}}})
		if !strings.Contains(after.body, "Checking your code") && !strings.Contains(after.body, fmt.Sprintf("%d of 3 accounts bound", i+1)) {
			t.Errorf("code %d: page after the code neither checks nor counts it:\n%s", i+1, after.body)
		}
		pageUntil(t, l.URL, "en", fmt.Sprintf("%d of 3 accounts bound", i+1))
	}
	done := pageUntil(t, l.URL, "en", "All done")
	if strings.Contains(done, `name="code"`) {
		t.Errorf("finished phone still shows a form:\n%s", done)
	}
	if got := do(t, request{method: http.MethodPost, url: l.URL, form: url.Values{"code": {"123456"}}}); got.status != http.StatusGone ||
		!strings.Contains(got.body, "链接已失效") {
		t.Errorf("code on a finished link: %d, want 410 saying the link is finished:\n%s", got.status, got.body)
	}
	if got := do(t, request{url: proc.URL + web.OwnerPath + flipLast(segment(t, l.URL, web.OwnerPath)), header: http.Header{"Accept-Language": {"en"}}}); got.status != 404 ||
		!strings.Contains(got.body, "This link is not valid") {
		t.Errorf("tampered owner link: %d, want 404 saying it is not valid:\n%s", got.status, got.body)
	}
}

// TestPhoneLinkOff: without a link secret the API answers 503 for owner
// links and the owner page says links are off.
func TestPhoneLinkOff(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	for pattern, h := range web.New(web.Params{Token: harness.Token}).Routes() {
		mux.Handle(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	if got := do(t, request{url: srv.URL + "/v1/phones/86-13900001234/link", header: bearer(harness.Token)}); got.status != 503 {
		t.Errorf("links off: %d, want 503: %s", got.status, got.body)
	}
	if got := do(t, request{url: srv.URL + web.OwnerPath + "1.x.y", header: http.Header{"Accept-Language": {"en"}}}); got.status != 404 ||
		!strings.Contains(got.body, "Links are turned off") {
		t.Errorf("owner page with links off: %d, want 404 saying so:\n%s", got.status, got.body)
	}
}
