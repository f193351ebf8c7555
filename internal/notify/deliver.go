package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/flow"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/ownermsg"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/tasks"
)

// LinkMaker gives a phone's owner link and when it expires.
type LinkMaker interface {
	PhoneLink(ctx context.Context, phone string) (url string, expires time.Time, err error)
}

// Rates are the robots' documented limits per robot, shared by every
// worker: DingTalk and WeCom 20 a minute, Feishu 5 a second.
var Rates = map[string]float64{"dingtalk": 20.0 / 60, "wecom": 20.0 / 60, "feishu": 5}

// deliveredTTL is how long a delivered message's mark is kept: as long as
// its task ID is retained.
const deliveredTTL = tasks.NotifyRetention

// Deliverer handles message tasks: it sends one message on one channel
// under the channel's shared rate, and records the outcome.
type Deliverer struct {
	store    *member.Store
	rdb      redis.UniversalClient
	prefix   string
	keys     *phoneKeys
	last     *ownermsg.Book
	channels map[string]Channel
	limiter  *ratelimit.Limiter
	links    LinkMaker
	metrics  *metrics.Metrics
	log      *zap.Logger
	now      func() time.Time
}

// DelivererParams are what a Deliverer is built from.
type DelivererParams struct {
	Store    *member.Store
	Channels []Channel
	// Links makes the owner links; nil sends messages without one.
	Links   LinkMaker
	Metrics *metrics.Metrics
	Logger  *zap.Logger
	// Rates overrides Rates (messages per second per channel).
	Rates map[string]float64
	// Now is the clock of sent_at; default time.Now.
	Now func() time.Time
}

// NewDeliverer returns a Deliverer.
func NewDeliverer(p DelivererParams) *Deliverer {
	if p.Logger == nil {
		p.Logger = zap.NewNop()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Rates == nil {
		p.Rates = Rates
	}
	d := &Deliverer{store: p.Store, rdb: p.Store.Redis(), prefix: p.Store.Prefix() + "notify:", channels: map[string]Channel{},
		keys: newPhoneKeys(p.Store.Redis(), p.Store.Prefix()), last: ownermsg.New(p.Store.Redis(), p.Store.Prefix()), links: p.Links, metrics: p.Metrics, log: p.Logger, now: p.Now}
	for _, c := range p.Channels {
		d.channels[c.Name()] = c
	}
	d.limiter = ratelimit.New(d.rdb, ratelimit.Options{Prefix: d.prefix, Rates: p.Rates, MaxWait: 5 * time.Second})
	return d
}

// Register adds the message handler to mux.
func (d *Deliverer) Register(mux *asynq.ServeMux) { mux.HandleFunc(tasks.TypeNotify, d.Handle) }

// Handle delivers one message task.
func (d *Deliverer) Handle(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.Decode[tasks.NotifyPayload](t)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	ch, ok := d.channels[p.Channel]
	if !ok {
		return fmt.Errorf("channel %q is not configured here: %w", p.Channel, asynq.SkipRetry)
	}
	m, err := d.store.Get(ctx, p.AccountID)
	if errors.Is(err, member.ErrNotFound) {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	id, _ := asynq.GetTaskID(ctx)
	if done, err := d.delivered(ctx, id); err != nil || done {
		return err
	}
	return d.send(ctx, ch, m, Event(p.Event), id)
}

// send sends the message once the channel's turn comes, and records it.
func (d *Deliverer) send(ctx context.Context, ch Channel, m member.Member, ev Event, taskID string) error {
	msg, err := d.message(ctx, m, ev)
	if err != nil {
		return err
	}
	if err := d.limiter.Wait(ctx, ch.Name()); err != nil {
		var de *ratelimit.DelayError
		if errors.As(err, &de) {
			return flow.Snooze(de.After, err)
		}
		return err
	}
	providerID, err := ch.Send(ctx, msg)
	return d.outcome(ctx, ch, m, msg, taskID, providerID, err)
}

// message gathers what the owner is told: counts, email and link.
func (d *Deliverer) message(ctx context.Context, m member.Member, ev Event) (Message, error) {
	sum, err := d.store.PhoneSummary(ctx, m.Phone)
	if err != nil {
		return Message{}, err
	}
	msg := Message{Event: ev, Phone: m.Phone, Email: sum.Email, Accounts: sum.Accounts, Bound: sum.Bound, SentAt: d.now().UTC()}
	if msg.Email == "" {
		msg.Email = m.Email
	}
	if ev != Done && d.links != nil {
		if msg.URL, msg.Expires, err = d.links.PhoneLink(ctx, m.Phone); err != nil {
			return Message{}, fmt.Errorf("owner link: %w", err)
		}
	}
	return msg, nil
}

// outcome records a send's result and returns the handler's error: a
// throttle snoozes, a refusal ends the task, another error retries.
func (d *Deliverer) outcome(ctx context.Context, ch Channel, m member.Member, msg Message, taskID, providerID string, err error) error {
	var th *ThrottledError
	switch {
	case err == nil:
		if merr := d.rdb.Set(ctx, d.prefix+"sent:"+taskID, "1", deliveredTTL).Err(); merr != nil {
			d.log.Warn("delivered mark not kept", zap.String("task_id", taskID), zap.Error(merr))
		}
		d.record(ctx, ch, m, msg, ownermsg.Delivered, providerID)
		return nil
	case errors.Is(err, ErrSkip):
		d.record(ctx, ch, m, msg, ownermsg.Skipped, err.Error())
		return nil
	case errors.As(err, &th):
		d.record(ctx, ch, m, msg, ownermsg.Throttled, err.Error())
		_ = d.limiter.Throttled(ctx, ch.Name())
		return flow.Snooze(th.After+rand.N(th.After/5+1), err)
	case errors.Is(err, ErrRejected) || finalAttempt(ctx):
		d.record(ctx, ch, m, msg, ownermsg.Failed, err.Error())
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	d.record(ctx, ch, m, msg, ownermsg.Error, err.Error())
	return err
}

// delivered reports whether the task's message went out already (a
// redelivery after the send, before asynq heard of it).
func (d *Deliverer) delivered(ctx context.Context, taskID string) (bool, error) {
	n, err := d.rdb.Exists(ctx, d.prefix+"sent:"+taskID).Result()
	if err != nil {
		return false, fmt.Errorf("delivered mark: %w", err)
	}
	return n > 0, nil
}

// finalAttempt reports whether the task running in ctx has no retry left.
func finalAttempt(ctx context.Context) bool {
	retried, ok1 := asynq.GetRetryCount(ctx)
	max, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && retried >= max
}
