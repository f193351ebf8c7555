package flow

import (
	"context"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/tasks"
)

// HandleBind binds the phone of a member with the code handed in.
func (f *Flow) HandleBind(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.Decode[tasks.BindPayload](t)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	m, err := f.load(ctx, p.AccountID)
	if err != nil {
		return err
	}
	if m.State != member.CodeSubmitted || m.Step() != p.Step || m.CodeAttempts != p.Attempt {
		return nil
	}
	var res cloud.BindResult
	err = f.call(ctx, cloud.ActionBind, func() (err error) {
		res, err = f.cloud.Bind(ctx, m.AccountID, m.Phone, m.Code)
		return err
	})
	if err == nil {
		f.metrics.Code("bound")
		_, _, err = f.move(ctx, m, member.Move{From: []member.State{member.CodeSubmitted}, To: member.Bound,
			Reason: "secure mobile phone bound", RequestID: res.RequestID,
			Edits: []member.Edit{member.ClearCode(), member.ClearError(), member.SetInDoubt(false)}})
		return err
	}
	return f.bindFailed(ctx, m, err)
}

func (f *Flow) bindFailed(ctx context.Context, m member.Member, err error) error {
	ce, ok := cloud.AsError(err)
	if !ok {
		return err
	}
	switch ce.Kind {
	case cloud.KindDone:
		return f.alreadyBound(ctx, m, ce)
	case cloud.KindMember:
		f.metrics.Code("wrong")
		return f.wrongCode(ctx, m, ce)
	case cloud.KindPermanent:
		_, _, err = f.move(ctx, m, failMove(member.CodeSubmitted, ce, "bind refused: "+ce.Code))
		return err
	case cloud.KindOutcomeUnknown:
		// The bind may have happened: if the retry finds the phone bound,
		// the bind was ours.
		if _, _, merr := f.move(ctx, m, member.Move{From: []member.State{member.CodeSubmitted}, To: member.CodeSubmitted,
			Quiet: true, Edits: []member.Edit{member.SetInDoubt(true)}}); merr != nil {
			return merr
		}
	}
	f.logRetry(ctx, m, cloud.ActionBind, ce)
	return f.common(ctx, m, cloud.ActionBind, err, func(ce *cloud.Error) error {
		_, _, err := f.move(ctx, m, failMove(member.CodeSubmitted, ce, "bind failed after every retry: "+ce.Code))
		return err
	})
}

// alreadyBound ends a member the cloud says has a phone: bound if its own
// bind had no answer earlier (that bind succeeded), else already_bound.
func (f *Flow) alreadyBound(ctx context.Context, m member.Member, ce *cloud.Error) error {
	to, reason := member.AlreadyBound, "bind: "+ce.Code+": a phone was bound before"
	if m.BindInDoubt {
		to, reason = member.Bound, "bind: "+ce.Code+" after a bind with no answer: that bind succeeded"
	}
	_, _, err := f.move(ctx, m, member.Move{From: []member.State{member.CodeSubmitted}, To: to, Reason: reason,
		RequestID: ce.RequestID, Edits: []member.Edit{member.ClearCode(), member.SetInDoubt(false)}})
	return err
}

// wrongCode sends the member back to wait for another code; after
// MaxCodeAttempts wrong codes, or once the code has expired, a new code is
// sent while sends are left, else the member is expired.
func (f *Flow) wrongCode(ctx context.Context, m member.Member, ce *cloud.Error) error {
	used := m.CodeAttempts >= f.cfg.MaxCodeAttempts
	lapsed := !m.CodeExpiresAt.IsZero() && !f.now().Before(m.CodeExpiresAt)
	if !used && !lapsed {
		_, _, err := f.move(ctx, m, member.Move{From: []member.State{member.CodeSubmitted}, To: member.CodeSent,
			Reason:    fmt.Sprintf("wrong code (attempt %d of %d)", m.CodeAttempts, f.cfg.MaxCodeAttempts),
			RequestID: ce.RequestID, Edits: []member.Edit{member.ClearCode(), member.SetError(ce.Code, ce.Message)}})
		return err
	}
	why := fmt.Sprintf("wrong code %d times", m.CodeAttempts)
	if !used {
		why = "wrong code, and the code has expired"
	}
	return f.nextCode(ctx, m, member.CodeSubmitted, why, ce.Code, ce.Message)
}

// nextCode moves a member whose code is spent to pending with a new send,
// or to expired when MaxSends codes were sent.
func (f *Flow) nextCode(ctx context.Context, m member.Member, from member.State, why, errCode, errMsg string) error {
	edits := []member.Edit{member.ClearCode(), member.SetInDoubt(false)}
	if errCode != "" {
		edits = append(edits, member.SetError(errCode, errMsg))
	}
	if m.Sends >= f.cfg.MaxSends {
		_, _, err := f.move(ctx, m, member.Move{From: []member.State{from}, To: member.Expired,
			Reason: fmt.Sprintf("%s; all %d codes used", why, f.cfg.MaxSends), Edits: edits})
		return err
	}
	after, ok, err := f.move(ctx, m, member.Move{From: []member.State{from}, To: member.Pending,
		Reason: fmt.Sprintf("%s; sending code %d of %d", why, m.Sends+1, f.cfg.MaxSends), Edits: edits})
	if err != nil || !ok {
		return err
	}
	t, err := tasks.NewSendCode(after.AccountID, after.Step())
	return f.enqueue(ctx, t, err)
}
