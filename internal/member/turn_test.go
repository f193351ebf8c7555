package member_test

import (
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/member"
)

// TestPhoneTurnPassesInAdmissionOrder: only the turn holder of a phone may
// send; the others are marked waiting_for=phone; the holder's end hands
// the turn to the next pending member, due a phone gap after the last SMS;
// a turn lost with its holder (nobody handed on) is repaired.
func TestPhoneTurnPassesInAdmissionOrder(t *testing.T) {
	t.Parallel()
	s, b := setupWith(t, member.Options{PhoneGap: time.Minute})
	ctx, clock := b.ctx, b.clock
	c := admitShared(t, s, 3)
	// The third member's send runs first: the turn goes to the first
	// admitted, whose send is named to be enqueued.
	turn, err := s.TakeTurn(ctx, c[2].AccountID)
	if err != nil || turn.Mine || turn.Next == nil || turn.Next.AccountID != c[0].AccountID {
		t.Fatalf("TakeTurn(third) = %+v, %v; want wait, turn to the first", turn, err)
	}
	if m, _ := s.Get(ctx, c[2].AccountID); m.WaitingFor != member.WaitingPhone {
		t.Errorf("waiting member says waiting_for=%q", m.WaitingFor)
	}
	if turn, _ := s.TakeTurn(ctx, c[0].AccountID); !turn.Mine || !turn.NotBefore.IsZero() {
		t.Fatalf("TakeTurn(first) = %+v, want mine at once", turn)
	}
	recordSMS(t, s, c[0].AccountID)
	sentAt := clock.Now()
	clock.Advance(5 * time.Second)
	after, err := s.Transition(ctx, c[0].AccountID, member.Move{From: []member.State{member.CodeSent}, To: member.Failed, Reason: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if h := after.HandOn; h == nil || h.AccountID != c[1].AccountID || !h.At.Equal(sentAt.Add(time.Minute)) {
		t.Fatalf("hand-on = %+v, want the second member at last SMS + gap", after.HandOn)
	}
	// The second member ends while nobody enqueued the third's send (a
	// worker killed in between): a repair hands the turn on.
	moveTo(t, s, c[1].AccountID, member.Pending, member.Cancelled)
	if err := s.Redis().Del(ctx, "rdonboard:pt:"+shared).Err(); err != nil {
		t.Fatal(err)
	}
	h, err := s.RepairTurn(ctx, shared)
	if err != nil || h == nil || h.AccountID != c[2].AccountID {
		t.Fatalf("RepairTurn = %+v, %v; want the third member", h, err)
	}
	if h, _ := s.RepairTurn(ctx, shared); h != nil {
		t.Errorf("second RepairTurn handed on again to %s", h.AccountID)
	}
}
