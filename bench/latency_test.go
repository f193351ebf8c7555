package bench

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// Light load: latencyMembers codes handed in one every latencyGap.
const (
	latencyMembers = 200
	latencyGap     = 20 * time.Millisecond
)

// BenchmarkCodeToBind measures, at light load, the time from a code's
// POST /v1/codes answered 202 to its bind request reaching the sandbox,
// with the worker's default concurrency and poll interval and no rate
// pressure. It reports p50, p99 and the worst, and splits the way in two
// hops: 202 → the member moved to code_submitted by the callback handler
// (the interactive lane), and that → the bind reaching the cloud (the bind
// lane). Target: p99 ≤ 50 ms.
func BenchmarkCodeToBind(b *testing.B) {
	var total, intake, bind []time.Duration
	load := startLoad(b, newClient(b, redistest.URL(b), 2))
	for range b.N {
		t, i, bd := latencyOnce(b)
		total, intake, bind = append(total, t...), append(intake, i...), append(bind, bd...)
	}
	b.ReportMetric(ms(percentile(total, 50)), "p50-ms")
	b.ReportMetric(ms(percentile(total, 99)), "p99-ms")
	b.ReportMetric(ms(percentile(total, 100)), "max-ms")
	b.ReportMetric(ms(percentile(intake, 50)), "callback-p50-ms")
	b.ReportMetric(ms(percentile(intake, 99)), "callback-p99-ms")
	b.ReportMetric(ms(percentile(bind, 50)), "bind-p50-ms")
	b.ReportMetric(ms(percentile(bind, 99)), "bind-p99-ms")
	b.ReportMetric(load.others(b), "others-cores")
}

// latencyOnce runs one light-load round and returns, per member, the whole
// latency and its two hops.
func latencyOnce(b *testing.B) (total, intake, bind []time.Duration) {
	b.Helper()
	var calls callLog
	env := harness.Start(b, harness.Options{
		Sandbox: sandbox.Options{OnCall: calls.add},
		Configure: func(c *config.Config) {
			d := config.Defaults()
			c.Concurrency, c.PollInterval = d.Concurrency, d.PollInterval
		},
	})
	rows := harness.Members(0, latencyMembers)
	env.Enqueue("latency", rows, ingest.Options{})
	env.WaitFor(time.Minute, func(c map[member.State]int64) bool { return c[member.CodeSent] == latencyMembers })
	// The send lane's last tasks finish before the codes come in.
	insp := asynq.NewInspectorFromRedisClient(env.Redis)
	testwait.Until(b, time.Minute, "the send lane idle", func() bool {
		for _, q := range tasks.SendQueues {
			if info, err := insp.GetQueueInfo(q); err == nil && info.Active > 0 {
				return false
			}
		}
		return true
	})

	accepted := handInOneByOne(b, env, rows)
	env.WaitFor(time.Minute, func(c map[member.State]int64) bool { return c[member.Bound] == latencyMembers })
	binds := calls.firstOK(sandbox.ActionBind)
	for _, r := range rows {
		at := accepted[r.AccountID]
		submitted := submittedAt(b, env, r.AccountID)
		total = append(total, binds[r.AccountID].Sub(at))
		intake = append(intake, submitted.Sub(at))
		bind = append(bind, binds[r.AccountID].Sub(submitted))
	}
	return total, intake, bind
}

// handInOneByOne posts the code of each member, one every latencyGap, and
// returns when each was accepted (its 202 received).
func handInOneByOne(b *testing.B, env *harness.Env, rows []harness.Row) map[string]time.Time {
	b.Helper()
	own := newOwners(0)
	proc := env.Worker(0)
	accepted := map[string]time.Time{}
	pace := time.NewTicker(latencyGap)
	defer pace.Stop()
	for i, r := range rows {
		if i > 0 {
			<-pace.C
		}
		code, _ := env.Sandbox.LatestCode(r.AccountID)
		if status := own.post(proc.URL, r.AccountID, code); status != http.StatusAccepted {
			b.Fatalf("POST /v1/codes: status %d", status)
		}
		accepted[r.AccountID] = time.Now()
	}
	return accepted
}

// submittedAt returns when the member's history says it moved to
// code_submitted (millisecond precision).
func submittedAt(b *testing.B, env *harness.Env, id string) time.Time {
	b.Helper()
	h, err := env.Store.History(context.Background(), id)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range h {
		if e.To == member.CodeSubmitted {
			return e.At
		}
	}
	b.Fatalf("member %s has no code_submitted in its history", id)
	return time.Time{}
}
