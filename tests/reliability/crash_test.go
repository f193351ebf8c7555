package reliability

import (
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/tasks"
)

// leaseRecovery is how long after a worker dies asynq gives its tasks to
// another: a task's lease lasts 30 s (renewed every 5 s) and the recoverer
// takes back tasks whose lease ended more than 30 s ago; it looks when a
// worker starts and every minute after. asynq does not let either be set.
const leaseRecovery = 61 * time.Second

// TestWorkerCrash kills one of two worker processes (SIGKILL) in the middle
// of a 500-member batch while the cloud answers slowly, so sends, binds and
// codes are in flight, then starts it again. Every member ends bound, the
// cloud binds each account once, and no member gets a second SMS: a send
// in flight at the crash was marked before its request left, so its
// redelivery treats it as sent instead of sending again.
func TestWorkerCrash(t *testing.T) {
	t.Parallel()
	long(t)
	r := newRig(t, rigOptions{Sandbox: []string{"--latency", "100ms"}})
	victim, survivor := r.startWorker(), r.startWorker()
	owners := r.startOwners(survivor)
	rows := members(0, 500)
	r.enqueueRows("crash", rows)

	waitSMS(t, r, len(rows)/3)
	victim.kill()
	killed := time.Now()

	orphans := waitOrphans(t, r)
	t.Logf("tasks in flight in the killed worker: %v", orphans)
	time.Sleep(time.Until(killed.Add(leaseRecovery)))
	r.startWorker()
	exp := r.expiries()
	r.waitFor(2*time.Minute, "every member terminal", terminal(int64(len(rows))), exp.run)

	inFlight := r.treatedAsSent(rows)
	t.Logf("sends in flight at the kill, treated as sent: %d; of those, never left (expired at once): %d", len(inFlight), exp.count())
	if len(inFlight) < exp.count() {
		t.Errorf("%d codes expired as never sent, but only %d sends were in flight", exp.count(), len(inFlight))
	}
	r.requireAllBound(rows, 1)
	if final, _ := owners.Statuses(); final[202] != len(owners.Handed()) {
		t.Errorf("codes handed in: answers %v, want every one 202", final)
	}
}

// waitSMS waits until the sandbox sent n SMS.
func waitSMS(t *testing.T, r *rig, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for len(r.cloud.SMS(t)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d SMS after a minute", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOrphans waits until the tasks the dead worker held show as orphaned
// (their lease ended) and counts them by task type.
func waitOrphans(t *testing.T, r *rig) map[string]int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if found := orphaned(r.insp); len(found) > 0 {
			// Leases are renewed every 5 s: the others end soon after.
			time.Sleep(6 * time.Second)
			return orphaned(r.insp)
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("no task of the killed worker left in flight: the kill hit no work")
	return nil
}

func orphaned(insp *asynq.Inspector) map[string]int {
	out := map[string]int{}
	for _, q := range tasks.Queues {
		list, err := insp.ListActiveTasks(q, asynq.PageSize(1000))
		if err != nil {
			continue
		}
		for _, ti := range list {
			if ti.IsOrphaned {
				out[ti.Type]++
			}
		}
	}
	return out
}

// TestWorkerCrashMidCall kills the only worker while one cloud call is
// under way: the cloud has acted (sent the SMS, bound the phone) but its
// answer has not come back. Started again, the worker finishes the member
// without a second SMS, and a bind it made before dying counts as bound,
// not as a phone that was there before.
func TestWorkerCrashMidCall(t *testing.T) {
	t.Parallel()
	long(t)
	for _, call := range []string{"send", "bind"} {
		t.Run(call, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, rigOptions{Sandbox: []string{"--latency", "3s"}})
			w := r.startWorker()
			owners := r.startOwners(w)
			rows := members(0, 1)
			id := rows[0].id
			r.enqueueRows("midcall", rows)
			waitCloud(t, r, func(st sandbox.Stats, sms int) bool {
				return (call == "send" && sms == 1) || (call == "bind" && st.Binds[id] == 1)
			})
			w.kill()
			killed := time.Now()
			time.Sleep(time.Until(killed.Add(leaseRecovery)))
			owners.Retarget(r.startWorker())
			r.waitFor(time.Minute, "member terminal", terminal(1), nil)

			r.requireAllBound(rows, 1)
			if call == "send" && len(r.treatedAsSent(rows)) != 1 {
				t.Errorf("the send cut short by the crash was not treated as sent")
			}
		})
	}
}

// waitCloud waits until the sandbox's stats and SMS count satisfy cond.
func waitCloud(t *testing.T, r *rig, cond func(sandbox.Stats, int) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond(r.cloud.Stats(t), len(r.cloud.SMS(t))) {
		if time.Now().After(deadline) {
			t.Fatalf("the cloud call did not come within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
