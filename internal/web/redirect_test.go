package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/rdonboard/rdonboard/internal/harness"
)

// TestLoginRedirectStaysOnThisHost logs in with next values that a browser
// would read as another host (tabs and newlines it strips, backslashes it
// reads as slashes, scheme-relative and absolute URLs): each lands on /,
// while paths on this host are kept.
func TestLoginRedirectStaysOnThisHost(t *testing.T) {
	t.Parallel()
	_, proc := start(t, nil)
	away := []string{
		"/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\t\\evil.example",
		"//evil.example", "/\\evil.example", "\\/evil.example", "https://evil.example/",
		"http:/evil.example", "javascript:alert(1)", " //evil.example", "/\x00/evil.example",
		"\t//evil.example", "//evil.example@x", "evil.example", "",
	}
	for _, next := range away {
		if got := loginTo(t, proc.URL, next); got != "/" {
			t.Errorf("next=%q redirected to %q, want /", next, got)
		}
	}
	kept := []string{"/monitoring/queues/send", "/?state=failed&batch=roster", "/monitoring/", "/a%2F%2Fb"}
	for _, next := range kept {
		if got := loginTo(t, proc.URL, next); got != next {
			t.Errorf("next=%q redirected to %q, want it kept", next, got)
		}
	}
}

// loginTo logs in with the right token and next, and returns where the
// answer sends the browser.
func loginTo(t *testing.T, base, next string) string {
	t.Helper()
	a := do(t, request{method: http.MethodPost, url: base + "/login",
		form: url.Values{"token": {harness.Token}, "next": {next}}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("login with next=%q: status %d, want 303", next, a.status)
	}
	return a.header.Get("Location")
}
