package worker_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/internal/worker"
	"github.com/rdonboard/rdonboard/tasks"
)

// sendRecorder is the send handler of a lane test: it records each run by
// queue, counts the runs of one send at a time, and holds a run while the
// test keeps its gate shut.
type sendRecorder struct {
	mu      sync.Mutex
	runs    []string // queue of each run, in order
	running int
	most    int // the most runs of the send at once
	started testwait.Signal[string]
	gate    chan struct{}
}

func (r *sendRecorder) ProcessTask(ctx context.Context, _ *asynq.Task) error {
	q, _ := asynq.GetQueueName(ctx)
	r.mu.Lock()
	r.runs = append(r.runs, q)
	r.running++
	r.most = max(r.most, r.running)
	r.mu.Unlock()
	r.started.Send(q)
	<-r.gate
	r.mu.Lock()
	r.running--
	r.mu.Unlock()
	return nil
}

func (r *sendRecorder) seen() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.runs...), r.most
}

// startLane runs a worker whose send handler is r.
func startLane(t *testing.T, r *sendRecorder) (*asynq.Client, *asynq.Inspector) {
	t.Helper()
	rdb := redistest.DB(t)
	mux := asynq.NewServeMux()
	mux.Handle(tasks.TypeSendCode, r)
	w := worker.New(worker.Params{Redis: rdb, KeyPrefix: "lanetest:", Handler: mux, Concurrency: 8, PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		close(r.gate)
		cancel()
		<-done
	})
	<-w.Ready()
	return asynq.NewClientFromRedisClient(rdb), asynq.NewInspectorFromRedisClient(rdb)
}

// TestSendLaneRunsOneCopyOfASend: a send's step on both send queues (a
// hand-on while the member's first send was queued) runs once at a time,
// and the send_next copy is the one that goes on: a send_next copy waits
// for a send copy that is running and then runs; a send copy is dropped
// while a send_next copy is there.
func TestSendLaneRunsOneCopyOfASend(t *testing.T) {
	t.Parallel()
	r := &sendRecorder{gate: make(chan struct{})}
	r.started.Init()
	client, insp := startLane(t, r)
	const id = "1000000000000001"
	step := tasks.Step{Generation: 1}
	first, _ := tasks.NewSendCode(id, step)
	if _, err := client.Enqueue(first); err != nil {
		t.Fatal(err)
	}
	if q := r.started.Wait(t, 10*time.Second); q != tasks.QueueSend {
		t.Fatalf("first run on %s, want %s", q, tasks.QueueSend)
	}
	next, _ := tasks.NewHandOnSend(id, step, time.Time{}, time.Now())
	if _, err := client.Enqueue(next); err != nil {
		t.Fatal(err)
	}
	// The send_next copy is put back while the send copy runs.
	testwait.Until(t, 10*time.Second, "the send_next copy put back", func() bool {
		info, err := insp.GetTaskInfo(tasks.QueueSendNext, tasks.SendTaskID(id, step))
		return err == nil && info.State == asynq.TaskStateRetry
	})
	if runs, _ := r.seen(); len(runs) != 1 {
		t.Fatalf("runs %v while the send copy runs; want that one alone", runs)
	}
	r.gate <- struct{}{} // the send copy ends
	if q := r.started.Wait(t, 10*time.Second); q != tasks.QueueSendNext {
		t.Fatalf("second run on %s, want %s", q, tasks.QueueSendNext)
	}
	// While the send_next copy runs, a send copy enqueued again (a roster
	// enqueued twice) is dropped without running.
	if _, err := client.Enqueue(first); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, "the send copy dropped", func() bool {
		_, err := insp.GetTaskInfo(tasks.QueueSend, tasks.SendTaskID(id, step))
		return errors.Is(err, asynq.ErrTaskNotFound)
	})
	r.gate <- struct{}{}
	runs, most := r.seen()
	if len(runs) != 2 || most != 1 {
		t.Errorf("runs %v, at most %d at once; want send then send_next, one at a time", runs, most)
	}
}
