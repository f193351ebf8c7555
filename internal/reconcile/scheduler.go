package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/runlog"
	"github.com/rdonboard/rdonboard/tasks"
)

// Bounds of how long a slot stays claimed.
const (
	minClaimTTL = 10 * time.Minute
	maxClaimTTL = 24 * time.Hour
)

// SchedulerParams configure a Scheduler.
type SchedulerParams struct {
	// Spec is the schedule: a standard cron line (five fields, optional
	// CRON_TZ=), a descriptor (@hourly) or @every <duration>
	// (ONBOARD_RECONCILE_CRON).
	Spec   string
	Client *asynq.Client
	// Runs holds the slot claims (and the summaries).
	Runs   *runlog.Runs
	Logger *zap.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Scheduler enqueues one reconciliation run per slot of the schedule,
// however many worker processes run one. Every process computes the same
// slots (a cron line names wall-clock times; @every slots are aligned to
// multiples of the interval, not to the process's start) and, at each,
// takes a claim on the slot with SET NX; only the winner enqueues. The
// claim lives for twice the interval (10 minutes to a day): long after the
// run, whose task ID asynq frees once it completes, so a late process (a
// slow clock, a long pause) cannot enqueue the slot again. The task ID
// ("reconcile:"+slot) is a second guard while the task lives.
//
// Cron lines are read in each process's local time zone unless they start
// with CRON_TZ=; workers in different zones need it to agree on slots.
type Scheduler struct {
	p     SchedulerParams
	sched cron.Schedule
	stop  chan struct{}
	// done closes when the scheduler has stopped, or will never run (its
	// Start failed, or Shutdown came first).
	done     chan struct{}
	started  atomic.Bool
	stopOnce sync.Once
	doneOnce sync.Once
}

// NewScheduler returns a Scheduler; Start checks the schedule.
func NewScheduler(p SchedulerParams) *Scheduler {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Logger == nil {
		p.Logger = zap.NewNop()
	}
	return &Scheduler{p: p, stop: make(chan struct{}), done: make(chan struct{})}
}

// Start parses the schedule and starts enqueueing runs. A schedule that
// does not parse is an error, and the scheduler counts as stopped.
func (s *Scheduler) Start(context.Context) error {
	sched, err := cron.ParseStandard(s.p.Spec)
	if err != nil {
		s.finish()
		return fmt.Errorf("reconciliation schedule %q: %w", s.p.Spec, err)
	}
	s.sched = sched
	s.started.Store(true)
	go s.loop()
	return nil
}

// Shutdown stops enqueueing and waits for the scheduler to stop. It may be
// called more than once, and before or after a Start that failed.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	if !s.started.Load() {
		s.finish()
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("reconciliation scheduler: %w", ctx.Err())
	}
}

// Done is closed once the scheduler has stopped or will never run.
func (s *Scheduler) Done() <-chan struct{} { return s.done }

func (s *Scheduler) finish() { s.doneOnce.Do(func() { close(s.done) }) }

func (s *Scheduler) loop() {
	defer s.finish()
	var last time.Time
	for {
		// From the later of now and the last slot: a timer that fires a
		// moment early by the wall clock must not name the same slot again.
		slot := Next(s.sched, later(s.p.Now(), last))
		timer := time.NewTimer(slot.Sub(s.p.Now()))
		select {
		case <-s.stop:
			timer.Stop()
			return
		case <-timer.C:
		}
		s.enqueue(slot)
		last = slot
	}
}

// enqueue claims slot and, if this process won it, enqueues its run.
func (s *Scheduler) enqueue(slot time.Time) {
	name := SlotName(slot)
	log := s.p.Logger.With(zap.String("slot", name))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	won, err := s.p.Runs.Claim(ctx, name, claimTTL(s.sched, slot))
	if err != nil {
		log.Warn("reconciliation slot not claimed; the next slot will run", zap.Error(err))
		return
	}
	if !won {
		return
	}
	t, err := tasks.NewReconcile(name, false)
	if err == nil {
		_, err = s.p.Client.EnqueueContext(ctx, t)
	}
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		log.Debug("reconciliation run of this slot already enqueued")
	case err != nil:
		log.Warn("reconciliation run not enqueued; the next slot will run", zap.Error(err))
	default:
		log.Debug("reconciliation run enqueued")
	}
}

// Next returns the first slot of sched after t. @every slots fall on
// multiples of the interval, so every process names the same ones.
func Next(sched cron.Schedule, t time.Time) time.Time {
	if every, ok := sched.(cron.ConstantDelaySchedule); ok {
		return t.Truncate(every.Delay).Add(every.Delay)
	}
	return sched.Next(t)
}

// SlotName names a schedule slot: its time in RFC 3339, UTC.
func SlotName(slot time.Time) string { return slot.UTC().Format(time.RFC3339) }

func claimTTL(sched cron.Schedule, slot time.Time) time.Duration {
	interval := Next(sched, slot).Sub(slot)
	return min(max(2*interval, minClaimTTL), maxClaimTTL)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
