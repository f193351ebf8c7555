package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/logging"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/runlog"
)

// run is one reconciliation pass in progress.
type run struct {
	*Reconciler
	sum   runlog.Summary
	cloud *cloudTruth
	// cutoff (ms): a member whose index score (last transition; expiry for
	// code_sent) is later is too fresh for a missing task to count as lost.
	cutoff int64
	// started (ms): with --verify-all, members moved since the run started
	// are not checked again.
	started int64

	mu sync.Mutex
}

func (r *Reconciler) newRun(slot string, verifyAll bool) *run {
	now := r.p.Now()
	return &run{
		Reconciler: r,
		sum:        newSummary(slot, verifyAll, now),
		cloud:      newCloudTruth(r.p.Cloud, r.p.Limiter, r.p.CloudMetrics, r.p.Now),
		cutoff:     now.Add(-r.p.Grace).UnixMilli(),
		started:    now.UnixMilli(),
	}
}

func newSummary(slot string, verifyAll bool, start time.Time) runlog.Summary {
	return runlog.Summary{Slot: slot, VerifyAll: verifyAll, StartedAt: start.UTC(), Repairs: map[string]int{},
		Drift: runlog.Drift{AccountIDs: []string{}}, Errors: []string{}}
}

// execute runs the pass: archived tasks first, then every batch's state
// indexes. It returns only errors that end the run (Redis).
func (ru *run) execute(ctx context.Context) error {
	ru.checkPause(ctx)
	if err := ru.archived(ctx); err != nil {
		return err
	}
	batches, err := ru.p.Store.Batches(ctx)
	if err != nil {
		return err
	}
	for _, b := range batches {
		for _, st := range ru.states() {
			page := func(ms []member.Member) error { return ru.page(ctx, ms) }
			if err := ru.p.Store.ScanIndex(ctx, b, st, ru.limit(st), page); err != nil {
				return fmt.Errorf("reconcile %s members of batch %s: %w", st, b, err)
			}
		}
	}
	return nil
}

// checkPause keeps the run off the cloud while the cloud queues are
// paused: the caller's credentials or rights are being fixed.
func (ru *run) checkPause(ctx context.Context) {
	if ru.p.Pauser == nil {
		return
	}
	if r, err := ru.p.Pauser.Current(ctx); err == nil && r != nil {
		ru.cloud.stop(fmt.Sprintf("cloud queues paused since %s (%s %s)", r.At.Format(time.RFC3339), r.Action, r.Code))
	}
}

// states are the indexes a run reads, code_sent first: an expiry moves a
// member to pending after the run's limit, so it is not checked twice.
func (ru *run) states() []member.State {
	states := []member.State{member.CodeSent, member.CodeSubmitted, member.Pending}
	if ru.sum.VerifyAll {
		states = append(states, member.Bound, member.AlreadyBound)
	}
	return states
}

// limit is the highest index score a run reads of st: due members only,
// or with --verify-all every member not moved since the run started (a
// code_sent score is its expiry, often in the future).
func (ru *run) limit(st member.State) int64 {
	switch {
	case !ru.sum.VerifyAll:
		return ru.cutoff
	case st == member.CodeSent:
		return member.NoLimit
	}
	return ru.started
}

// page checks the members of one index page, a few at a time.
func (ru *run) page(ctx context.Context, ms []member.Member) error {
	sem := make(chan struct{}, ru.p.Concurrency)
	var wg sync.WaitGroup
	for _, m := range ms {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ru.check(ctx, m)
		}()
	}
	wg.Wait()
	ru.mu.Lock()
	ru.sum.MembersScanned += len(ms)
	ru.mu.Unlock()
	return ctx.Err()
}

// check looks at one member: is its next task there, is the cloud's truth
// the store's, and puts right what is not.
func (ru *run) check(ctx context.Context, m member.Member) {
	var fix *repair
	if ru.due(m) {
		var err error
		if fix, err = ru.diagnose(m); err != nil {
			ru.fail(m, err)
			return
		}
	}
	if ru.sum.VerifyAll || (fix != nil && fix.askCloud) || ru.inDoubt(m) {
		if ru.settle(ctx, m) {
			return
		}
	}
	if fix != nil {
		ru.apply(ctx, m, fix)
	}
}

// due reports whether m has been in its state (or past its code's expiry)
// longer than the grace: a task it lacks now is lost, not late.
func (ru *run) due(m member.Member) bool {
	at := m.UpdatedAt
	if m.State == member.CodeSent {
		at = m.CodeExpiresAt
	}
	return at.UnixMilli() <= ru.cutoff
}

