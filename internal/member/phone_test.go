package member_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/tasks"
)

const shared = "86-13900005555"

func sharedCands(n int) []member.Candidate {
	out := make([]member.Candidate, n)
	for i := range out {
		out[i] = member.Candidate{
			AccountID: "20000000000000" + string(rune('a'+i)), Phone: shared, Batch: "roster",
			DisplayName: "acct-" + string(rune('a'+i)), Email: "owner@example.com",
		}
	}
	// Account IDs out of order, so admission order cannot be mistaken for
	// ID order.
	slices.Reverse(out)
	return out
}

// admitShared admits the n members of sharedCands(n).
func admitShared(t *testing.T, s *member.Store, n int) []member.Candidate {
	t.Helper()
	cands := sharedCands(n)
	if _, err := s.Admit(context.Background(), cands, member.AdmitOptions{}); err != nil {
		t.Fatal(err)
	}
	return cands
}

// recordSMS moves member id from pending to code_sent, noting an SMS to
// its phone.
func recordSMS(t *testing.T, s *member.Store, id string) {
	t.Helper()
	if _, err := s.Transition(context.Background(), id, member.Move{
		From: []member.State{member.Pending}, To: member.CodeSent, Reason: "sent", Edits: []member.Edit{member.NoteSMS()},
	}); err != nil {
		t.Fatal(err)
	}
}

func ids(ms []member.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.AccountID
	}
	return out
}

func TestPhoneMembersInAdmissionOrderWithNames(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	cands := admitShared(t, s, 4)
	admitOne(t, s, alice, member.AdmitOptions{})
	ms, err := s.PhoneMembers(b.ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{cands[0].AccountID, cands[1].AccountID, cands[2].AccountID, cands[3].AccountID}
	if got := ids(ms); !slices.Equal(got, want) {
		t.Fatalf("PhoneMembers = %v, want %v", got, want)
	}
	if ms[0].DisplayName != cands[0].DisplayName || ms[0].Email != "owner@example.com" {
		t.Errorf("member = %+v, want the roster's name and email", ms[0])
	}
	var phones []string
	if err := s.ListPhones(b.ctx, func(p string) error { phones = append(phones, p); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(phones)
	if !slices.Equal(phones, []string{alice.Phone, shared}) {
		t.Errorf("ListPhones = %v", phones)
	}
}

func TestChangedPhoneMovesMemberToTheNewPhone(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	cands := admitShared(t, s, 3)
	moved := cands[0]
	moved.Phone = alice.Phone
	if a := admitOne(t, s, moved, member.AdmitOptions{}); a.Outcome != member.Restarted {
		t.Fatalf("outcome = %s, want restarted", a.Outcome)
	}
	old, _ := s.PhoneMembers(b.ctx, shared)
	now, _ := s.PhoneMembers(b.ctx, alice.Phone)
	if slices.Contains(ids(old), moved.AccountID) || !slices.Equal(ids(now), []string{moved.AccountID}) {
		t.Errorf("old phone %v, new phone %v", ids(old), ids(now))
	}
	// The last member leaving a phone takes it off the list of phones.
	single := member.Candidate{AccountID: "3000000000000001", Phone: "86-13900007777", Batch: "roster"}
	admitOne(t, s, single, member.AdmitOptions{})
	single.Phone = alice.Phone
	admitOne(t, s, single, member.AdmitOptions{})
	err := s.ListPhones(b.ctx, func(p string) error {
		if p == "86-13900007777" {
			return errors.New("phone without members listed")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

func TestPhoneSummaryAndLiveMember(t *testing.T) {
	t.Parallel()
	s, b := setupWith(t, member.Options{PhoneGap: time.Minute})
	ctx, clock := b.ctx, b.clock
	cands := admitShared(t, s, 3)
	if _, ok, err := s.LiveMember(ctx, shared); err != nil || ok {
		t.Fatalf("LiveMember before any send: ok=%v err=%v", ok, err)
	}
	moveTo(t, s, cands[0].AccountID, member.Pending, member.AlreadyBound)
	// The SMS may reach the phone before its send is recorded: the turn
	// holder whose send is in flight is the member the code is for.
	if _, err := s.TakeTurn(ctx, cands[1].AccountID); err != nil {
		t.Fatal(err)
	}
	if live, ok, err := s.LiveMember(ctx, shared); err != nil || ok {
		t.Fatalf("LiveMember with the turn taken, no send yet = %s ok=%v err=%v, want none", live.AccountID, ok, err)
	}
	if _, err := s.Transition(ctx, cands[1].AccountID, member.MarkSend.Move("", member.SetSending(tasks.Step{Generation: 1}))); err != nil {
		t.Fatal(err)
	}
	if live, ok, err := s.LiveMember(ctx, shared); err != nil || !ok || live.AccountID != cands[1].AccountID {
		t.Fatalf("LiveMember with the send in flight = %s ok=%v err=%v, want %s", live.AccountID, ok, err, cands[1].AccountID)
	}
	recordSMS(t, s, cands[1].AccountID)
	sentAt := clock.Now()
	clock.Advance(10 * time.Second)
	live, ok, err := s.LiveMember(ctx, shared)
	if err != nil || !ok || live.AccountID != cands[1].AccountID {
		t.Fatalf("LiveMember = %s ok=%v err=%v, want %s", live.AccountID, ok, err, cands[1].AccountID)
	}
	sum, err := s.PhoneSummary(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	want := member.PhoneSummary{Phone: shared, Email: "owner@example.com", Accounts: 3, Bound: 1, Terminal: 1,
		Live: cands[1].AccountID, LastSent: sentAt, NextSend: sentAt.Add(time.Minute)}
	if sum != want {
		t.Errorf("summary = %+v\nwant      %+v", sum, want)
	}
	if sum.Done() {
		t.Error("Done with members left")
	}
}

func TestCancelledIsTerminalAndShown(t *testing.T) {
	t.Parallel()
	if !member.Cancelled.Terminal() {
		t.Error("cancelled is not terminal")
	}
	if st, err := member.ParseState("cancelled"); err != nil || st != member.Cancelled {
		t.Errorf("ParseState(cancelled) = %q, %v", st, err)
	}
	m := member.Member{AccountID: "1", Phone: alice.Phone, State: member.Pending, DisplayName: "prod-payments", WaitingFor: member.WaitingPhone}
	b, _ := json.Marshal(m)
	if !strings.Contains(string(b), `"display_name":"prod-payments"`) || !strings.Contains(string(b), `"waiting_for":"phone"`) {
		t.Errorf("member JSON = %s", b)
	}
}

func TestAdmitRestartsCancelledWithoutRetryFlag(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	admitOne(t, s, alice, member.AdmitOptions{})
	moveTo(t, s, alice.AccountID, member.Pending, member.Cancelled)
	if a := admitOne(t, s, alice, member.AdmitOptions{}); a.Outcome != member.Restarted || a.Step.Generation != 2 {
		t.Errorf("admission of a cancelled member = %+v, want restarted at generation 2", a)
	}
}
