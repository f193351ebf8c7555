package flow

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/tasks"
)

// errNotYours ends a send whose member waits for its phone's turn: the
// member holds no task until the turn is handed on to it.
var errNotYours = errors.New("another member of this phone holds its turn")

// errPhoneGap puts back a send that would follow the last SMS to its phone
// sooner than ONBOARD_PHONE_GAP.
var errPhoneGap = errors.New("the last SMS to this phone was too recent")

// errWindow puts back a send outside ONBOARD_SEND_WINDOW.
var errWindow = errors.New("the send window is closed")

// awaitTurn lets a send go on only while its member holds its phone's turn
// and ONBOARD_PHONE_GAP has passed since the phone's last SMS, inside the
// send window. A member that must wait for another member of its phone
// ends its task (errNotYours is reported as done); the turn's hand-on
// enqueues its send again.
func (f *Flow) awaitTurn(ctx context.Context, m member.Member) error {
	if err := f.awaitWindow(ctx, m); err != nil {
		return err
	}
	turn, err := f.store.TakeTurn(ctx, m.AccountID)
	if errors.Is(err, member.ErrConflict) {
		return errMovedAway
	}
	if err != nil {
		return err
	}
	if !turn.Mine {
		f.logger(ctx, m).Debug("send waits for another member of the phone")
		if turn.Next != nil {
			if err := f.handOn(ctx, turn.Next); err != nil {
				return err
			}
		}
		return errNotYours
	}
	if wait := turn.NotBefore.Sub(f.now()); wait > 0 {
		return snooze(wait, errPhoneGap)
	}
	return nil
}

// awaitWindow snoozes a send until the send window opens, marking the
// member waiting_for=send_window meanwhile.
func (f *Flow) awaitWindow(ctx context.Context, m member.Member) error {
	now := f.now()
	if f.cfg.Window.Open(now) {
		return nil
	}
	f.setWaiting(ctx, m, member.WaitingSendWindow)
	return snooze(f.cfg.Window.NextOpen(now).Sub(now), errWindow)
}

// setWaiting records what a pending member waits for; it is shown only, so
// a failure is logged, not returned.
func (f *Flow) setWaiting(ctx context.Context, m member.Member, what string) {
	if m.WaitingFor == what {
		return
	}
	if _, _, err := f.move(ctx, m, member.NoteWaiting.Move("", member.SetWaiting(what))); err != nil {
		f.logger(ctx, m).Warn("waiting_for not recorded", zap.Error(err))
	}
}

// noteWait records what a send put back for later waits for: the shared
// send rate, or the queues paused by a caller-wide refusal.
func (f *Flow) noteWait(ctx context.Context, m member.Member, err error) {
	var d *ratelimit.DelayError
	switch {
	case errors.As(err, &d), IsSnooze(err) && cloud.KindOf(err) == cloud.KindThrottled:
		f.setWaiting(ctx, m, member.WaitingRateLimit)
	case IsSnooze(err) && cloud.KindOf(err) == cloud.KindCallerWide:
		f.setWaiting(ctx, m, member.WaitingPause)
	}
}

// handOn enqueues the send of the member a phone's turn passed to, at the
// earliest moment its SMS may go.
func (f *Flow) handOn(ctx context.Context, h *member.HandOn) error {
	t, err := tasks.NewHandOnSend(h.AccountID, h.Step, h.At, f.now())
	return f.enqueue(ctx, t, err)
}
