package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/runlog"
	"github.com/rdonboard/rdonboard/tasks"
)

// archivedPage is how many archived tasks one inspector call lists.
const archivedPage = 500

// maxLastErr bounds the task error kept in a member's record.
const maxLastErr = 300

// errCodeArchived is the last_error_code of a member failed because its
// task was archived twice.
const errCodeArchived = "TaskArchived"

// archivedRef is what an archived task of the flow is about.
type archivedRef struct {
	info    *asynq.TaskInfo
	id      string
	step    tasks.Step
	attempt int
}

// archived looks at every task asynq archived (its retries used up, or
// archived by hand). A task that a member not finished is waiting on is
// put back once: deleted and enqueued again, after the cloud is asked
// about the member. Archived again after that (the history says so), the
// member is failed with the task's last error: retrying blindly would loop
// forever. A code handed in is put back once, never failed: the code's
// expiry moves the member on; one that will not run again is deleted, so
// no code stays at rest in the archive. Other tasks of finished members,
// and tasks for a step a member has left, are left for an operator to
// look at (asynq trims archives by age and size).
func (ru *run) archived(ctx context.Context) error {
	for _, q := range tasks.Queues {
		infos, err := ru.listArchived(q)
		if err != nil {
			return err
		}
		for _, t := range infos {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ru.archivedTask(ctx, t)
		}
	}
	return nil
}

// listArchived lists the archived tasks of queue, all pages read before
// any is deleted.
func (ru *run) listArchived(queue string) ([]*asynq.TaskInfo, error) {
	var all []*asynq.TaskInfo
	for page := 1; ; page++ {
		ts, err := ru.p.Inspector.ListArchivedTasks(queue, asynq.PageSize(archivedPage), asynq.Page(page))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return all, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list archived tasks of %s: %w", queue, err)
		}
		all = append(all, ts...)
		if len(ts) < archivedPage {
			return all, nil
		}
	}
}

func (ru *run) archivedTask(ctx context.Context, t *asynq.TaskInfo) {
	ref, ok := decodeArchived(t)
	if !ok && t.Type != tasks.TypeCodeSubmitted {
		return
	}
	ru.mu.Lock()
	ru.sum.ArchivedTasks++
	ru.mu.Unlock()
	if t.Type == tasks.TypeCodeSubmitted {
		if !ok {
			ref.id = "" // unreadable: nobody to run it for
		}
		ru.archivedCode(ctx, ref)
		return
	}
	m, err := ru.p.Store.Get(ctx, ref.id)
	if errors.Is(err, member.ErrNotFound) {
		return
	}
	if err != nil {
		ru.fail(member.Member{AccountID: ref.id}, err)
		return
	}
	if m.State.Terminal() || !ref.waitedOn(m) || ru.settle(ctx, m) {
		return
	}
	again, err := ru.putBackBefore(ctx, m, t.ID)
	switch {
	case err != nil:
		ru.fail(m, err)
	case again:
		ru.failArchived(ctx, m, t)
	default:
		if err := ru.putBack(ctx, m, ref); err != nil {
			ru.fail(m, fmt.Errorf("put back task %s: %w", t.ID, err))
		}
	}
}

// decodeArchived reads the member and step of an archived flow task.
func decodeArchived(t *asynq.TaskInfo) (archivedRef, bool) {
	task := asynq.NewTask(t.Type, t.Payload)
	ref := archivedRef{info: t}
	var err error
	switch t.Type {
	case tasks.TypeSendCode:
		p, derr := tasks.Decode[tasks.SendCodePayload](task)
		ref.id, ref.step, err = p.AccountID, p.Step, derr
	case tasks.TypeBind:
		p, derr := tasks.Decode[tasks.BindPayload](task)
		ref.id, ref.step, ref.attempt, err = p.AccountID, p.Step, p.Attempt, derr
	case tasks.TypeCodeExpiry:
		p, derr := tasks.Decode[tasks.CodeExpiryPayload](task)
		ref.id, ref.step, err = p.AccountID, p.Step, derr
	case tasks.TypeCodeSubmitted:
		p, derr := tasks.Decode[tasks.CodeSubmittedPayload](task)
		ref.id, err = p.AccountID, derr
	default:
		return ref, false
	}
	return ref, err == nil
}

// waitedOn reports whether m is waiting on the archived task: it is at the
// task's step in the state the task moves it on from.
func (r archivedRef) waitedOn(m member.Member) bool {
	switch r.info.Type {
	case tasks.TypeSendCode:
		return m.State == member.Pending && m.Step() == r.step
	case tasks.TypeBind:
		return m.State == member.CodeSubmitted && m.Step() == r.step && m.CodeAttempts == r.attempt
	case tasks.TypeCodeExpiry:
		return m.State == member.CodeSent && m.Step() == r.step
	}
	return m.State == member.CodeSent
}