// inDoubt reports whether the outcome of m's last cloud call is unknown:
// a send or a bind that left without an answer.
func (ru *run) inDoubt(m member.Member) bool {
	switch m.State {
	case member.Pending:
		return m.Sending != "" && ru.due(m)
	case member.CodeSubmitted:
		return m.BindInDoubt && ru.due(m)
	}
	return false
}

// settle asks the cloud about m and applies its answer: a phone bound
// while the member is not finished ends it; a member bound here whose
// phone the cloud does not know is drift, flagged and left alone. It
// reports whether the cloud decided the member.
func (ru *run) settle(ctx context.Context, m member.Member) bool {
	acct, ok, err := ru.cloud.account(ctx, m.AccountID)
	if err != nil {
		ru.fail(m, err)
	}
	if !ok {
		return false
	}
	switch {
	case acct.HasSecureMobilePhone && !m.State.Terminal():
		ru.markBound(ctx, m, acct.RequestID)
		return true
	case !acct.HasSecureMobilePhone && (m.State == member.Bound || m.State == member.AlreadyBound):
		ru.drift(m)
		return true
	}
	return false
}

// markBound ends a member the cloud reports bound: bound when its own bind
// was in flight (a code handed in, or a bind with no answer), else
// already_bound.
func (ru *run) markBound(ctx context.Context, m member.Member, requestID string) {
	kind, mv := runlog.RepairAlreadyBound, member.FindPhoneLater.Move("reconcile: GetAccount reports a secure mobile phone bound outside this flow")
	if m.State == member.CodeSubmitted || m.BindInDoubt {
		kind, mv = runlog.RepairBound, member.ConfirmBind.Move("reconcile: GetAccount reports the phone bound while the bind of the code handed in was in flight: that bind succeeded")
	}
	ru.move(ctx, m, kind, mv.WithRequest(requestID))
}

// move applies a repair's transition to m as the run saw it (its state and
// step); a member another delivery moved first needs no repair.
func (ru *run) move(ctx context.Context, m member.Member, kind string, mv member.Move) bool {
	step := m.Step()
	mv = mv.In(m.State)
	mv.Guard = &step
	after, err := ru.p.Store.Transition(ctx, m.AccountID, mv)
	if err == nil && after.HandOn != nil {
		err = ru.enqueueHandOn(ctx, after.HandOn)
	}
	switch {
	case errors.Is(err, member.ErrConflict), errors.Is(err, member.ErrStale), errors.Is(err, member.ErrNotFound):
		return false
	case err != nil:
		ru.fail(m, err)
		return false
	}
	ru.repaired(m, kind, mv.Reason)
	return true
}

// drift flags a member bound here whose phone the cloud does not report.
func (ru *run) drift(m member.Member) {
	ru.mu.Lock()
	ru.sum.Drift.Count++
	if len(ru.sum.Drift.AccountIDs) < runlog.MaxDriftListed {
		ru.sum.Drift.AccountIDs = append(ru.sum.Drift.AccountIDs, m.AccountID)
	}
	ru.mu.Unlock()
	ru.logger(m).Warn("drift: member is " + string(m.State) + " here but the cloud reports no secure mobile phone; left unchanged")
}

// repaired counts a repair and logs it.
func (ru *run) repaired(m member.Member, kind, reason string) {
	ru.mu.Lock()
	ru.sum.Repairs[kind]++
	ru.mu.Unlock()
	ru.logger(m).Info("member repaired", zap.String("repair", kind), zap.String("reason", reason))
}

// fail records a member the run could not check or repair.
func (ru *run) fail(m member.Member, err error) {
	ru.mu.Lock()
	ru.sum.ErrorCount++
	if len(ru.sum.Errors) < runlog.MaxErrorsListed {
		ru.sum.Errors = append(ru.sum.Errors, err.Error())
	}
	ru.mu.Unlock()
	ru.logger(m).Warn("reconcile: member not checked", zap.Error(err))
}

func (ru *run) logger(m member.Member) *zap.Logger {
	return ru.p.Logger.With(append(logging.Member(m.AccountID, m.Phone, m.Batch),
		zap.String("state", string(m.State)), zap.String("slot", ru.sum.Slot))...)
}

// summary ends the run's record; err is what ended the run early, if any.
func (ru *run) summary(err error) runlog.Summary {
	ru.mu.Lock()
	defer ru.mu.Unlock()
	s := ru.sum
	s.FinishedAt = ru.p.Now().UTC()
	s.CloudCalls, s.CloudStopped = ru.cloud.result()
	if err != nil {
		s.Failed = err.Error()
	}
	return s
}

// taskGone reports whether the task id is in none of queue's states.
func (ru *run) taskGone(queue, id string) (bool, error) {
	_, err := ru.p.Inspector.GetTaskInfo(queue, id)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return true, nil
	}
	return false, fmt.Errorf("look up task %s: %w", id, err)
}
