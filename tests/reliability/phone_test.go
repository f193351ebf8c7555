package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// TestWorkerKilledWhileTurnPasses kills the only worker (SIGKILL) the
// moment the first member of a shared phone is bound, while the phone's
// turn passes to the next member. A new worker finishes the phone: every
// member bound, one SMS each, never two codes of the phone live at once,
// and no wait for the dead worker's leases to end. The hand-on is kept in
// Redis with the move that bound the member; should the kill land between
// the move and the enqueue of the next send, reconciliation (every 5 s
// here) enqueues that send again once the member has waited a minute.
func TestWorkerKilledWhileTurnPasses(t *testing.T) {
	t.Parallel()
	r := newRig(t, rigOptions{Env: map[string]string{
		"ONBOARD_PHONE_GAP":      "2s",
		"ONBOARD_RECONCILE_CRON": "@every 5s",
	}})
	rows := samePhone(4, "86-13799990000")
	victim := r.startWorker()
	owners := r.startOwners(victim)
	r.enqueueRows("turn", rows)

	waitState(t, r, rows[0].id, member.Bound)
	victim.kill()
	killed := time.Now()
	t.Logf("hand-on send of the next member enqueued before the kill: %v", r.sendQueued(rows[1].id))

	owners.Retarget(r.startWorker())
	r.waitFor(90*time.Second, "every member of the phone terminal", terminal(int64(len(rows))), nil)
	t.Logf("remaining members bound %s after the kill", time.Since(killed).Round(time.Millisecond))
	r.requireAllBound(rows, 1)
	if st := r.cloud.Stats(t); st.PhoneOverlaps != 0 || st.MinPhoneGapMS < 2000 {
		t.Errorf("phone overlaps %d, shortest gap %d ms; want 0 and at least 2000", st.PhoneOverlaps, st.MinPhoneGapMS)
	}
}

// samePhone returns n rows with distinct account IDs on one phone.
func samePhone(n int, phone string) []row {
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{id: fmt.Sprintf("2%015d", i), phone: phone}
	}
	return rows
}

// waitState polls member id until it is in state st.
func waitState(t *testing.T, r *rig, id string, st member.State) {
	t.Helper()
	testwait.Until(t, 30*time.Second, fmt.Sprintf("member %s %s", id, st), func() bool {
		m, err := r.store.Get(context.Background(), id)
		return err == nil && m.State == st
	})
}

// sendQueued reports whether member id's send task is in Redis.
func (r *rig) sendQueued(id string) bool {
	m, err := r.store.Get(context.Background(), id)
	if err != nil {
		return false
	}
	_, err = r.insp.GetTaskInfo(tasks.QueueSend, tasks.SendTaskID(id, m.Step()))
	return err == nil
}