// putBackBefore reports whether a run put task id back before.
func (ru *run) putBackBefore(ctx context.Context, m member.Member, id string) (bool, error) {
	events, err := ru.p.Store.History(ctx, m.AccountID)
	if err != nil {
		return false, err
	}
	for _, e := range events {
		if strings.Contains(e.Reason, putBackMark(id)) {
			return true, nil
		}
	}
	return false, nil
}

func putBackMark(id string) string { return "archived task " + id + " put back" }

func putBackReason(t *asynq.TaskInfo) string {
	return fmt.Sprintf("reconcile: %s (last error: %s)", putBackMark(t.ID), lastErr(t))
}

// putBack deletes the archived task, records the repair, and enqueues the
// task again (an expiry whose time has passed is handled at once). The
// task is deleted first, so the history's mark always means a put-back
// that happened; should the enqueue fail, the next run finds the task
// missing and enqueues it.
func (ru *run) putBack(ctx context.Context, m member.Member, ref archivedRef) error {
	t := ref.info
	if err := ru.p.Inspector.DeleteTask(t.Queue, t.ID); err != nil {
		if errors.Is(err, asynq.ErrTaskNotFound) {
			return nil
		}
		return err
	}
	reason := putBackReason(t)
	if t.Type == tasks.TypeCodeExpiry && !ru.p.Now().Before(m.CodeExpiresAt) {
		return ru.expireWith(ctx, m, runlog.RepairArchivedPutBack, reason)
	}
	if !ru.note(ctx, m, runlog.RepairArchivedPutBack, reason) {
		return nil
	}
	var task *asynq.Task
	var err error
	switch t.Type {
	case tasks.TypeSendCode:
		// Back on the queue it was archived from.
		task, err = tasks.NewSendCode(m.AccountID, ref.step, asynq.Queue(t.Queue))
	case tasks.TypeBind:
		task, err = tasks.NewBind(m.AccountID, ref.step, ref.attempt)
	default:
		task, err = tasks.NewCodeExpiry(m.AccountID, ref.step, m.CodeExpiresAt)
	}
	return ru.enqueue(ctx, task, err)
}

// archivedCode handles an archived code hand-in (the flow archives none;
// one archived by hand, or by an older version): run once more while its
// member waits and the code is valid, else deleted, as it carries a code
// that will never bind.
func (ru *run) archivedCode(ctx context.Context, ref archivedRef) {
	t := ref.info
	m, err := ru.p.Store.Get(ctx, ref.id)
	switch {
	case err != nil && !errors.Is(err, member.ErrNotFound):
		ru.fail(member.Member{AccountID: ref.id}, err)
		return
	case err == nil && !m.State.Terminal() && ref.waitedOn(m) && !ru.settle(ctx, m):
		again, err := ru.putBackBefore(ctx, m, t.ID)
		if err != nil {
			ru.fail(m, err)
			return
		}
		if !again && ru.rerunCode(ctx, m, t) {
			return
		}
	}
	if err := ru.p.Inspector.DeleteTask(t.Queue, t.ID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		ru.fail(member.Member{AccountID: ref.id}, fmt.Errorf("delete archived task %s: %w", t.ID, err))
	}
}

// rerunCode runs an archived code hand-in again while its code is valid;
// it reports whether it did.
func (ru *run) rerunCode(ctx context.Context, m member.Member, t *asynq.TaskInfo) bool {
	if !ru.p.Now().Before(m.CodeExpiresAt) || !ru.note(ctx, m, runlog.RepairArchivedPutBack, putBackReason(t)) {
		return false
	}
	if err := ru.p.Inspector.RunTask(t.Queue, t.ID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		ru.fail(m, fmt.Errorf("run archived task %s: %w", t.ID, err))
	}
	return true
}

// failArchived fails a member whose task was archived again after a
// put-back; the archived task stays for an operator to look at.
func (ru *run) failArchived(ctx context.Context, m member.Member, t *asynq.TaskInfo) {
	msg := lastErr(t)
	ru.move(ctx, m, runlog.RepairArchivedFailed, member.FailArchived.Move(
		fmt.Sprintf("reconcile: archived task %s was archived again after it was put back: member failed (last error: %s)", t.ID, msg),
		member.SetError(errCodeArchived, msg)))
}

// lastErr is the archived task's last error, redacted and bounded.
func lastErr(t *asynq.TaskInfo) string {
	s := strings.TrimSpace(cloud.Redact(t.LastErr))
	if s == "" {
		return "none recorded (archived by hand?)"
	}
	if r := []rune(s); len(r) > maxLastErr {
		s = string(r[:maxLastErr]) + "…"
	}
	return s
}
