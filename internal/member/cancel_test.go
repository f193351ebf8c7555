package member_test

import (
	"testing"

	"github.com/rdonboard/rdonboard/internal/member"
)

// TestCancelStopsUnfinishedMembersAndHandsThePhoneOn: members not
// terminal become cancelled, finished ones are left alone, the phone's
// turn passes to its next member, and the batch lists no live member after.
func TestCancelStopsUnfinishedMembersAndHandsThePhoneOn(t *testing.T) {
	t.Parallel()
	s, b := setup(t)
	ctx := b.ctx
	c := admitShared(t, s, 3)
	if turn, err := s.TakeTurn(ctx, c[0].AccountID); err != nil || !turn.Mine {
		t.Fatalf("TakeTurn = %+v, %v", turn, err)
	}
	moveTo(t, s, c[0].AccountID, member.Pending, member.CodeSent)
	moveTo(t, s, c[2].AccountID, member.Pending, member.Bound)

	done, err := s.Cancel(ctx, []string{c[0].AccountID, c[2].AccountID, "9999999999999999"}, "test cancel")
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0].AccountID != c[0].AccountID || done[0].State != member.CodeSent {
		t.Fatalf("cancelled %+v, want only the first (was code_sent)", done)
	}
	if h := done[0].HandOn; h == nil || h.AccountID != c[1].AccountID {
		t.Errorf("hand-on = %+v, want the second member", done[0].HandOn)
	}
	if m, _ := s.Get(b.ctx, c[2].AccountID); m.State != member.Bound {
		t.Errorf("bound member is %s after cancel", m.State)
	}
	ids, err := s.LiveIDs(ctx, "roster")
	if err != nil || len(ids) != 1 || ids[0] != c[1].AccountID {
		t.Errorf("LiveIDs = %v, %v; want the second member", ids, err)
	}
}
