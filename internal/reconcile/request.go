package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/runlog"
	"github.com/rdonboard/rdonboard/tasks"
)

// DefaultPoll is how often Request looks for the run's summary.
const DefaultPoll = 250 * time.Millisecond

// ErrNoWorker reports that no worker process is alive to run a requested
// reconciliation.
var ErrNoWorker = errors.New("no worker is running to reconcile: start one (`worker`), or pass --wait to wait for one")

// CheckWorkers returns ErrNoWorker when no worker process has reported to
// rdb lately (asynq's list of servers, which each keeps alive every few
// seconds): a requested run would wait in silence.
func CheckWorkers(rdb redis.UniversalClient) error {
	servers, err := asynq.NewInspectorFromRedisClient(rdb).Servers()
	if err != nil {
		return fmt.Errorf("list workers: %w", err)
	}
	if len(servers) == 0 {
		return ErrNoWorker
	}
	return nil
}

// ManualSlot names a run asked for at t: "manual-<unix ms>".
func ManualSlot(t time.Time) string {
	return runlog.ManualPrefix + strconv.FormatInt(t.UnixMilli(), 10)
}

// RequestOptions configure Request.
type RequestOptions struct {
	// VerifyAll asks the cloud about every member, not only those in doubt.
	VerifyAll bool
	// Poll: see DefaultPoll (0).
	Poll time.Duration
	// Now is the clock naming the slot; default time.Now.
	Now func() time.Time
}

// Request enqueues a manual run (the task the scheduler enqueues, on slot
// "manual-<unix ms>") and waits until a worker has run it and stored its
// summary, or until ctx ends (a deadline is the caller's timeout).
func Request(ctx context.Context, client *asynq.Client, runs *runlog.Runs, opts RequestOptions) (runlog.Summary, error) {
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	slot := ManualSlot(opts.Now())
	t, err := tasks.NewReconcile(slot, opts.VerifyAll)
	if err != nil {
		return runlog.Summary{}, err
	}
	if _, err := client.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return runlog.Summary{}, fmt.Errorf("enqueue reconciliation run: %w", err)
	}
	return Wait(ctx, runs, slot, opts.Poll)
}

// Wait polls the stored summaries for slot until it is there or ctx ends.
func Wait(ctx context.Context, runs *runlog.Runs, slot string, poll time.Duration) (runlog.Summary, error) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	noSummary := func() error {
		return fmt.Errorf("reconciliation run %s: no summary yet (is a worker running?): %w", slot, ctx.Err())
	}
	for {
		s, err := runs.Find(ctx, slot)
		switch {
		case err == nil:
			return s, nil
		case ctx.Err() != nil:
			// The time ran out, perhaps in the middle of the read.
			return runlog.Summary{}, noSummary()
		case !errors.Is(err, runlog.ErrNoRun):
			return s, err
		}
		select {
		case <-ctx.Done():
			return runlog.Summary{}, noSummary()
		case <-tick.C:
		}
	}
}
