package bench

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/tasks"
)

// flowMembers is the number of members of one flow-ceiling run: enough for
// a run of about ten seconds or more on two cores.
const flowMembers = 8000

// flowQueues are the queues of the tasks a member's flow runs through
// handlers: send (with its GetAccount), code submitted, bind. Its fourth
// task, the code's expiry, is only scheduled (it never fires in a run).
var flowQueues = []string{tasks.QueueSend, tasks.QueueCallback, tasks.QueueBind}

// unlimited is a call rate no run reaches.
const unlimited = 1e6

// BenchmarkFlowCeiling runs members through the whole flow (send → code
// handed in → bind → bound) in one worker process of the default
// concurrency against an unlimited, zero-latency sandbox, owners answering
// at once; and, in the same run, asynq's own ceiling: as many tasks as the
// flow handles (three per member) through no-op handlers on one asynq
// server of the same concurrency. The ratio compares the flow's handled
// tasks per second (members/s × 3) with the no-op tasks per second.
func BenchmarkFlowCeiling(b *testing.B) {
	concurrency := config.Defaults().Concurrency
	var members, noop float64
	load := startLoad(b, newClient(b, redistest.URL(b), 2))
	for range b.N {
		noop = noopCeiling(b, concurrency, flowMembers*len(flowQueues))
		members = flowOnce(b, concurrency)
	}
	b.ReportMetric(load.others(b), "others-cores")
	b.ReportMetric(members, "members/s")
	b.ReportMetric(noop, "noop-tasks/s")
	b.ReportMetric(members*float64(len(flowQueues))/noop, "flow-tasks/noop-tasks")
}

// flowOnce runs flowMembers members through the flow and returns members
// bound per second, from the start of ingest to the last bound.
func flowOnce(b *testing.B, concurrency int) float64 {
	b.Helper()
	own := newOwners(flowMembers)
	env := harness.Start(b, harness.Options{
		Sandbox: sandbox.Options{OnCall: own.onCall},
		Configure: func(c *config.Config) {
			c.Concurrency, c.PollInterval = concurrency, config.Defaults().PollInterval
			c.SendQPS, c.BindQPS, c.GetQPS = unlimited, unlimited, unlimited
		},
	})
	own.start(b, env.Sandbox, env.Worker(0))
	start := time.Now()
	env.Enqueue("flow", harness.Members(0, flowMembers), ingest.Options{})
	counts := env.WaitTerminal(flowMembers, 5*time.Minute)
	elapsed := time.Since(start)
	if counts["bound"] != flowMembers {
		b.Fatalf("counts %v, want %d bound", counts, flowMembers)
	}
	return flowMembers / elapsed.Seconds()
}

// noopCeiling enqueues n tasks spread over the flow's queues, then serves
// them with no-op handlers on one asynq server of the given concurrency,
// polling as a worker does, and returns tasks handled per second.
func noopCeiling(b *testing.B, concurrency, n int) float64 {
	b.Helper()
	rdb := newClient(b, redistest.URL(b), clientPool)
	enqueueNoops(b, asynq.NewClientFromRedisClient(rdb), n)
	queues := map[string]int{}
	for _, q := range flowQueues {
		queues[q] = 1
	}
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: concurrency, Queues: queues, TaskCheckInterval: config.Defaults().PollInterval,
		DelayedTaskCheckInterval: time.Second, LogLevel: asynq.WarnLevel,
	})
	defer srv.Shutdown()
	var handled atomic.Int64
	done := make(chan struct{})
	start := time.Now()
	err := srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		if handled.Add(1) == int64(n) {
			close(done)
		}
		return nil
	}))
	if err != nil {
		b.Fatalf("start asynq server: %v", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		b.Fatalf("no-op server handled %d of %d tasks", handled.Load(), n)
	}
	return float64(n) / time.Since(start).Seconds()
}

// enqueueNoops enqueues n small tasks, in turn on each of the flow's queues.
func enqueueNoops(b *testing.B, client *asynq.Client, n int) {
	b.Helper()
	for i := range n {
		t := asynq.NewTask("noop", []byte(`{"account_id":"`+strconv.Itoa(1_000_000_000_000_000+i)+`"}`),
			asynq.Queue(flowQueues[i%len(flowQueues)]), asynq.MaxRetry(tasks.RetryBudget))
		if _, err := client.Enqueue(t); err != nil {
			b.Fatalf("enqueue: %v", err)
		}
	}
}
