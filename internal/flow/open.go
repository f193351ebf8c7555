package flow

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/phone"
	"github.com/rdonboard/rdonboard/tasks"
)

// errUnknown wraps the end of a task whose member is not to be found.
var errUnknown = errors.New("task for no member")

// open is the opening every handler shares: decode t's payload and load
// the member it is about. A payload that does not decode ends the task
// (SkipRetry, matching tasks.ErrBadPayload), and so does a member the store
// does not know (matching errUnknown); a code handed in by phone is for
// the member of that phone whose code is live.
func open[P tasks.Payload](ctx context.Context, f *Flow, t *asynq.Task) (P, member.Member, error) {
	p, err := tasks.Decode[P](t)
	if err != nil {
		return p, member.Member{}, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	var m member.Member
	if c, ok := any(p).(tasks.CodeSubmittedPayload); ok && c.Phone != "" {
		m, err = f.codeHolder(ctx, c.Phone)
	} else {
		m, err = f.load(ctx, p.Account())
	}
	return p, m, err
}

// load returns the member a task is about; a member the store does not know
// (deleted, or a payload from elsewhere) ends the task.
func (f *Flow) load(ctx context.Context, id string) (member.Member, error) {
	m, err := f.store.Get(ctx, id)
	if errors.Is(err, member.ErrNotFound) {
		tid, _ := asynq.GetTaskID(ctx)
		f.log.Warn("task for an unknown member dropped", zap.String("account_id", id), zap.String("task_id", tid))
		return m, fmt.Errorf("%w: %w: %w", errUnknown, err, asynq.SkipRetry)
	}
	return m, err
}

// codeHolder returns the member of the phone named whose code is live. A
// phone that is not one, that no member has, or none of whose members waits
// for a code, ends the task.
func (f *Flow) codeHolder(ctx context.Context, raw string) (member.Member, error) {
	ph, err := phone.Normalize(raw)
	if err != nil {
		return member.Member{}, fmt.Errorf("%w: phone: %w: %w", errUnknown, err, asynq.SkipRetry)
	}
	m, err := f.store.CodeHolder(ctx, ph)
	if errors.Is(err, member.ErrNoSuchPhone) || errors.Is(err, member.ErrNotWaiting) {
		tid, _ := asynq.GetTaskID(ctx)
		f.log.Info("code by phone dropped", zap.String("phone", phone.Mask(ph)), zap.String("task_id", tid), zap.Error(err))
		return m, fmt.Errorf("%w: %w: %w", errUnknown, err, asynq.SkipRetry)
	}
	return m, err
}
