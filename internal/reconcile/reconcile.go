// Package reconcile owns reconciliation runs: scheduled or manual passes
// over the member store that find every member whose state no longer
// matches reality (a task lost to a Redis failover, a task archived by
// asynq, a phone bound by hand in the console, a worker that died between
// a cloud call and its record) and put it right, each repair recorded in
// the member's history with its reason. It also owns the scheduler that
// enqueues exactly one run per schedule slot however many workers run, and
// the store of run summaries that `worker status`, /metrics and
// `enqueue reconcile` read.
//
// A run reads the state indexes page by page (never the keyspace), asks
// asynq's inspector whether each member's next task exists, and asks the
// cloud (GetAccount, under the shared rate limit) about members in doubt.
// Every change goes through the store's guarded transitions, so a run
// racing the flow's handlers, or another run, changes nothing twice.
package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/flow"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/internal/runlog"
	"github.com/rdonboard/rdonboard/tasks"
)

// Defaults of Params.
const (
	// DefaultGrace is how long a member must have been in its state (or its
	// code expired) before a missing task counts as lost: the flow moves a
	// member first and enqueues its next task right after.
	DefaultGrace = time.Minute
	// DefaultConcurrency is how many members of a page are checked at once.
	DefaultConcurrency = 8
)

// Params are the parts a Reconciler is built from.
type Params struct {
	Store *member.Store
	// Flow handles an expired code the way the expiry task would.
	Flow *flow.Flow
	// Client enqueues the tasks a repair puts back.
	Client *asynq.Client
	// Inspector looks tasks up, and lists and deletes archived ones.
	Inspector *asynq.Inspector
	Cloud     cloud.Client
	// Limiter is the shared limiter; GetAccount calls wait for their turn.
	Limiter *ratelimit.Limiter
	// Pauser, if set, keeps a run from calling the cloud while the cloud
	// queues are paused for a caller-wide error.
	Pauser *pause.Controller
	Runs   *runlog.Runs
	// Metrics counts runs and repairs; CloudMetrics counts cloud calls with
	// the flow's. Either may be nil.
	Metrics      *metrics.Reconcile
	CloudMetrics *metrics.Metrics
	Logger       *zap.Logger
	// Grace: see DefaultGrace (0); negative means none.
	Grace time.Duration
	// Concurrency: see DefaultConcurrency (0).
	Concurrency int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Reconciler runs reconciliation passes.
type Reconciler struct {
	p Params
}

// New returns a Reconciler.
func New(p Params) *Reconciler {
	switch {
	case p.Grace == 0:
		p.Grace = DefaultGrace
	case p.Grace < 0:
		p.Grace = 0
	}
	if p.Concurrency <= 0 {
		p.Concurrency = DefaultConcurrency
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Logger == nil {
		p.Logger = zap.NewNop()
	}
	p.Metrics.Kinds(runlog.RepairKinds...)
	return &Reconciler{p: p}
}

// Register adds the handler of reconciliation tasks to mux.
func (r *Reconciler) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(tasks.TypeReconcile, r.Handle)
}

// Handle runs the reconciliation task t. A slot whose run was stored
// already (a redelivery) is not run again.
func (r *Reconciler) Handle(ctx context.Context, t *asynq.Task) error {
	var p tasks.ReconcilePayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil || p.Slot == "" {
		return fmt.Errorf("%w: %s: slot missing: %w", tasks.ErrBadPayload, t.Type(), asynq.SkipRetry)
	}
	done, err := r.p.Runs.Done(ctx, p.Slot)
	if err != nil || done {
		return err
	}
	_, err = r.Run(ctx, p.Slot, p.VerifyAll)
	return err
}

// Run runs one pass named slot and stores its summary. A scheduled run
// finding another run in progress is skipped (that run does the work); a
// manual one (slot "manual-…") waits for it. A run ended by an error
// (Redis) returns it; its summary is stored only on the task's last
// attempt, so a retried slot still has one summary.
func (r *Reconciler) Run(ctx context.Context, slot string, verifyAll bool) (runlog.Summary, error) {
	start := r.p.Now()
	lock, err := takeLock(ctx, r.p.Store.Redis(), r.p.Runs.LockKey(), strings.HasPrefix(slot, runlog.ManualPrefix))
	if err != nil {
		return runlog.Summary{}, err
	}
	if lock == nil {
		sum := newSummary(slot, verifyAll, start)
		sum.FinishedAt, sum.Skipped = r.p.Now().UTC(), "another reconciliation run was in progress"
		return sum, r.record(ctx, sum)
	}
	defer lock.release()
	ru := r.newRun(slot, verifyAll)
	err = ru.execute(ctx)
	sum := ru.summary(err)
	if err != nil && !finalAttempt(ctx) {
		r.p.Logger.Warn("reconciliation run failed; will retry", zap.String("slot", slot), zap.Error(err))
		return sum, err
	}
	if rerr := r.record(ctx, sum); rerr != nil && err == nil {
		err = rerr
	}
	return sum, err
}

// record stores a summary, counts it and logs it.
func (r *Reconciler) record(ctx context.Context, s runlog.Summary) error {
	stored, err := r.p.Runs.Add(context.WithoutCancel(ctx), s)
	if err != nil {
		return err
	}
	if !stored {
		return nil
	}
	r.p.Metrics.Run(s.Outcome(), s.Repairs)
	log := r.p.Logger.Info
	if s.Drift.Count > 0 || s.Failed != "" || s.ErrorCount > 0 {
		log = r.p.Logger.Warn
	}
	log("reconciliation run "+s.Outcome(), zap.String("slot", s.Slot), zap.Bool("verify_all", s.VerifyAll),
		zap.Int("members_scanned", s.MembersScanned), zap.Int("repairs", s.TotalRepairs()),
		zap.String("repairs_by_kind", s.RepairsText()), zap.Int("drift", s.Drift.Count),
		zap.Int("cloud_calls", s.CloudCalls), zap.String("cloud_stopped", s.CloudStopped),
		zap.Int("errors", s.ErrorCount), zap.String("failed", s.Failed), zap.String("skipped", s.Skipped),
		zap.Duration("took", s.FinishedAt.Sub(s.StartedAt)))
	return nil
}

// finalAttempt reports whether the task running in ctx has no retry left;
// outside a task (a direct call) every attempt is the last.
func finalAttempt(ctx context.Context) bool {
	retried, ok1 := asynq.GetRetryCount(ctx)
	max, ok2 := asynq.GetMaxRetry(ctx)
	return !ok1 || !ok2 || retried >= max
}
