package flow_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// TestFailedAndExpiredMembersHandThePhoneOn: on a phone of three, the
// first member fails (its account does not exist) and the second expires
// (its owner never answers, one code only); each end passes the phone on
// and the third member binds, with never two codes of the phone live.
func TestFailedAndExpiredMembersHandThePhoneOn(t *testing.T) {
	t.Parallel()
	const phone = "86-13800002222"
	rows := []harness.Row{{AccountID: "1000000000000011", Phone: phone},
		{AccountID: "1000000000000012", Phone: phone}, {AccountID: "1000000000000013", Phone: phone}}
	faults := sandbox.Faults{Accounts: map[string]sandbox.AccountFault{rows[0].AccountID: {Missing: true}}}
	env := harness.Start(t, harness.Options{Sandbox: sandbox.Options{CodeTTL: 300 * time.Millisecond, Faults: faults},
		Configure: func(c *config.Config) { c.PhoneGap, c.MaxSends = 50*time.Millisecond, 1 }})
	env.StartOwners(env.Worker(0), func(sms sandbox.SMS, _ int) harness.Answer {
		return harness.Answer{Code: sms.Code, Skip: sms.AccountID == rows[1].AccountID}
	})
	env.Enqueue("ends", rows, ingest.Options{})
	env.WaitTerminal(3, 30*time.Second)

	for i, want := range []member.State{member.Failed, member.Expired, member.Bound} {
		if got := state(t, env, rows[i].AccountID); got != want {
			t.Errorf("member %d: %s, want %s", i, got, want)
		}
	}
	if st := env.Sandbox.Stats(); st.PhoneOverlaps != 0 || st.SMSSent != 2 {
		t.Errorf("%d SMS, %d phone overlaps; want 2 (expired and bound member) and 0", st.SMSSent, st.PhoneOverlaps)
	}
}

// TestChangedPhoneMovesTheMember: admitted again with a new phone, a
// member waiting for its phone's turn moves to the new phone and binds
// there; the member holding the turn (its code live, unanswered) moves
// too, and its old phone's next member is sent its code at once, not
// after a reconciliation.
func TestChangedPhoneMovesTheMember(t *testing.T) {
	t.Parallel()
	const oldPhone, waitPhone, holdPhone = "86-13800003333", "86-13800004444", "86-13800005555"
	holder, waiter, next := "1000000000000021", "1000000000000022", "1000000000000023"
	rows := []harness.Row{{AccountID: holder, Phone: oldPhone}, {AccountID: waiter, Phone: oldPhone}, {AccountID: next, Phone: oldPhone}}
	env := harness.Start(t, harness.Options{Sandbox: sandbox.Options{CodeTTL: time.Hour},
		Configure: func(c *config.Config) { c.PhoneGap = 50 * time.Millisecond }})
	env.StartOwners(env.Worker(0), func(sms sandbox.SMS, _ int) harness.Answer {
		// The holder's owner never answers the code sent to the old phone.
		return harness.Answer{Code: sms.Code, Skip: sms.AccountID == holder && sms.Phone == oldPhone}
	})
	env.Enqueue("first", rows, ingest.Options{})
	env.WaitFor(20*time.Second, func(c map[member.State]int64) bool { return c[member.CodeSent] == 1 })
	if m := get(t, env, waiter); m.WaitingFor != member.WaitingPhone {
		t.Fatalf("second member waits for %q, want phone", m.WaitingFor)
	}

	env.Enqueue("moved", []harness.Row{{AccountID: waiter, Phone: waitPhone}}, ingest.Options{})
	env.WaitFor(20*time.Second, func(c map[member.State]int64) bool { return c[member.Bound] == 1 })
	env.Enqueue("moved", []harness.Row{{AccountID: holder, Phone: holdPhone}}, ingest.Options{})
	got := env.WaitTerminal(3, 20*time.Second)
	if got[member.Bound] != 3 {
		t.Fatalf("counts %v, want all three bound", got)
	}
	for phone, want := range map[string][]string{oldPhone: {holder, next}, waitPhone: {waiter}, holdPhone: {holder}} {
		if got := accounts(env.Sandbox.SMS(phone)); !slices.Equal(got, want) {
			t.Errorf("SMS to %s for %v, want %v", phone, got, want)
		}
	}
	for _, id := range []string{holder, waiter} {
		if m := get(t, env, id); m.Generation != 2 {
			t.Errorf("%s: generation %d, want 2 (restarted on its new phone)", id, m.Generation)
		}
	}
}

func get(t *testing.T, env *harness.Env, id string) member.Member {
	t.Helper()
	m, err := env.Store.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return m
}

func state(t *testing.T, env *harness.Env, id string) member.State { return get(t, env, id).State }

func accounts(sms []sandbox.SMS) []string {
	out := make([]string, len(sms))
	for i, s := range sms {
		out[i] = s.AccountID
	}
	return out
}
