package reliability

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// recoveryCutoff is how long ago a task's lease must have ended for asynq's
// recoverer to take the task back (it allows for clock skew). A lease lasts
// 30 s from its last renewal (every 5 s), and the recoverer looks when a
// worker starts and every minute after; asynq lets none of these be set.
const recoveryCutoff = 30 * time.Second

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
	held := waitOrphans(t, r, activeTasks(t, r.insp))
	t.Logf("tasks in flight in the killed worker: %v", countByType(held))
	r.takeBack(held)
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
	testwait.Until(t, time.Minute, fmt.Sprintf("%d SMS from the sandbox", n), func() bool { return len(r.cloud.SMS(t)) >= n })
}

// heldTask is a task that was active in Redis: held by a worker.
type heldTask struct {
	queue, id, typ string
	// lastFailed is when the task last failed before it was held.
	lastFailed time.Time
}

// activeTasks lists the tasks active in Redis now.
func activeTasks(t *testing.T, insp *asynq.Inspector) []heldTask {
	t.Helper()
	var out []heldTask
	for _, ti := range listActive(insp) {
		out = append(out, heldTask{queue: ti.Queue, id: ti.ID, typ: ti.Type, lastFailed: ti.LastFailedAt})
	}
	return out
}

// listActive returns the active tasks of every queue by queue and ID; a
// queue it cannot read is left out.
func listActive(insp *asynq.Inspector) map[[2]string]*asynq.TaskInfo {
	out := map[[2]string]*asynq.TaskInfo{}
	for _, q := range tasks.Queues {
		list, err := insp.ListActiveTasks(q, asynq.PageSize(1000))
		if err != nil {
			continue
		}
		for _, ti := range list {
			out[[2]string{q, ti.ID}] = ti
		}
	}
	return out
}

// waitOrphans waits until each task of active (the tasks active at a kill)
// has left the active state, done by a live worker, or shows as orphaned:
// its lease ran out unrenewed, so the killed worker held it. It returns the
// orphans.
func waitOrphans(t *testing.T, r *rig, active []heldTask) []heldTask {
	t.Helper()
	var orphans []heldTask
	left := active
	testwait.Until(t, time.Minute, "each task in flight at the kill done or orphaned", func() bool {
		now := listActive(r.insp)
		var still []heldTask
		for _, h := range left {
			switch ti, ok := now[[2]string{h.queue, h.id}]; {
			case !ok:
			case ti.IsOrphaned:
				orphans = append(orphans, h)
			default:
				still = append(still, h)
			}
		}
		left = still
		return len(left) == 0
	})
	if len(orphans) == 0 {
		t.Fatalf("no task of the killed worker left in flight: the kill hit no work")
	}
	return orphans
}

// countByType counts tasks by task type.
func countByType(ts []heldTask) map[string]int {
	out := map[string]int{}
	for _, h := range ts {
		out[h.typ]++
	}
	return out
}

// takeBack has asynq give the tasks a killed worker held to another: it
// waits until the lease of each, as Redis keeps it (the sorted set
// asynq:{queue}:lease), ended more than recoveryCutoff ago, starts a
// worker, whose recoverer looks at once, and waits until every task was
// taken back. It returns the worker.
func (r *rig) takeBack(held []heldTask) *workerProc {
	r.t.Helper()
	ctx := context.Background()
	testwait.Until(r.t, 2*time.Minute, "the killed worker's leases past asynq's recovery cutoff", func() bool {
		cutoff := time.Now().Add(-recoveryCutoff).Unix()
		now := listActive(r.insp)
		for _, h := range held {
			if takenBack(now, h) {
				continue
			}
			end, err := r.rdb.ZScore(ctx, "asynq:{"+h.queue+"}:lease", h.id).Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil || int64(end) > cutoff {
				return false
			}
		}
		return true
	})
	w := r.startWorker()
	testwait.Until(r.t, time.Minute, "asynq taking back the killed worker's tasks", func() bool {
		now := listActive(r.insp)
		for _, h := range held {
			if !takenBack(now, h) {
				return false
			}
		}
		return true
	})
	return w
}

// takenBack reports whether held task h is out of the tasks active now, or
// active again after asynq failed it for its lease (asynq.ErrLeaseExpired)
// and retried it.
func takenBack(active map[[2]string]*asynq.TaskInfo, h heldTask) bool {
	ti, ok := active[[2]string{h.queue, h.id}]
	return !ok || ti.LastErr == asynq.ErrLeaseExpired.Error() && !ti.LastFailedAt.Equal(h.lastFailed)
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
			owners.Retarget(r.takeBack(activeTasks(t, r.insp)))
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
	testwait.Until(t, time.Minute, "the cloud call", func() bool { return cond(r.cloud.Stats(t), len(r.cloud.SMS(t))) })
}
