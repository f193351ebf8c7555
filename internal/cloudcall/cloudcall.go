// Package cloudcall is the one way the project calls the cloud: every call
// takes its turn under the shared rate limit of its action
// (internal/ratelimit), is metered by its outcome's kind
// (internal/metrics), and feeds a throttle back into the shared rate. What
// to do with a failure (snooze a task, wait, pause the queues, stop a run)
// stays with the caller, which switches on cloud.KindOf and reads the
// remedy from the *cloud.Error.
package cloudcall

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
)

// Mode says what a call does when its turn under the shared rate is
// further away than the limiter lets it wait.
type Mode int

const (
	// Snooze returns the limiter's *ratelimit.DelayError at once, for a task
	// handler to put its task back for DelayError.After without holding a
	// worker. The default.
	Snooze Mode = iota
	// Wait blocks until the turn comes or ctx ends: for runs that have no
	// task to put back (reconciliation, discovery). They still queue behind
	// every other caller of the action, so they never starve the flow.
	Wait
)

// Params are what a Caller is built from.
type Params struct {
	// Client is the cloud.
	Client cloud.Client
	// Limiter holds the shared rates; nil calls at once.
	Limiter *ratelimit.Limiter
	// Metrics records calls, delays and throttles; nil records nothing.
	Metrics *metrics.Metrics
	// Mode: see Snooze (default) and Wait.
	Mode Mode
	// Now is the clock that times calls; default time.Now.
	Now func() time.Time
	// After is the timer of Wait mode; default time.After.
	After func(time.Duration) <-chan time.Time
}

// Caller calls the cloud under the shared limits. It is safe for
// concurrent use.
type Caller struct {
	p Params

	mu    sync.Mutex
	calls map[string]int
}

// New returns a Caller.
func New(p Params) *Caller {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.After == nil {
		p.After = time.After
	}
	return &Caller{p: p, calls: map[string]int{}}
}

// Ready runs once a call's turn under the shared rate has come, right
// before its request leaves: a caller that must know after a crash that
// the request may have left (a send or a bind in flight) marks it there,
// and not earlier, as a call put back for later never left. An error
// stops the call and is returned as it is.
type Ready func() error

// SendCode is cloud.Client.SendCode under the limits; ready, if given,
// runs just before the request leaves.
func (c *Caller) SendCode(ctx context.Context, accountID, phone string, ready ...Ready) (cloud.SendResult, error) {
	return call(ctx, c, cloud.ActionSendCode, ready, func(ctx context.Context) (cloud.SendResult, error) {
		return c.p.Client.SendCode(ctx, accountID, phone)
	})
}

// Bind is cloud.Client.Bind under the limits; ready, if given, runs just
// before the request leaves.
func (c *Caller) Bind(ctx context.Context, accountID, phone, code string, ready ...Ready) (cloud.BindResult, error) {
	return call(ctx, c, cloud.ActionBind, ready, func(ctx context.Context) (cloud.BindResult, error) {
		return c.p.Client.Bind(ctx, accountID, phone, code)
	})
}

// GetAccount is cloud.Client.GetAccount under the limits.
func (c *Caller) GetAccount(ctx context.Context, accountID string) (cloud.Account, error) {
	return call(ctx, c, cloud.ActionGetAccount, nil, func(ctx context.Context) (cloud.Account, error) {
		return c.p.Client.GetAccount(ctx, accountID)
	})
}

// Calls returns how many calls of each action reached the cloud (whatever
// their outcome) through c.
func (c *Caller) Calls() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.calls))
	for a, n := range c.calls {
		out[a] = n
	}
	return out
}

// call runs fn as one call of action: its turn, ready, the call, the
// meter and the throttle feedback. An error is the limiter's (a
// *ratelimit.DelayError in Snooze mode, ctx's, or Redis's), ready's, or the
// cloud's, unchanged.
func call[T any](ctx context.Context, c *Caller, action string, ready []Ready, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if err := c.turn(ctx, action); err != nil {
		return zero, err
	}
	for _, r := range ready {
		if err := r(); err != nil {
			return zero, err
		}
	}
	start := c.p.Now()
	v, err := fn(ctx)
	c.record(action, err, c.p.Now().Sub(start))
	if cloud.KindOf(err) == cloud.KindThrottled {
		c.throttled(ctx, action)
	}
	return v, err
}

// turn waits for action's turn under the shared rate, as the mode says.
func (c *Caller) turn(ctx context.Context, action string) error {
	if c.p.Limiter == nil {
		return ctx.Err()
	}
	for {
		err := c.p.Limiter.Wait(ctx, action)
		var d *ratelimit.DelayError
		switch {
		case !errors.As(err, &d):
			return err
		case c.p.Mode == Snooze:
			c.p.Metrics.LimiterDelay(action)
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.p.After(d.After):
		}
	}
}

// record meters one call by its outcome: ok, or the kind of its failure.
func (c *Caller) record(action string, err error, d time.Duration) {
	c.mu.Lock()
	c.calls[action]++
	c.mu.Unlock()
	outcome := "ok"
	if err != nil {
		outcome = cloud.KindOf(err).String()
	}
	c.p.Metrics.CloudCall(action, outcome, d)
}

// throttled tells the shared rate that the cloud pushed back. The call's
// own error is what the caller sees; a failure to lower the rate only
// means the next calls come as fast as before.
func (c *Caller) throttled(ctx context.Context, action string) {
	c.p.Metrics.Throttle(action)
	if c.p.Limiter != nil {
		_ = c.p.Limiter.Throttled(ctx, action)
	}
}

// ListAccounts is cloud.Client.ListAccounts under the limits.
func (c *Caller) ListAccounts(ctx context.Context, pageNumber, pageSize int) (cloud.AccountPage, error) {
	return call(ctx, c, cloud.ActionListAccounts, nil, func(ctx context.Context) (cloud.AccountPage, error) {
		return c.p.Client.ListAccounts(ctx, pageNumber, pageSize)
	})
}

// ListAccountsForParent is cloud.Client.ListAccountsForParent under the
// limits.
func (c *Caller) ListAccountsForParent(ctx context.Context, folderID string, pageNumber, pageSize int) (cloud.AccountPage, error) {
	return call(ctx, c, cloud.ActionListAccountsForParent, nil, func(ctx context.Context) (cloud.AccountPage, error) {
		return c.p.Client.ListAccountsForParent(ctx, folderID, pageNumber, pageSize)
	})
}
