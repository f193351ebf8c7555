package cloudcall_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/cloudcall"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/metrics/metricstest"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/sandbox/sandboxtest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

const member = "1386606283481234"

// bundle is what a test looks at beside the Caller.
type bundle struct {
	sb      *sandbox.Server
	limiter *ratelimit.Limiter
	reg     *prometheus.Registry
	waits   atomic.Int32
	// waiting is signalled each time a call starts waiting for its turn.
	waiting chan struct{}
}

// setup builds a Caller in mode over a sandbox (sbOpts) through the real
// SDK, a shared limiter on a real Redis at rates, and fresh metrics.
func setup(t *testing.T, mode cloudcall.Mode, sbOpts sandbox.Options, rates map[string]float64) (*cloudcall.Caller, *bundle) {
	t.Helper()
	b := &bundle{reg: prometheus.NewRegistry(), waiting: make(chan struct{}, 1)}
	var srv *httptest.Server
	b.sb, srv = sandboxtest.Start(t, sbOpts)
	sdk, err := cloud.New(cloud.Config{Endpoint: srv.URL, AccessKeyID: sandbox.DefaultAccessKeyID,
		AccessKeySecret: sandbox.DefaultAccessKeySecret, ReadTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sdk.Close)
	b.limiter = ratelimit.New(redistest.DB(t), ratelimit.Options{Rates: rates, MaxWait: time.Millisecond})
	c := cloudcall.New(cloudcall.Params{Client: sdk, Limiter: b.limiter, Metrics: metrics.New(b.reg), Mode: mode,
		After: func(d time.Duration) <-chan time.Time {
			b.waits.Add(1)
			select {
			case b.waiting <- struct{}{}:
			default:
			}
			return time.After(d)
		}})
	return c, b
}

// counter sums the samples of a metric whose labels include want.
func (b *bundle) counter(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := b.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range metricstest.Matching(f, want) {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func TestSnoozeModeReturnsTheDelayAndCallsNothing(t *testing.T) {
	t.Parallel()
	c, b := setup(t, cloudcall.Snooze, sandbox.Options{}, map[string]float64{cloud.ActionGetAccount: 1})
	ctx := context.Background()
	if _, err := c.GetAccount(ctx, member); err != nil {
		t.Fatalf("first call: %v", err)
	}
	_, err := c.GetAccount(ctx, member)
	var d *ratelimit.DelayError
	if !errors.As(err, &d) || d.After <= 0 {
		t.Fatalf("second call within the second: %v, want a *ratelimit.DelayError to snooze on", err)
	}
	if n := b.sb.Stats().Calls[cloud.ActionGetAccount]["ok"]; n != 1 {
		t.Errorf("the cloud saw %d calls, want 1", n)
	}
	if n := b.counter(t, "rdonboard_ratelimit_delays_total", map[string]string{"action": cloud.ActionGetAccount}); n != 1 {
		t.Errorf("%v delays metered, want 1", n)
	}
	if got := c.Calls()[cloud.ActionGetAccount]; got != 1 {
		t.Errorf("Calls() = %d, want 1", got)
	}
}

func TestWaitModeBlocksForTheTurn(t *testing.T) {
	t.Parallel()
	// At 2/s the second call's turn is 500 ms after the first: far more
	// than one call takes, even on a loaded machine.
	c, b := setup(t, cloudcall.Wait, sandbox.Options{}, map[string]float64{cloud.ActionGetAccount: 2})
	ctx := context.Background()
	for i := range 2 {
		if _, err := c.GetAccount(ctx, member); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if b.waits.Load() == 0 {
		t.Error("two calls at 2/s with 1ms of patience never waited")
	}
	if n := b.sb.Stats().Calls[cloud.ActionGetAccount]["ok"]; n != 2 {
		t.Errorf("the cloud answered %d calls, want 3", n)
	}
	if n := b.counter(t, "rdonboard_ratelimit_delays_total", nil); n != 0 {
		t.Errorf("a waiting caller metered %v tasks put back", n)
	}
}

func TestWaitModeHonoursContext(t *testing.T) {
	t.Parallel()
	c, b := setup(t, cloudcall.Wait, sandbox.Options{}, map[string]float64{cloud.ActionGetAccount: 0.01})
	if _, err := c.GetAccount(context.Background(), member); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-b.waiting
		cancel()
	}()
	if _, err := c.GetAccount(ctx, member); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled while waiting: %v", err)
	}
}

func TestThrottleLowersTheSharedRate(t *testing.T) {
	t.Parallel()
	c, b := setup(t, cloudcall.Snooze, sandbox.Options{Faults: sandbox.Faults{ThrottleRate: 1}},
		map[string]float64{cloud.ActionBind: 100})
	ctx := context.Background()
	_, err := c.Bind(ctx, member, "86-13900001234", "123456")
	if cloud.KindOf(err) != cloud.KindThrottled {
		t.Fatalf("bind: %v, want the throttle itself", err)
	}
	rate, err := b.limiter.Rate(ctx, cloud.ActionBind)
	if err != nil || rate > 50 {
		t.Errorf("shared rate %v (%v) after a throttle, want at most half of 100", rate, err)
	}
	if n := b.counter(t, "rdonboard_cloud_throttles_total", map[string]string{"action": cloud.ActionBind}); n != 1 {
		t.Errorf("%v throttles metered, want 1", n)
	}
	if n := b.counter(t, "rdonboard_cloud_calls_total", map[string]string{"outcome": "throttled"}); n != 1 {
		t.Errorf("%v throttled calls metered, want 1", n)
	}
}

func TestFailuresAreMeteredByKindAndCarryTheirRemedy(t *testing.T) {
	t.Parallel()
	faults := sandbox.Faults{Errors: []sandbox.ErrorFault{{Action: cloud.ActionSendCode, Code: "Forbidden.RAM"}}}
	c, b := setup(t, cloudcall.Snooze, sandbox.Options{Faults: faults}, nil)
	ctx := context.Background()
	_, err := c.SendCode(ctx, member, "86-13900001234")
	e, ok := cloud.AsError(err)
	if !ok || e.Kind != cloud.KindCallerWide || e.Remedy != cloud.Remedy("Forbidden.RAM") {
		t.Fatalf("send: %v (remedy %q), want caller-wide with the table's remedy", err, e.Remedy)
	}
	if _, err := c.GetAccount(ctx, member); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ action, outcome string }{
		{cloud.ActionSendCode, "caller_wide"}, {cloud.ActionGetAccount, "ok"},
	} {
		if n := b.counter(t, "rdonboard_cloud_calls_total", map[string]string{"action": tt.action, "outcome": tt.outcome}); n != 1 {
			t.Errorf("%s %s: %v calls metered, want 1", tt.action, tt.outcome, n)
		}
	}
}

// TestReadyRunsOnlyWhenTheRequestLeaves: a send put back by the shared rate
// runs no Ready (nothing is marked in flight for a request that never
// left); a send whose turn came runs it first; a Ready that fails stops
// the call, so no SMS goes.
func TestReadyRunsOnlyWhenTheRequestLeaves(t *testing.T) {
	t.Parallel()
	c, b := setup(t, cloudcall.Snooze, sandbox.Options{}, map[string]float64{cloud.ActionSendCode: 1})
	ctx := context.Background()
	readied := 0
	ready := func() error { readied++; return nil }
	if _, err := c.SendCode(ctx, member, "86-13900001234", ready); err != nil {
		t.Fatalf("first send: %v", err)
	}
	var d *ratelimit.DelayError
	if _, err := c.SendCode(ctx, member, "86-13900001234", ready); !errors.As(err, &d) {
		t.Fatalf("second send at once: %v, want a DelayError", err)
	}
	if readied != 1 {
		t.Errorf("Ready ran %d times, want once (for the send that left)", readied)
	}
	stop := errors.New("member moved")
	c2, b2 := setup(t, cloudcall.Snooze, sandbox.Options{}, nil)
	if _, err := c2.SendCode(ctx, member, "86-13900001234", func() error { return stop }); !errors.Is(err, stop) {
		t.Errorf("send with a failing Ready: %v, want its error", err)
	}
	if n := b2.sb.Stats().SMSSent; n != 0 {
		t.Errorf("%d SMS sent after Ready failed, want none", n)
	}
	if n := b.sb.Stats().SMSSent; n != 1 {
		t.Errorf("%d SMS sent, want 1", n)
	}
}
