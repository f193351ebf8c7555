package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/runlog"
	"github.com/rdonboard/rdonboard/tasks"
)

// repair puts one member whose next task is lost back on its path.
type repair struct {
	// askCloud: read the cloud's truth first, because the repair would
	// repeat a cloud call whose outcome may be known (a bind, a new code).
	// A plain pending member is not asked: its send starts with its own
	// GetAccount pre-flight.
	askCloud bool
	do       func(context.Context, member.Member) error
}

// diagnose returns the repair a due member needs, or nil when its next
// task is there (in any state, archived included: archived tasks have a
// pass of their own).
func (ru *run) diagnose(m member.Member) (*repair, error) {
	id, step := m.AccountID, m.Step()
	switch m.State {
	case member.CodeSent:
		return ru.needs(tasks.QueueControl, tasks.ExpiryTaskID(id, step), &repair{askCloud: true, do: ru.expire})
	case member.CodeSubmitted:
		return ru.needs(tasks.QueueBind, tasks.BindTaskID(id, step, m.CodeAttempts), &repair{askCloud: true, do: ru.requeueBind})
	case member.Pending:
		if m.WaitingFor == member.WaitingPhone {
			// A member waiting for its phone's turn has no task by design.
			return &repair{do: ru.phoneTurn}, nil
		}
		return ru.needsSend(tasks.SendTaskID(id, step), &repair{askCloud: m.Sending != "", do: ru.requeueSend})
	}
	return nil, nil
}

// needs returns fix when the task id is gone from queue.
func (ru *run) needs(queue, id string, fix *repair) (*repair, error) {
	gone, err := ru.taskGone(queue, id)
	if err != nil || !gone {
		return nil, err
	}
	return fix, nil
}

// needsSend returns fix when the send task id is gone from every send
// queue (a hand-on puts a member's first send on QueueSendNext).
func (ru *run) needsSend(id string, fix *repair) (*repair, error) {
	for _, q := range tasks.SendQueues {
		gone, err := ru.taskGone(q, id)
		if err != nil || !gone {
			return nil, err
		}
	}
	return fix, nil
}

func (ru *run) apply(ctx context.Context, m member.Member, fix *repair) {
	if err := fix.do(ctx, m); err != nil {
		ru.fail(m, fmt.Errorf("repair %s: %w", m.AccountID, err))
	}
}

// expire handles a code that expired without its expiry task, as that
// task would have: a new code while sends are left, else expired. It is
// done here rather than by enqueueing the expiry task, so the history
// says why and no stale task ID can be in the way.
func (ru *run) expire(ctx context.Context, m member.Member) error {
	return ru.expireWith(ctx, m, runlog.RepairCodeExpired, "reconcile: code expired and its expiry task is gone")
}

func (ru *run) expireWith(ctx context.Context, m member.Member, kind, why string) error {
	if err := ru.p.Flow.Expire(ctx, m, why); err != nil {
		return err
	}
	after, err := ru.p.Store.Get(ctx, m.AccountID)
	if err != nil {
		return err
	}
	if after.State != m.State || after.Step() != m.Step() {
		ru.repaired(m, kind, why)
	}
	return nil
}

// requeueBind enqueues the bind of the code handed in again.
func (ru *run) requeueBind(ctx context.Context, m member.Member) error {
	if !ru.note(ctx, m, runlog.RepairBindRequeued, "reconcile: bind task missing; bind of the code handed in enqueued again") {
		return nil
	}
	t, err := tasks.NewBind(m.AccountID, m.Step(), m.CodeAttempts)
	return ru.enqueue(ctx, t, err)
}

// requeueSend enqueues the send again. A send marked in flight is then
// treated as sent by its handler (no second SMS): the person may hold a
// code.
func (ru *run) requeueSend(ctx context.Context, m member.Member) error {
	reason := "reconcile: send task missing; send enqueued again"
	if m.Sending != "" {
		reason = "reconcile: send task missing after a send with no answer; enqueued again to record the code as sent (no second SMS)"
	}
	if !ru.note(ctx, m, runlog.RepairSendRequeued, reason) {
		return nil
	}
	t, err := tasks.NewSendCode(m.AccountID, m.Step())
	return ru.enqueue(ctx, t, err)
}

// note records a repair in the member's history without changing its
// state (a code_sent member keeps its expiry as its index score). It
// reports false when the member moved meanwhile: no repair is due then.
func (ru *run) note(ctx context.Context, m member.Member, kind, reason string) bool {
	var edits []member.Edit
	if m.State == member.CodeSent {
		edits = []member.Edit{member.SetExpiry(m.CodeExpiresAt)}
	}
	return ru.move(ctx, m, kind, member.NoteRepair.Move(reason, edits...))
}

// enqueue puts a task back; one already there under its ID is the same
// task, enqueued by the flow meanwhile.
func (ru *run) enqueue(ctx context.Context, t *asynq.Task, err error) error {
	if err != nil {
		return err
	}
	if _, err := ru.p.Client.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s: %w", t.Type(), err)
	}
	return nil
}

// phoneTurn hands on the turn of a waiting member's phone when nobody
// holds it, and enqueues the send of the member given the turn.
func (ru *run) phoneTurn(ctx context.Context, m member.Member) error {
	h, err := ru.p.Store.RepairTurn(ctx, m.Phone)
	if err != nil || h == nil {
		return err
	}
	ru.repaired(m, runlog.RepairPhoneQueue, "reconcile: the phone's turn was held by nobody while members waited; handed on to "+h.AccountID)
	return ru.enqueueHandOn(ctx, h)
}

// enqueueHandOn enqueues the send of the member a phone's turn passed to.
func (ru *run) enqueueHandOn(ctx context.Context, h *member.HandOn) error {
	t, err := tasks.NewHandOnSend(h.AccountID, h.Step, h.At, ru.p.Now())
	return ru.enqueue(ctx, t, err)
}
