package member_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/tasks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

type testBundle struct {
	ctx   context.Context
	clock *fakeClock
}

// fakeClock is the store's clock in these tests, moved by hand.
type fakeClock = clock.Fake

func setup(t *testing.T) (*member.Store, *testBundle) {
	t.Helper()
	return setupWith(t, member.Options{})
}

// setupWith is setup with the store's options opts; its clock is the
// bundle's.
func setupWith(t *testing.T, opts member.Options) (*member.Store, *testBundle) {
	t.Helper()
	clock := clock.NewFake(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	opts.Now = clock.Now
	s := member.New(redistest.DB(t), opts)
	return s, &testBundle{ctx: context.Background(), clock: clock}
}

func admitOne(t *testing.T, s *member.Store, c member.Candidate, opts member.AdmitOptions) member.Admission {
	t.Helper()
	got, err := s.Admit(context.Background(), []member.Candidate{c}, opts)
	if err != nil {
		t.Fatalf("Admit: %v", err)
	}
	return got[0]
}

var alice = member.Candidate{AccountID: "1000000000000001", Phone: "86-13900001234", Batch: "roster"}

func TestAdmitNewMemberIsPendingWithHistory(t *testing.T) {
	t.Parallel()
	s, b := setup(t)

	a := admitOne(t, s, alice, member.AdmitOptions{})
	if a.Outcome != member.Created || a.Step != (tasks.Step{Generation: 1}) {
		t.Fatalf("admission = %+v, want new at g1s0", a)
	}
	m, err := s.Get(b.ctx, alice.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != member.Pending || m.Phone != alice.Phone || m.Batch != "roster" || !m.CreatedAt.Equal(b.clock.Now()) {
		t.Errorf("member = %+v", m)
	}
	h, err := s.History(b.ctx, alice.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	want := []member.Event{{At: b.clock.Now(), From: "", To: member.Pending, Reason: "admitted in batch roster"}}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	counts, err := s.Counts(b.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts[0].States[member.Pending] != 1 || counts[0].Total() != 1 {
		t.Errorf("counts = %+v, want one pending in roster", counts)
	}
}

func TestAdmitIsIdempotentAndFollowsPhoneRules(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	admitOne(t, s, alice, member.AdmitOptions{})

	if a := admitOne(t, s, alice, member.AdmitOptions{}); a.Outcome != member.StillPending {
		t.Errorf("same row while pending: %s, want pending", a.Outcome)
	}
	moveTo(t, s, alice.AccountID, member.Pending, member.CodeSent)
	if a := admitOne(t, s, alice, member.AdmitOptions{}); a.Outcome != member.Unchanged {
		t.Errorf("same row while code_sent: %s, want unchanged", a.Outcome)
	}

	changed := alice
	changed.Phone = "86-13900005678"
	a := admitOne(t, s, changed, member.AdmitOptions{})
	if a.Outcome != member.Restarted || a.Step != (tasks.Step{Generation: 2}) {
		t.Fatalf("changed phone before bind: %+v, want restarted at g2s0", a)
	}
	m, _ := s.Get(b.ctx, alice.AccountID)
	if m.State != member.Pending || m.Phone != changed.Phone || m.Sends != 0 {
		t.Errorf("restarted member = %+v", m)
	}

	moveTo(t, s, alice.AccountID, member.Pending, member.Bound)
	if a := admitOne(t, s, alice, member.AdmitOptions{}); a.Outcome != member.RefusedBound {
		t.Errorf("changed phone after bind: %s, want bound (refused)", a.Outcome)
	}
	m, _ = s.Get(b.ctx, alice.AccountID)
	if m.Phone != changed.Phone || m.State != member.Bound {
		t.Errorf("refused change altered the member: %+v", m)
	}
}

func TestAdmitRetryFailedRestartsOnlyFailedAndExpired(t *testing.T) {
	t.Parallel()
	s, _ := setup(t)
	for i, tc := range []struct {
		state member.State
		want  member.Outcome
	}{
		{member.Failed, member.Restarted},
		{member.Expired, member.Restarted},
		{member.Bound, member.Unchanged},
		{member.AlreadyBound, member.Unchanged},
		{member.CodeSent, member.Unchanged},
	} {
		c := member.Candidate{AccountID: "2" + leftPad(i), Phone: alice.Phone, Batch: "b"}
		admitOne(t, s, c, member.AdmitOptions{})
		moveTo(t, s, c.AccountID, member.Pending, tc.state)
		if a := admitOne(t, s, c, member.AdmitOptions{}); a.Outcome != member.Unchanged {
			t.Errorf("%s without --retry-failed: %s, want unchanged", tc.state, a.Outcome)
		}
		if a := admitOne(t, s, c, member.AdmitOptions{RetryFailed: true}); a.Outcome != tc.want {
			t.Errorf("%s with --retry-failed: %s, want %s", tc.state, a.Outcome, tc.want)
		}
	}
}

func TestAdmitDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	a := admitOne(t, s, alice, member.AdmitOptions{DryRun: true})
	if a.Outcome != member.Created {
		t.Errorf("dry run outcome %s, want new", a.Outcome)
	}
	n, err := s.Redis().DBSize(b.ctx).Result()
	if err != nil || n != 0 {
		t.Errorf("dry run left %d keys (err %v), want none", n, err)
	}
}

func TestAdmitSurvivesLostScriptCache(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	admitOne(t, s, alice, member.AdmitOptions{})
	if err := s.Redis().ScriptFlush(b.ctx).Err(); err != nil {
		t.Fatal(err)
	}
	bob := member.Candidate{AccountID: "1000000000000002", Phone: "86-13900002222", Batch: "roster"}
	if a := admitOne(t, s, bob, member.AdmitOptions{}); a.Outcome != member.Created {
		t.Errorf("after SCRIPT FLUSH: %s, want new", a.Outcome)
	}
}

func moveTo(t *testing.T, s *member.Store, id string, from, to member.State) member.Member {
	t.Helper()
	m, err := s.Transition(context.Background(), id, member.Move{From: []member.State{from}, To: to, Reason: "test"})
	if err != nil {
		t.Fatalf("move %s %s→%s: %v", id, from, to, err)
	}
	return m
}

func TestTransitionGuards(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	admitOne(t, s, alice, member.AdmitOptions{})
	expires := b.clock.Now().Add(5 * time.Minute)
	step := tasks.Step{Generation: 1, Send: 0}

	m, err := s.Transition(b.ctx, alice.AccountID, member.Move{
		From: []member.State{member.Pending}, To: member.CodeSent, Guard: &step,
		Reason: "code sent", RequestID: "req-1",
		Edits: []member.Edit{member.IncrSends(), member.SetExpiry(expires), member.SetError("X", "y")},
	})
	if err != nil {
		t.Fatalf("pending→code_sent: %v", err)
	}
	if m.State != member.CodeSent || m.Sends != 1 || !m.CodeExpiresAt.Equal(expires) || m.RequestID != "req-1" || m.LastErrorCode != "X" {
		t.Errorf("after send: %+v", m)
	}

	_, err = s.Transition(b.ctx, alice.AccountID, member.Move{From: []member.State{member.Pending}, To: member.CodeSent, Reason: "again"})
	var ce *member.ConflictError
	if !errors.Is(err, member.ErrConflict) || !errors.As(err, &ce) || ce.State != member.CodeSent {
		t.Errorf("second pending→code_sent: %v, want conflict naming code_sent", err)
	}

	_, err = s.Transition(b.ctx, alice.AccountID, member.Move{From: []member.State{member.CodeSent}, To: member.CodeSubmitted, Guard: &step, Reason: "old step"})
	if !errors.Is(err, member.ErrStale) {
		t.Errorf("guard at g1s0 when member is at g1s1: %v, want ErrStale", err)
	}

	_, err = s.Transition(b.ctx, "999", member.Move{From: []member.State{member.Pending}, To: member.CodeSent})
	if !errors.Is(err, member.ErrNotFound) {
		t.Errorf("unknown member: %v, want ErrNotFound", err)
	}

	m, err = s.Transition(b.ctx, alice.AccountID, member.Move{
		From: []member.State{member.CodeSent}, To: member.CodeSubmitted, Guard: &tasks.Step{Generation: 1, Send: 1},
		Reason: "code handed in", Edits: []member.Edit{member.SetCode("123456"), member.IncrAttempts(), member.ClearError()},
	})
	if err != nil || m.Code != "123456" || m.CodeAttempts != 1 || m.LastErrorCode != "" {
		t.Errorf("code_sent→code_submitted: %+v, %v", m, err)
	}

	h, _ := s.History(b.ctx, alice.AccountID)
	var path []string
	for _, e := range h {
		path = append(path, string(e.From)+"→"+string(e.To))
	}
	if diff := cmp.Diff([]string{"→pending", "pending→code_sent", "code_sent→code_submitted"}, path); diff != "" {
		t.Errorf("history path (-want +got):\n%s", diff)
	}
	if h[1].RequestID != "req-1" {
		t.Errorf("history lost the request ID: %+v", h[1])
	}
}

func TestRacingTransitionsHaveExactlyOneWinner(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	admitOne(t, s, alice, member.AdmitOptions{})

	const racers = 64
	var wg sync.WaitGroup
	results := make(chan error, racers)
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Transition(b.ctx, alice.AccountID, member.Move{
				From: []member.State{member.Pending}, To: member.CodeSent,
				Guard: &tasks.Step{Generation: 1}, Reason: "race", Edits: []member.Edit{member.IncrSends()},
			})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	wins, conflicts := 0, 0
	for err := range results {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, member.ErrConflict):
			conflicts++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 || conflicts != racers-1 {
		t.Errorf("wins=%d conflicts=%d, want 1 and %d", wins, conflicts, racers-1)
	}
	m, _ := s.Get(b.ctx, alice.AccountID)
	h, _ := s.History(b.ctx, alice.AccountID)
	if m.Sends != 1 || len(h) != 2 {
		t.Errorf("sends=%d history=%d, want 1 and 2", m.Sends, len(h))
	}
}

func TestScanAndCountsReadIndexes(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	var cands []member.Candidate
	for i := 0; i < 1200; i++ {
		batch := "a"
		if i%3 == 0 {
			batch = "b"
		}
		cands = append(cands, member.Candidate{AccountID: "3" + leftPad(i), Phone: alice.Phone, Batch: batch})
	}
	if _, err := s.Admit(b.ctx, cands, member.AdmitOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		moveTo(t, s, cands[i].AccountID, member.Pending, member.Failed)
	}

	seen := map[string]int{}
	err := s.Scan(b.ctx, member.Filter{Batch: "a"}, func(ms []member.Member) error {
		for _, m := range ms {
			seen[m.AccountID]++
			if m.Batch != "a" {
				t.Errorf("batch filter leaked %s of %s", m.AccountID, m.Batch)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 800 {
		t.Errorf("scan of batch a saw %d members, want 800", len(seen))
	}
	var failed int
	_ = s.Scan(b.ctx, member.Filter{State: member.Failed}, func(ms []member.Member) error {
		failed += len(ms)
		return nil
	})
	if failed != 10 {
		t.Errorf("scan of failed saw %d, want 10", failed)
	}
	counts, _ := s.Counts(b.ctx, "")
	got := map[string]int64{}
	for _, c := range counts {
		got[c.Batch+"/pending"] = c.States[member.Pending]
		got[c.Batch+"/failed"] = c.States[member.Failed]
	}
	want := map[string]int64{"a/pending": 794, "a/failed": 6, "b/pending": 396, "b/failed": 4}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func leftPad(i int) string {
	s := "000000000000000" + strconv.Itoa(i)
	return s[len(s)-15:]
}

func TestMemberJSONMasksPhoneAndHidesCode(t *testing.T) {
	t.Parallel()
	m := member.Member{AccountID: "1", Phone: "86-13900001234", Code: "654321", State: member.CodeSubmitted}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "13900001234") || strings.Contains(s, "654321") || !strings.Contains(s, `"mobile_phone":"86-139****1234"`) {
		t.Errorf("member JSON = %s", s)
	}
}

// TestCountSubmissionKnowsARepeat: the code already taken, handed in again
// while it is checked or after it bound, is a repeat that costs no attempt;
// another code is counted as usual, and a new send forgets the code.
func TestCountSubmissionKnowsARepeat(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	admitOne(t, s, alice, member.AdmitOptions{})
	id := alice.AccountID
	moveTo(t, s, id, member.Pending, member.CodeSent)
	first, other := codePrint(t, s, id, "123456"), codePrint(t, s, id, "654321")
	if first == other || strings.Contains(first, "123456") {
		t.Fatalf("fingerprints %q and %q: want distinct and not the code", first, other)
	}

	count := func(print string) member.Submission {
		t.Helper()
		sub, err := s.CountSubmission(b.ctx, id, print, 3)
		if err != nil {
			t.Fatalf("CountSubmission: %v", err)
		}
		return sub
	}
	if sub := count(first); sub.Repeat || sub.State != member.CodeSent {
		t.Errorf("first code: %+v, want counted while code_sent", sub)
	}
	// Still code_sent (its task not yet run): the same code counts again,
	// as the first may never have been queued.
	if sub := count(first); sub.Repeat {
		t.Errorf("same code while code_sent: %+v, want counted", sub)
	}
	moveTo(t, s, id, member.CodeSent, member.CodeSubmitted)
	if sub := count(first); !sub.Repeat || sub.State != member.CodeSubmitted {
		t.Errorf("same code while code_submitted: %+v, want a repeat", sub)
	}
	moveTo(t, s, id, member.CodeSubmitted, member.Bound)
	if sub := count(first); !sub.Repeat || sub.State != member.Bound {
		t.Errorf("same code once bound: %+v, want a repeat", sub)
	}
	if _, err := s.CountSubmission(b.ctx, id, other, 3); !errors.Is(err, member.ErrNotWaiting) {
		t.Errorf("another code once bound: %v, want ErrNotWaiting", err)
	}
	// Two codes counted of three: one more is allowed, then none.
	_, err := s.Transition(b.ctx, id, member.Move{From: []member.State{member.Bound}, To: member.CodeSubmitted, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if sub := count(other); sub.Repeat {
		t.Errorf("another code while code_submitted: %+v, want counted", sub)
	}
	if _, err := s.CountSubmission(b.ctx, id, codePrint(t, s, id, "111111"), 3); !errors.Is(err, member.ErrTooManyAttempts) {
		t.Errorf("fourth code of three: %v, want ErrTooManyAttempts", err)
	}
	// A new code sent: the old one is forgotten and the count restarts.
	_, err = s.Transition(b.ctx, id, member.Move{From: []member.State{member.CodeSubmitted}, To: member.CodeSent,
		Reason: "test", Edits: []member.Edit{member.ResetSubmissions()}})
	if err != nil {
		t.Fatal(err)
	}
	moveTo(t, s, id, member.CodeSent, member.CodeSubmitted)
	if sub := count(other); sub.Repeat {
		t.Errorf("old code after a new send: %+v, want counted, not a repeat", sub)
	}
}

func codePrint(t *testing.T, s *member.Store, id, code string) string {
	t.Helper()
	p, err := s.CodePrint(context.Background(), id, code)
	if err != nil {
		t.Fatalf("CodePrint: %v", err)
	}
	return p
}
