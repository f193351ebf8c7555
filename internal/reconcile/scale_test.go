package reconcile_test

import (
	"testing"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/runlog"
	"github.com/rdonboard/rdonboard/tasks"
)

// tenThousand admits 10k pending members; every other one has its send
// task, the rest lost theirs.
func tenThousand(t testing.TB) (*bundle, int) {
	b := setup(t, harness.Options{Workers: -1})
	const n = 10000
	rows := harness.Members(0, n)
	for i := 0; i < n; i += 1000 {
		b.admit(t, rows[i:i+1000]...)
	}
	for i := 0; i < n; i += 2 {
		task, _ := tasks.NewSendCode(rows[i].AccountID, tasks.Step{Generation: 1})
		if _, err := b.env.Client.Enqueue(task); err != nil {
			t.Fatal(err)
		}
	}
	return b, n
}

func TestRunPagesTenThousandMembers(t *testing.T) {
	t.Parallel()
	b, n := tenThousand(t)

	s := b.run(t, false)

	if s.MembersScanned != n {
		t.Errorf("scanned %d members, want %d", s.MembersScanned, n)
	}
	wantRepairs(t, s, map[string]int{runlog.RepairSendRequeued: n / 2})
	if s.ErrorCount != 0 {
		t.Errorf("%d errors: %v", s.ErrorCount, s.Errors)
	}
	info, err := b.insp.GetQueueInfo(tasks.QueueSend)
	if err != nil || info.Pending != n {
		t.Errorf("send queue: %+v %v, want %d pending sends", info, err, n)
	}
	if c := b.env.Counts(); c[member.Pending] != int64(n) {
		t.Errorf("counts %v, want %d pending", c, n)
	}
}

// BenchmarkReconcileRun10k times one run over 10k pending members whose
// tasks are all there (a task lookup each, no repair), after a first run
// that put back the 5k lost ones.
func BenchmarkReconcileRun10k(b *testing.B) {
	bb, n := tenThousand(b)
	bb.run(b, false)
	b.ResetTimer()
	for b.Loop() {
		if s := bb.run(b, false); s.MembersScanned != n || s.TotalRepairs() != 0 {
			b.Fatalf("scanned %d, repairs %v", s.MembersScanned, s.Repairs)
		}
	}
}

// BenchmarkReconcileRun10kRepairs times one run over 10k pending members
// of which 5k lost their send task: 10k lookups, 5k repairs (a history
// entry and an enqueue each).
func BenchmarkReconcileRun10kRepairs(b *testing.B) {
	bb, n := tenThousand(b)
	for b.Loop() {
		b.StopTimer()
		if _, err := bb.insp.DeleteAllPendingTasks(tasks.QueueSend); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < n; i += 2 {
			task, _ := tasks.NewSendCode(harness.Members(i, 1)[0].AccountID, tasks.Step{Generation: 1})
			if _, err := bb.env.Client.Enqueue(task); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if s := bb.run(b, false); s.Repairs[runlog.RepairSendRequeued] != n/2 {
			b.Fatalf("repairs %v", s.Repairs)
		}
	}
}
