// Package flow owns the onboarding flow of one member: the asynq handlers
// that send a code, take a code handed in, bind the phone and handle a
// code's expiry. Every handler is idempotent under redelivery: it acts only
// through the member store's guarded transitions, and a task for a step the
// member has left does nothing. No handler waits for a person: a member
// waiting for a code holds no worker and no goroutine, only a scheduled
// expiry task.
package flow

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/cloudcall"
	"github.com/rdonboard/rdonboard/internal/logging"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/internal/sendwindow"
	"github.com/rdonboard/rdonboard/tasks"
)

// Defaults of Config.
const (
	// DefaultAssumedCodeTTL is the validity assumed for a code whose send
	// had no answer: long enough not to SMS a person who may hold a code.
	DefaultAssumedCodeTTL = 10 * time.Minute
	// pausedRecheck is how long a task waits while its queue is paused.
	pausedRecheck = 30 * time.Second
	// busyRecheck is how long a code waits while an earlier code of the same
	// member is being checked.
	busyRecheck = time.Second
	// sendingRecheck is how long a code waits while its send is recorded.
	sendingRecheck = 100 * time.Millisecond
)

// Config holds the flow's limits.
type Config struct {
	// MaxSends is the number of codes sent to one member before it is
	// expired (ONBOARD_MAX_SENDS).
	MaxSends int
	// MaxCodeAttempts is the number of codes taken for one sent code
	// (ONBOARD_MAX_CODE_ATTEMPTS).
	MaxCodeAttempts int
	// AssumedCodeTTL is the validity assumed for a code whose send outcome is
	// unknown; default DefaultAssumedCodeTTL.
	AssumedCodeTTL time.Duration
	// Window is when SMS may be sent (ONBOARD_SEND_WINDOW); the zero
	// Window is always open.
	Window sendwindow.Window
}

// Params are the parts a Flow is built from.
type Params struct {
	Store   *member.Store
	Cloud   cloud.Client
	Limiter *ratelimit.Limiter
	// Client enqueues the tasks that follow a step.
	Client  *asynq.Client
	Pauser  *pause.Controller
	Logger  *zap.Logger
	Metrics *metrics.Metrics
	Config  Config
	// Events is told of codes sent and members ended (the phone owner's
	// messages); nil tells no one.
	Events Events
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Replicated, when set, returns once what was written has reached a
	// replica (redisconn.Replicas.Wait on a Sentinel primary). A send's or
	// a bind's in-flight mark waits for it before the request leaves, so
	// a failover cannot lose the mark of a request that left.
	Replicated func(context.Context) error
}

// Events is told of the steps a phone's owner hears about. It must only
// enqueue: the flow does not wait for it and it returns nothing.
type Events interface {
	CodeSent(ctx context.Context, m member.Member)
	Ended(ctx context.Context, m member.Member)
}

type noEvents struct{}

func (noEvents) CodeSent(context.Context, member.Member) {}
func (noEvents) Ended(context.Context, member.Member)    {}

// Flow holds the handlers of the onboarding flow.
type Flow struct {
	store *member.Store
	// cloud calls under the shared limits; the flow keeps only what to do
	// with the outcome (snooze, retry, pause).
	cloud   *cloudcall.Caller
	client  *asynq.Client
	pauser  *pause.Controller
	log     *zap.Logger
	metrics *metrics.Metrics
	cfg     Config
	events  Events
	now     func() time.Time
	// replicated is Params.Replicated, or nothing to wait for.
	replicated func(context.Context) error
}

// New returns a Flow.
func New(p Params) *Flow {
	if p.Config.AssumedCodeTTL <= 0 {
		p.Config.AssumedCodeTTL = DefaultAssumedCodeTTL
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Logger == nil {
		p.Logger = zap.NewNop()
	}
	if p.Events == nil {
		p.Events = noEvents{}
	}
	if p.Replicated == nil {
		p.Replicated = func(context.Context) error { return nil }
	}
	caller := cloudcall.New(cloudcall.Params{Client: p.Cloud, Limiter: p.Limiter, Metrics: p.Metrics,
		Mode: cloudcall.Snooze, Now: p.Now})
	return &Flow{events: p.Events, store: p.Store, cloud: caller, client: p.Client, pauser: p.Pauser,
		log: p.Logger, metrics: p.Metrics, cfg: p.Config, now: p.Now, replicated: p.Replicated}
}

// Register adds the flow's handlers to mux.
func (f *Flow) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(tasks.TypeSendCode, f.HandleSend)
	mux.HandleFunc(tasks.TypeCodeSubmitted, f.HandleCodeSubmitted)
	mux.HandleFunc(tasks.TypeBind, f.HandleBind)
	mux.HandleFunc(tasks.TypeCodeExpiry, f.HandleExpiry)
}

// logger returns the logger of lines about m in the task running in ctx.
func (f *Flow) logger(ctx context.Context, m member.Member) *zap.Logger {
	id, _ := asynq.GetTaskID(ctx)
	fields := append(logging.Member(m.AccountID, m.Phone, m.Batch), zap.String("task_id", id))
	return f.log.With(fields...)
}

