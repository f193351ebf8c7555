package flow

import (
	"context"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/tasks"
)

// HandleExpiry runs when a sent code expires. A member still waiting on that
// same code gets a new one while sends are left, else it is expired.
func (f *Flow) HandleExpiry(ctx context.Context, t *asynq.Task) error {
	p, m, err := open[tasks.CodeExpiryPayload](ctx, f, t)
	if err != nil {
		return err
	}
	switch {
	case m.State == member.CodeSent && m.Step() == p.Step:
		return f.Expire(ctx, m, "no code handed in before the code expired")
	case m.State == member.Pending && m.Step() == p.Step:
		// A redelivery after the move: make sure the new send is queued.
		t, err := tasks.NewSendCode(m.AccountID, m.Step())
		return f.enqueue(ctx, t, err)
	}
	return nil
}

// Expire handles a member in code_sent whose code has expired (the expiry
// task, or a reconciliation run that found the task gone).
func (f *Flow) Expire(ctx context.Context, m member.Member, why string) error {
	return f.nextCode(ctx, m, spentByExpiry, why, "", "")
}
