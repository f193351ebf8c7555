package notify

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/tasks"
)

// Notifier turns the flow's steps into message tasks, one per configured
// channel. It only enqueues: the flow never waits for a channel, and a
// failed enqueue is logged, not returned.
type Notifier struct {
	store    *member.Store
	client   *asynq.Client
	keys     *phoneKeys
	channels []string
	log      *zap.Logger
}

// NotifierParams are what a Notifier is built from.
type NotifierParams struct {
	Store  *member.Store
	Client *asynq.Client
	// Channels are the names of the configured channels (Channel.Name).
	Channels []string
	Logger   *zap.Logger
}

// NewNotifier returns a Notifier.
func NewNotifier(p NotifierParams) *Notifier {
	if p.Logger == nil {
		p.Logger = zap.NewNop()
	}
	return &Notifier{store: p.Store, client: p.Client, keys: newPhoneKeys(p.Store.Redis(), p.Store.Prefix()),
		channels: p.Channels, log: p.Logger}
}

// CodeSent is told of each code sent to m: the member's first code tells
// the phone's owner the link (once per phone: the task ID holds no send),
// a later one reminds them.
func (n *Notifier) CodeSent(ctx context.Context, m member.Member) {
	if m.Sends <= 1 {
		n.logFailure(m, OwnerLink, n.enqueue(ctx, m, OwnerLink, ""))
		return
	}
	n.logFailure(m, Reminder, n.enqueue(ctx, m, Reminder, m.AccountID+":"+m.Step().String()))
}

// Ended is told of each member that reached a terminal state: once every
// member of its phone has, the owner is told the outcome.
func (n *Notifier) Ended(ctx context.Context, m member.Member) {
	sum, err := n.store.PhoneSummary(ctx, m.Phone)
	if err == nil && !sum.Done() {
		return
	}
	if err == nil {
		err = n.enqueue(ctx, m, Done, "")
	}
	n.logFailure(m, Done, err)
}

// ErrNoMembers reports a nudge for a phone no member has.
var ErrNoMembers = errors.New("no member has this phone")

// Nudge sends the owner link of phone again (the operator's `enqueue
// notify`, asked at at), under task IDs of their own: a later nudge is a
// new message, the same nudge delivered twice is one.
func (n *Notifier) Nudge(ctx context.Context, phone string, at time.Time) error {
	ms, err := n.store.PhoneMembers(ctx, phone)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return ErrNoMembers
	}
	return n.enqueue(ctx, ms[0], OwnerLink, "nudge-"+strconv.FormatInt(at.Unix(), 10))
}

// HandleNudge handles a TypeNudge task: it enqueues the owner link of the
// member's phone on every channel.
func (n *Notifier) HandleNudge(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.Decode[tasks.NudgePayload](t)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	m, err := n.store.Get(ctx, p.AccountID)
	if errors.Is(err, member.ErrNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	return n.Nudge(ctx, m.Phone, time.Unix(p.At, 0))
}

// DropNudge handles TypeNudge on a worker with no channel: the nudge is
// logged and dropped, since nothing could carry it.
func DropNudge(log *zap.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		log.Warn("owner link not sent again: no owner channel is configured (ONBOARD_SMTP_URL, ONBOARD_NOTIFY_*)")
		return fmt.Errorf("no owner channel configured: %w", asynq.SkipRetry)
	}
}

// enqueue puts the message of ev about m's phone on the notify queue, one
// task per channel; a task ID already taken is the same message, enqueued
// before.
func (n *Notifier) enqueue(ctx context.Context, m member.Member, ev Event, send string) error {
	hash, err := n.keys.of(ctx, m.Phone)
	if err != nil {
		return err
	}
	for _, ch := range n.channels {
		t, err := tasks.NewNotify(tasks.NotifyPayload{AccountID: m.AccountID, Event: string(ev), Channel: ch},
			TaskID(ch, ev, hash, send))
		if err == nil {
			_, err = n.client.EnqueueContext(ctx, t)
		}
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("enqueue %s message on %s: %w", ev, ch, err)
		}
	}
	return nil
}

// TaskID names the task of one message: channel, event, the phone's keyed
// hash and, for a reminder or a nudge, the send it follows.
func TaskID(channel string, ev Event, phoneHash, send string) string {
	id := "notify:" + channel + ":" + string(ev) + ":" + phoneHash
	if send != "" {
		id += ":" + send
	}
	return id
}

func (n *Notifier) logFailure(m member.Member, ev Event, err error) {
	if err != nil {
		n.log.Warn("message to the phone's owner not enqueued", zap.String("account_id", m.AccountID),
			zap.String("event", string(ev)), zap.Error(err))
	}
}
