package web_test

import (
	"strings"
	"testing"

	"github.com/rdonboard/rdonboard/internal/member"
)

// TestStatusPageSaysWhatPendingMembersWaitFor: members of a phone whose
// first member holds a live code wait for the phone, and the status page
// says so.
func TestStatusPageSaysWhatPendingMembersWaitFor(t *testing.T) {
	env, proc := start(t, nil)
	rows := sharedPhone(t, env, "shared", 9101, 3)
	waitMember(t, env, rows[0].AccountID, func(m member.Member) bool { return m.State == member.CodeSent })
	for _, r := range rows[1:] {
		waitMember(t, env, r.AccountID, func(m member.Member) bool { return m.WaitingFor == "phone" })
	}
	page := do(t, request{url: proc.URL + "/", header: withCookie(login(t, proc.URL))})
	if page.status != 200 || !strings.Contains(page.body, `<p id="waiting">Pending members wait for: <code>phone</code> 2`) {
		t.Errorf("status page: %d, want it to say 2 pending members wait for their phone:\n%s", page.status, page.body)
	}
}
