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
