package flow

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/tasks"
)

// errBusy puts a code back while an earlier code of the same member is
// being checked: codes of one member are checked one at a time, in order.
var errBusy = errors.New("an earlier code of this member is being checked")

// errSending puts a code back that came while its send is being recorded.
var errSending = errors.New("the send of this code is still being recorded")

// HandleCodeSubmitted takes a code handed in (HTTP intake, `enqueue code`
// or any asynq client) for a member waiting for one, and enqueues its bind.
//
// A callback task carries a code, so it never ends archived: a code that
// is refused, or whose retries are used up, ends its task as done (asynq
// keeps no done task), logged and counted, and the code is gone. Only a
// task put back for later keeps its code, while the code may still bind.
func (f *Flow) HandleCodeSubmitted(ctx context.Context, t *asynq.Task) error {
	err := f.handleCode(ctx, t)
	if err == nil || IsSnooze(err) {
		return err
	}
	if errors.Is(err, asynq.SkipRetry) || finalAttempt(ctx) {
		tid, _ := asynq.GetTaskID(ctx)
		f.log.Info("code dropped; its task ends without being archived", zap.String("task_id", tid), zap.Error(err))
		return nil
	}
	return err
}

func (f *Flow) handleCode(ctx context.Context, t *asynq.Task) error {
	p, m, err := open[tasks.CodeSubmittedPayload](ctx, f, t)
	switch {
	case errors.Is(err, tasks.ErrBadPayload):
		f.metrics.Code("malformed")
		return err
	case err != nil:
		f.metrics.Code("unknown_member")
		return err
	}
	if p.Step != nil && *p.Step != codeStep(m) {
		f.metrics.Code("not_waiting")
		f.logger(ctx, m).Info("code dropped: it was handed in for an earlier send",
			zap.String("for", p.Step.String()), zap.String("now", codeStep(m).String()))
		return nil
	}
	switch m.State {
	case member.CodeSubmitted:
		if m.Code == p.Code {
			// The same code again (a redelivery, or handed in twice).
			return f.enqueueBind(ctx, m)
		}
		return snooze(busyRecheck, errBusy)
	case member.CodeSent:
		return f.takeCode(ctx, m, p.Code)
	case member.Pending:
		if m.Sending != "" {
			// The SMS may arrive before its send is recorded.
			return snooze(sendingRecheck, errSending)
		}
	}
	f.metrics.Code("not_waiting")
	f.logger(ctx, m).Info("code dropped: member is not waiting for one", zap.String("state", string(m.State)))
	return nil
}

// codeStep is the send a code handed in now would be for: the member's
// current send, or the one in flight for a pending member (the intake's
// rule, member.Submission.Step).
func codeStep(m member.Member) tasks.Step {
	s := m.Step()
	if m.State == member.Pending && m.Sending != "" {
		s.Send++
	}
	return s
}

func (f *Flow) takeCode(ctx context.Context, m member.Member, code string) error {
	if m.CodeAttempts >= f.cfg.MaxCodeAttempts {
		f.metrics.Code("too_many")
		f.logger(ctx, m).Warn("code dropped: too many codes for this send", zap.Int("code_attempts", m.CodeAttempts))
		return nil
	}
	after, ok, err := f.move(ctx, m, member.TakeCode.Move(
		fmt.Sprintf("code handed in (attempt %d of %d)", m.CodeAttempts+1, f.cfg.MaxCodeAttempts), member.SetCode(code)))
	if err != nil {
		return err
	}
	if !ok {
		// Another code or an expiry moved the member first: look again.
		return snooze(busyRecheck, errBusy)
	}
	f.metrics.Code("accepted")
	return f.enqueueBind(ctx, after)
}

func (f *Flow) enqueueBind(ctx context.Context, m member.Member) error {
	t, err := tasks.NewBind(m.AccountID, m.Step(), m.CodeAttempts)
	return f.enqueue(ctx, t, err)
}
