package member_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
)

// indexStore is a store whose clock stands still unless moved, so members
// admitted together share one index score.
func indexStore(t *testing.T) (*member.Store, *time.Time) {
	t.Helper()
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	return member.New(redistest.DB(t), member.Options{Now: func() time.Time { return now }}), &now
}

func admitN(t *testing.T, s *member.Store, first, n int) []string {
	t.Helper()
	ids := make([]string, n)
	cands := make([]member.Candidate, n)
	for i := range cands {
		ids[i] = fmt.Sprintf("7%015d", first+i)
		cands[i] = member.Candidate{AccountID: ids[i], Phone: "86-13900001234", Batch: "a"}
	}
	if _, err := s.Admit(context.Background(), cands, member.AdmitOptions{}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestScanIndexSeesEveryMemberThatStays moves members out of the index
// under the scan's feet: more members share one score than a page holds,
// and after each page its first and last members (the cursor) and one of
// a later page leave. Every member that stayed is seen exactly once.
func TestScanIndexSeesEveryMemberThatStays(t *testing.T) {
	t.Parallel()
	s, _ := indexStore(t)
	ctx := context.Background()
	ids := admitN(t, s, 0, 3*member.PageSize+17)
	pos := map[string]int{}
	for i, id := range ids {
		pos[id] = i
	}
	leave := func(id string) {
		_, _ = s.Transition(ctx, id, member.Move{From: []member.State{member.Pending}, To: member.Failed, Reason: "test"})
	}
	seen := map[string]int{}
	err := s.ScanIndex(ctx, "a", member.Pending, member.NoLimit, func(ms []member.Member) error {
		for _, m := range ms {
			seen[m.AccountID]++
		}
		last := ms[len(ms)-1].AccountID
		leave(ms[0].AccountID)
		leave(last)
		if later := pos[last] + 10; later < len(ids) {
			leave(ids[later])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stayed := 0
	for _, id := range ids {
		if m, _ := s.Get(ctx, id); m.State != member.Pending {
			continue
		}
		stayed++
		if seen[id] != 1 {
			t.Errorf("member %s stayed pending and was seen %d times, want once", id, seen[id])
		}
	}
	if stayed < len(ids)-12 {
		t.Fatalf("only %d of %d stayed", stayed, len(ids))
	}
}

func TestScanIndexStopsAtTheScoreLimit(t *testing.T) {
	t.Parallel()
	s, now := indexStore(t)
	early := admitN(t, s, 0, 30)
	limit := now.UnixMilli()
	*now = now.Add(time.Second)
	admitN(t, s, 100, 30)
	var got []string
	err := s.ScanIndex(context.Background(), "a", member.Pending, limit, func(ms []member.Member) error {
		for _, m := range ms {
			got = append(got, m.AccountID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(early) || got[0] != early[0] || got[len(got)-1] != early[len(early)-1] {
		t.Errorf("scan up to the limit saw %d members (%v…), want the %d admitted before it, in order", len(got), got[:min(3, len(got))], len(early))
	}
}