// move applies a transition to m and logs it: one line per state change.
// A conflict or a stale step means another delivery got there first: the
// caller's work is done.
func (f *Flow) move(ctx context.Context, m member.Member, mv member.Move) (member.Member, bool, error) {
	if mv.Guard == nil {
		step := m.Step()
		mv.Guard = &step
	}
	if mv.Attempt == nil && m.State == member.CodeSubmitted {
		// A move decided on the code of one attempt (a bind's outcome)
		// must not apply to a newer code handed in meanwhile.
		att := m.CodeAttempts
		mv.Attempt = &att
	}
	after, err := f.store.Transition(ctx, m.AccountID, mv)
	if errors.Is(err, member.ErrConflict) || errors.Is(err, member.ErrStale) {
		f.logger(ctx, m).Debug("member moved by another delivery", zap.Error(err))
		return after, false, nil
	}
	if err != nil {
		return after, false, err
	}
	if after.State.Terminal() && !m.State.Terminal() {
		f.events.Ended(ctx, after)
	}
	if after.HandOn != nil {
		if err := f.handOn(ctx, after.HandOn); err != nil {
			return after, true, err
		}
	}
	if !mv.Quiet {
		f.metrics.Transition(string(m.State), string(after.State))
		f.logger(ctx, after).Info("member "+string(after.State),
			zap.String("from", string(m.State)), zap.String("transition", mv.Name), zap.String("reason", mv.Reason),
			zap.String("request_id", mv.RequestID), zap.Int("sends", after.Sends),
			zap.Int("code_attempts", after.CodeAttempts))
	}
	return after, true, nil
}

// enqueue puts a follow-up task on its queue; a task that already exists
// under the same ID is the same follow-up, enqueued by an earlier delivery.
func (f *Flow) enqueue(ctx context.Context, t *asynq.Task, err error) error {
	if err != nil {
		return err
	}
	_, err = f.client.EnqueueContext(ctx, t)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s: %w", t.Type(), err)
	}
	return nil
}

// notNow puts a task back for as long as the shared rate asks, when its
// call's turn is further away than the limiter waits (cloudcall's Snooze
// mode): a rate limit uses no retry.
func notNow(err error) error {
	var d *ratelimit.DelayError
	if errors.As(err, &d) {
		return snooze(d.After, err)
	}
	return err
}

// common handles the kinds of cloud failure that mean the same for every
// handler: a throttle (cloudcall has lowered the shared rate already), a
// caller-wide refusal, a deferral and a transient failure. It returns the
// handler's error. fail is called on the last attempt of a transient
// failure to end the member.
func (f *Flow) common(ctx context.Context, m member.Member, err error, fail func(*cloud.Error) error) error {
	ce, ok := cloud.AsError(err)
	if !ok {
		return err
	}
	switch ce.Kind {
	case cloud.KindThrottled:
		return snooze(jitter(2*time.Second), err)
	case cloud.KindCallerWide:
		return f.pauseFor(ctx, m, ce)
	case cloud.KindDeferred:
		at := ce.RetryAt
		if at.IsZero() {
			at = cloud.NextDailyReset(f.now())
		}
		// Spread the members over ten minutes after the reset.
		return snooze(at.Sub(f.now())+time.Minute+rand.N(10*time.Minute), err)
	}
	if finalAttempt(ctx) {
		if ferr := fail(ce); ferr != nil {
			return ferr
		}
		return fmt.Errorf("retries used up: %w: %w", err, asynq.SkipRetry)
	}
	return err
}

// pauseFor pauses the cloud queues for a caller-wide error; the first
// process to do so tells the operator. The member keeps its state and the
// task comes back once the queues resume.
func (f *Flow) pauseFor(ctx context.Context, m member.Member, ce *cloud.Error) error {
	remedy := ce.Remedy
	first, err := f.pauser.Pause(ctx, pause.Reason{Action: ce.Action, Code: ce.Code, Message: ce.Message,
		RequestID: ce.RequestID, Remedy: remedy, At: f.now().UTC()})
	if err != nil {
		return err
	}
	if first {
		f.metrics.Pause()
		f.logger(ctx, m).Error("cloud refused the caller: send and bind queues PAUSED; fix the cause, then run `enqueue resume`",
			zap.String("action", ce.Action), zap.String("error_code", ce.Code), zap.String("error_message", ce.Message),
			zap.String("request_id", ce.RequestID), zap.String("remedy", remedy))
	}
	return snooze(jitter(pausedRecheck), ce)
}

// logRetry logs a cloud failure that will be retried: a throttle is routine
// (debug), anything else a warning.
func (f *Flow) logRetry(ctx context.Context, m member.Member, action string, ce *cloud.Error) {
	level := zap.WarnLevel
	if ce.Kind == cloud.KindThrottled {
		level = zap.DebugLevel
	}
	f.logger(ctx, m).Log(level, "cloud call failed; will retry", zap.String("action", action),
		zap.String("class", ce.Kind.String()), zap.String("error_code", ce.Code), zap.String("request_id", ce.RequestID))
}

// failMove returns the move of t (FailSend or FailBind) that ends a member
// in failed with ce.
func failMove(t member.Transition, ce *cloud.Error, reason string) member.Move {
	return t.Move(reason, member.SetError(ce.Code, ce.Message)).WithRequest(ce.RequestID)
}
