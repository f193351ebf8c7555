package flow

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/tasks"
)

// HandleBind binds the phone of a member with the code handed in.
func (f *Flow) HandleBind(ctx context.Context, t *asynq.Task) error {
	p, m, err := open[tasks.BindPayload](ctx, f, t)
	if err != nil {
		return err
	}
	if m.State != member.CodeSubmitted || m.Step() != p.Step || m.CodeAttempts != p.Attempt {
		return nil
	}
	// Mark the bind in doubt before its request leaves: if this worker
	// dies before the answer is recorded, the redelivery reads
	// AccountSecureMobileAlreadyExists as this bind's success. m keeps the
	// mark as it was, the record of earlier attempts.
	res, err := f.cloud.Bind(ctx, m.AccountID, m.Phone, m.Code, func() error {
		if err := f.markInDoubt(ctx, m, true); err != nil {
			return err
		}
		return f.replicated(ctx)
	})
	err = notNow(err)
	if errors.Is(err, errMovedAway) {
		return nil
	}
	if err == nil {
		f.metrics.Code("bound")
		// A member cancelled while its bind was in flight is bound all the
		// same: the cloud has the phone now, and the record must say so.
		_, _, err = f.move(ctx, m, member.Bind.Move("secure mobile phone bound").WithRequest(res.RequestID))
		return err
	}
	return f.bindFailed(ctx, m, err)
}

func (f *Flow) bindFailed(ctx context.Context, m member.Member, err error) error {
	ce, ok := cloud.AsError(err)
	if !ok {
		return err
	}
	if ce.Kind != cloud.KindOutcomeUnknown && !m.BindInDoubt {
		// The cloud answered, so this bind did not happen: forget the mark,
		// or a later AccountSecureMobileAlreadyExists would be taken for it.
		if merr := f.markInDoubt(ctx, m, false); merr != nil && !errors.Is(merr, errMovedAway) {
			return merr
		}
	}
	switch ce.Kind {
	case cloud.KindDone:
		return f.alreadyBound(ctx, m, ce)
	case cloud.KindMember:
		f.metrics.Code("wrong")
		return f.wrongCode(ctx, m, ce)
	case cloud.KindPermanent:
		_, _, err = f.move(ctx, m, failMove(member.FailBind, ce, "bind refused: "+ce.Code))
		return err
	case cloud.KindOutcomeUnknown:
		// The bind may have happened, and stays marked in doubt: if the
		// retry finds the phone bound, the bind was ours.
	}
	f.logRetry(ctx, m, cloud.ActionBind, ce)
	return f.common(ctx, m, err, func(ce *cloud.Error) error {
		_, _, err := f.move(ctx, m, failMove(member.FailBind, ce, "bind failed after every retry: "+ce.Code))
		return err
	})
}

// markInDoubt sets or clears the in-doubt mark of m's bind.
func (f *Flow) markInDoubt(ctx context.Context, m member.Member, on bool) error {
	mv := member.UnmarkBind.Move("")
	if on {
		mv = member.MarkBind.Move("")
	}
	_, ok, err := f.move(ctx, m, mv)
	if err == nil && !ok {
		err = errMovedAway
	}
	return err
}

// alreadyBound ends a member the cloud says has a phone: bound if its own
// bind had no answer earlier (that bind succeeded), else already_bound.
func (f *Flow) alreadyBound(ctx context.Context, m member.Member, ce *cloud.Error) error {
	mv := member.FindPhoneOnBind.Move("bind: " + ce.Code + ": a phone was bound before")
	if m.BindInDoubt {
		mv = member.BindWasOurs.Move("bind: " + ce.Code + " after a bind with no answer: that bind succeeded")
	}
	_, _, err := f.move(ctx, m, mv.WithRequest(ce.RequestID))
	return err
}

// wrongCode sends the member back to wait for another code; after
// MaxCodeAttempts wrong codes, or once the code has expired, a new code is
// sent while sends are left, else the member is expired.
func (f *Flow) wrongCode(ctx context.Context, m member.Member, ce *cloud.Error) error {
	used := m.CodeAttempts >= f.cfg.MaxCodeAttempts
	lapsed := !m.CodeExpiresAt.IsZero() && !f.now().Before(m.CodeExpiresAt)
	if !used && !lapsed {
		_, _, err := f.move(ctx, m, member.RefuseCode.Move(
			fmt.Sprintf("wrong code (attempt %d of %d)", m.CodeAttempts, f.cfg.MaxCodeAttempts),
			member.SetError(ce.Code, ce.Message)).WithRequest(ce.RequestID))
		return err
	}
	why := fmt.Sprintf("wrong code %d times", m.CodeAttempts)
	if !used {
		why = "wrong code, and the code has expired"
	}
	return f.nextCode(ctx, m, spentByWrongCodes, why, ce.Code, ce.Message)
}

// spent names the two ends of a spent code: a new send, or expired.
type spent struct{ resend, giveUp member.Transition }

var (
	spentByExpiry     = spent{member.ResendAfterExpiry, member.GiveUpAfterExpiry}
	spentByWrongCodes = spent{member.ResendAfterWrongCodes, member.GiveUpAfterWrongCodes}
)

// nextCode moves a member whose code is spent to pending with a new send,
// or to expired when MaxSends codes were sent.
func (f *Flow) nextCode(ctx context.Context, m member.Member, by spent, why, errCode, errMsg string) error {
	var edits []member.Edit
	if errCode != "" {
		edits = append(edits, member.SetError(errCode, errMsg))
	}
	if m.Sends >= f.cfg.MaxSends {
		_, _, err := f.move(ctx, m, by.giveUp.Move(fmt.Sprintf("%s; all %d codes used", why, f.cfg.MaxSends), edits...))
		return err
	}
	after, ok, err := f.move(ctx, m, by.resend.Move(fmt.Sprintf("%s; sending code %d of %d", why, m.Sends+1, f.cfg.MaxSends), edits...))
	if err != nil || !ok {
		return err
	}
	t, err := tasks.NewSendCode(after.AccountID, after.Step())
	return f.enqueue(ctx, t, err)
}
