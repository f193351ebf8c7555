package reconcile

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/cloudcall"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
)

// cloudTruth asks the cloud about members for one run, under the shared
// rate limit. A caller-wide refusal or a throttle stops it for the rest of
// the run: the members keep their state, and the flow's own pre-flight and
// bind answer for them later.
type cloudTruth struct {
	caller *cloudcall.Caller

	mu      sync.Mutex
	stopped string
}

// newCloudTruth builds the run's view of the cloud. Its calls wait for
// their turn however far away: a run has no task to put back, and it
// queues behind the flow's calls rather than jumping ahead of them.
func newCloudTruth(client cloud.Client, limiter *ratelimit.Limiter, m *metrics.Metrics, now func() time.Time) *cloudTruth {
	return &cloudTruth{caller: cloudcall.New(cloudcall.Params{
		Client: client, Limiter: limiter, Metrics: m, Mode: cloudcall.Wait, Now: now})}
}

// account returns the cloud's view of a member; ok is false when the run
// no longer asks the cloud. err is a failure of this member's call only.
func (c *cloudTruth) account(ctx context.Context, id string) (acct cloud.Account, ok bool, err error) {
	if c.isStopped() {
		return acct, false, nil
	}
	acct, err = c.caller.GetAccount(ctx, id)
	switch {
	case err == nil:
		return acct, true, nil
	case c.isStopped():
		// A call that was waiting for its turn when the run stopped.
		return acct, false, nil
	}
	ce, _ := cloud.AsError(err)
	switch cloud.KindOf(err) {
	case cloud.KindThrottled:
		c.stop(ce.Error())
		return acct, false, nil
	case cloud.KindCallerWide:
		c.stop(ce.Error() + " (" + ce.Remedy + ")")
		return acct, false, nil
	}
	return acct, false, fmt.Errorf("GetAccount %s: %w", id, err)
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
	return c.caller.Calls()[cloud.ActionGetAccount], c.stopped
}
