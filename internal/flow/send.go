package flow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/tasks"
)

// errMovedAway stops a send whose member another delivery moved first.
var errMovedAway = errors.New("member moved by another delivery")

// HandleSend sends a code to a pending member: a GetAccount pre-flight (no
// SMS to a member that already has a phone or is not a ResourceAccount),
// then the send, then the expiry task at the code's ExpirationDate.
func (f *Flow) HandleSend(ctx context.Context, t *asynq.Task) error {
	p, m, err := open[tasks.SendCodePayload](ctx, f, t)
	if err != nil {
		return err
	}
	switch {
	case m.State == member.Pending && m.Step() == p.Step:
	case m.State == member.CodeSent && m.Generation == p.Generation && m.Sends == p.Send+1:
		// A redelivery after the send: make sure its expiry is scheduled.
		return f.scheduleExpiry(ctx, m)
	default:
		return nil
	}
	if m.Sending == p.Step.String() {
		return f.sent(ctx, m, "", f.now().Add(f.cfg.AssumedCodeTTL),
			"an earlier send of this code had no answer (worker stopped or timed out); treated as sent")
	}
	if err := f.awaitTurn(ctx, m); err != nil {
		if errors.Is(err, errNotYours) || errors.Is(err, errMovedAway) {
			return nil
		}
		return err
	}
	err = f.preflightAndSend(ctx, m)
	f.noteWait(ctx, m, err)
	return err
}

func (f *Flow) preflightAndSend(ctx context.Context, m member.Member) error {
	acct, err := f.cloud.GetAccount(ctx, m.AccountID)
	if err = notNow(err); err != nil {
		return f.sendFailed(ctx, m, cloud.ActionGetAccount, err)
	}
	switch {
	case acct.HasSecureMobilePhone:
		_, _, err = f.move(ctx, m, member.FindPhone.Move("GetAccount: a secure mobile phone is already bound; no code sent").
			WithRequest(acct.RequestID))
		return err
	case acct.Type != cloud.AccountTypeResource:
		ce := &cloud.Error{Kind: cloud.KindPermanent, Action: cloud.ActionGetAccount, Code: "AccountTypeMismatch",
			Message:   fmt.Sprintf("account type is %s; only a ResourceAccount can bind a secure mobile phone", acct.Type),
			RequestID: acct.RequestID}
		_, _, err = f.move(ctx, m, failMove(member.FailSend, ce, "GetAccount: not a ResourceAccount; no code sent"))
		return err
	}
	return f.send(ctx, m)
}

func (f *Flow) send(ctx context.Context, m member.Member) error {
	// Mark the send in flight as its request leaves: if this worker dies
	// before the answer is recorded, the redelivery will not send a second
	// SMS.
	markFailed := false
	res, err := f.cloud.SendCode(ctx, m.AccountID, m.Phone, func() error {
		marked, err := f.markSending(ctx, m, true)
		if err == nil {
			m = marked
			err = f.replicated(ctx)
		}
		markFailed = err != nil && !errors.Is(err, errMovedAway)
		return err
	})
	if markFailed {
		// No request left, yet Redis may have kept the mark and lost only
		// its answer (or no replica took it in time): forget the mark, or
		// the redelivery would take for sent a code no phone got and wait
		// out its expiry.
		f.forgetMark(ctx, m)
		return err
	}
	err = notNow(err)
	switch {
	case err == nil:
		return f.sent(ctx, m, res.RequestID, res.ExpiresAt, fmt.Sprintf("code %d of %d sent", m.Sends+1, f.cfg.MaxSends))
	case errors.Is(err, errMovedAway):
		return nil
	case cloud.KindOf(err) == cloud.KindOutcomeUnknown:
		ce, _ := cloud.AsError(err)
		return f.sent(ctx, m, ce.RequestID, f.now().Add(f.cfg.AssumedCodeTTL), "send had no answer ("+ce.Code+"); treated as sent")
	}
	if _, answered := cloud.AsError(err); answered && m.Sending != "" {
		// The cloud answered, so no SMS left: forget the mark, or a
		// redelivery would wait for a code nobody holds.
		cleared, merr := f.markSending(ctx, m, false)
		if merr != nil {
			return merr
		}
		m = cleared
	}
	return f.sendFailed(ctx, m, cloud.ActionSendCode, err)
}

// markRetry is how often forgetMark tries again; markPatience is how long
// it tries (within the task's own time limit).
const (
	markRetry    = 500 * time.Millisecond
	markPatience = 30 * time.Second
)

// forgetMark clears the in-flight mark of m's send that was not sent,
// trying again while Redis does not answer. If Redis stays away longer,
// the mark stays and the redelivery treats the send as sent (the safe
// side: never a second SMS).
func (f *Flow) forgetMark(ctx context.Context, m member.Member) {
	ctx, cancel := context.WithTimeout(ctx, markPatience)
	defer cancel()
	tick := time.NewTicker(markRetry)
	defer tick.Stop()
	for {
		_, err := f.markSending(ctx, m, false)
		if err == nil || errors.Is(err, errMovedAway) {
			return
		}
		select {
		case <-ctx.Done():
			f.logger(ctx, m).Warn("in-flight mark of a send that did not leave kept: its redelivery will treat it as sent", zap.Error(err))
			return
		case <-tick.C:
		}
	}
}

// markSending sets or clears the in-flight mark of m's current send.
func (f *Flow) markSending(ctx context.Context, m member.Member, on bool) (member.Member, error) {
	mv := member.UnmarkSend.Move("")
	if on {
		// The count of codes handed in starts afresh as the send leaves,
		// not when its answer is recorded: the SMS may arrive, and codes be
		// handed in and counted, before that.
		mv = member.MarkSend.Move("", member.SetSending(m.Step()))
	}
	after, ok, err := f.move(ctx, m, mv)
	if err == nil && !ok {
		err = errMovedAway
	}
	return after, err
}

// sent records a code sent (or treated as sent) and schedules its expiry.
func (f *Flow) sent(ctx context.Context, m member.Member, requestID string, expires time.Time, reason string) error {
	if expires.IsZero() {
		expires = f.now().Add(f.cfg.AssumedCodeTTL)
	}
	after, ok, err := f.move(ctx, m, member.RecordSend.Move(reason, member.SetExpiry(expires)).WithRequest(requestID))
	if err != nil || !ok {
		return err
	}
	f.events.CodeSent(ctx, after)
	return f.scheduleExpiry(ctx, after)
}

// scheduleExpiry enqueues the expiry task of m's current code.
func (f *Flow) scheduleExpiry(ctx context.Context, m member.Member) error {
	t, err := tasks.NewCodeExpiry(m.AccountID, m.Step(), m.CodeExpiresAt)
	return f.enqueue(ctx, t, err)
}

// sendFailed handles a failed GetAccount or send of a pending member.
func (f *Flow) sendFailed(ctx context.Context, m member.Member, action string, err error) error {
	ce, ok := cloud.AsError(err)
	if !ok {
		return err
	}
	switch ce.Kind {
	case cloud.KindDone:
		_, _, err = f.move(ctx, m, member.FindPhone.Move(action+": "+ce.Code).WithRequest(ce.RequestID))
		return err
	case cloud.KindPermanent, cloud.KindMember:
		_, _, err = f.move(ctx, m, failMove(member.FailSend, ce, action+" refused: "+ce.Code))
		return err
	}
	f.logRetry(ctx, m, action, ce)
	return f.common(ctx, m, err, func(ce *cloud.Error) error {
		_, _, err := f.move(ctx, m, failMove(member.FailSend, ce, action+" failed after every retry: "+ce.Code))
		return err
	})
}
