package flow_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// sharedRows returns members on shared phones: one phone with 12
// accounts, three with 4, and 10 phones of their own.
func sharedRows() []harness.Row {
	var rows []harness.Row
	add := func(phone string, n int) {
		for range n {
			rows = append(rows, harness.Row{AccountID: fmt.Sprintf("1%015d", len(rows)), Phone: phone})
		}
	}
	add("86-13800000000", 12)
	for i := 1; i <= 3; i++ {
		add(fmt.Sprintf("86-1380000000%d", i), 4)
	}
	for i := 0; i < 10; i++ {
		add(fmt.Sprintf("86-13900%06d", i), 1)
	}
	return rows
}

// TestSharedPhonesGetOneLiveCodeAtATime: owners who see only their
// phone's SMS and hand codes in by phone bind every member, never holding
// two live codes, one SMS per member, SMS to one phone at least the phone
// gap apart.
func TestSharedPhonesGetOneLiveCodeAtATime(t *testing.T) {
	t.Parallel()
	const gap = 200 * time.Millisecond
	rows := sharedRows()
	env := harness.Start(t, harness.Options{Workers: 2, Configure: func(c *config.Config) { c.PhoneGap = gap }})
	owners := env.StartPhoneOwners(env.Worker(1), harness.Correct)

	if sum := env.Enqueue("shared", rows, ingest.Options{}); sum.Accepted != int64(len(rows)) {
		t.Fatalf("accepted %d, want %d", sum.Accepted, len(rows))
	}
	got := env.WaitTerminal(int64(len(rows)), 60*time.Second)
	if got[member.Bound] != int64(len(rows)) {
		t.Errorf("bound %d of %d (counts %v)", got[member.Bound], len(rows), got)
	}
	stats := env.Sandbox.Stats()
	t.Logf("%d SMS, %d phone overlaps, shortest gap on one phone %dms", stats.SMSSent, stats.PhoneOverlaps, stats.MinPhoneGapMS)
	if stats.PhoneOverlaps != 0 {
		t.Errorf("%d SMS sent while another account's code for the phone was live", stats.PhoneOverlaps)
	}
	if stats.SMSSent != len(rows) {
		t.Errorf("%d SMS sent, want one per member (%d)", stats.SMSSent, len(rows))
	}
	if stats.MinPhoneGapMS < gap.Milliseconds() {
		t.Errorf("shortest gap between two SMS to one phone %dms, want at least %s", stats.MinPhoneGapMS, gap)
	}
	for id, n := range stats.Binds {
		if n != 1 {
			t.Errorf("account %s bound %d times", id, n)
		}
	}
	owners.Stop()
	if st := owners.Statuses(); st[http.StatusAccepted] != len(rows) {
		t.Errorf("owner answers by status %v, want %d accepted", st, len(rows))
	}
}

// TestCodeByPhoneAnswers: a code named by phone (any accepted spelling)
// goes to the member whose code is live; a phone nobody has is 404, a
// phone whose members wait for no code 409, both fields at once 400.
func TestCodeByPhoneAnswers(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Sandbox: sandbox.Options{CodeTTL: time.Hour},
		Configure: func(c *config.Config) { c.PhoneGap = 100 * time.Millisecond }})
	rows := []harness.Row{{AccountID: "1000000000000001", Phone: "86-13800001111"}, {AccountID: "1000000000000002", Phone: "86-13800001111"}}
	env.Enqueue("byphone", rows, ingest.Options{})
	env.WaitFor(20*time.Second, func(c map[member.State]int64) bool { return c[member.CodeSent] == 1 })
	w := env.Worker(0)
	if got := env.PostPhoneCode(w, "+86 139 0000 9999", "123456"); got != http.StatusNotFound {
		t.Errorf("unknown phone: %d, want 404", got)
	}
	sms := env.Sandbox.SMS(rows[0].Phone)
	if len(sms) != 1 || sms[0].AccountID != rows[0].AccountID {
		t.Fatalf("SMS to the phone %+v, want one, for the first member", sms)
	}
	if got := env.PostPhoneCode(w, "+86 138 0000 1111", sms[0].Code); got != http.StatusAccepted {
		t.Errorf("code by phone: %d, want 202", got)
	}
	// The phone moves on to the second member; its code by phone is its.
	env.WaitFor(20*time.Second, func(c map[member.State]int64) bool { return c[member.Bound] == 1 && c[member.CodeSent] == 1 })
	sms = env.Sandbox.SMS(rows[0].Phone)
	if len(sms) != 2 || sms[1].AccountID != rows[1].AccountID {
		t.Fatalf("SMS to the phone %+v, want a second, for the second member", sms)
	}
	if got := env.PostPhoneCode(w, rows[0].Phone, sms[1].Code); got != http.StatusAccepted {
		t.Errorf("second code by phone: %d, want 202", got)
	}
	if got := env.WaitTerminal(2, 20*time.Second); got[member.Bound] != 2 {
		t.Errorf("counts %v, want both bound", got)
	}
	if got := env.PostPhoneCode(w, rows[0].Phone, "123456"); got != http.StatusConflict {
		t.Errorf("phone with no live code: %d, want 409", got)
	}
}
