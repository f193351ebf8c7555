package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
)

// cloudTruth asks the cloud about members for one run, under the shared
// rate limit. A caller-wide refusal or a throttle stops it for the rest of
// the run: the members keep their state, and the flow's own pre-flight and
// bind answer for them later.
type cloudTruth struct {
	client  cloud.Client
	limiter *ratelimit.Limiter
	metrics *metrics.Metrics
	now     func() time.Time

	mu      sync.Mutex
	calls   int
	stopped string
}

// account returns the cloud's view of a member; ok is false when the run
// no longer asks the cloud. err is a failure of this member's call only.
func (c *cloudTruth) account(ctx context.Context, id string) (acct cloud.Account, ok bool, err error) {
	if c.isStopped() {
		return acct, false, nil
	}
	if err := c.wait(ctx); err != nil {
		return acct, false, err
	}
	if c.isStopped() {
		return acct, false, nil
	}
	start := c.now()
	acct, err = c.client.GetAccount(ctx, id)
	c.record(err, c.now().Sub(start))
	if err == nil {
		return acct, true, nil
	}
	switch ce, _ := cloud.AsError(err); cloud.KindOf(err) {
	case cloud.KindThrottled:
		_ = c.limiter.Throttled(ctx, cloud.ActionGetAccount)
		c.stop(ce.Error())
		return acct, false, nil
	case cloud.KindCallerWide:
		c.stop(ce.Error() + " (" + cloud.Remedy(ce.Code) + ")")
		return acct, false, nil
	}
	return acct, false, fmt.Errorf("GetAccount %s: %w", id, err)
}

// wait waits for a GetAccount turn under the shared rate, however far
// away: a run has no task to put back, and its calls must not starve the
// flow's by jumping the queue.
func (c *cloudTruth) wait(ctx context.Context) error {
	for {
		err := c.limiter.Wait(ctx, cloud.ActionGetAccount)
		var d *ratelimit.DelayError
		if !errors.As(err, &d) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d.After):
		}
	}
}

func (c *cloudTruth) record(err error, d time.Duration) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	outcome := "ok"
	if err != nil {
		outcome = cloud.KindOf(err).String()
	}
	c.metrics.CloudCall(cloud.ActionGetAccount, outcome, d)
}

// stop ends the cloud part of the run; the first reason is kept.
func (c *cloudTruth) stop(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped == "" {
		c.stopped = why
	}
}

func (c *cloudTruth) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped != ""
}

// result returns the calls made and why the cloud part stopped, if it did.
func (c *cloudTruth) result() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, c.stopped
}
