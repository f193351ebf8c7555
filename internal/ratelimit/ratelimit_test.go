package ratelimit_test

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

const action = "SendVerificationCodeForBindSecureMobilePhone"

// bucketRejections replays grant times against a cloud-style quota: a token
// bucket of rate qps holding one second's worth, and counts the calls it
// would refuse.
func bucketRejections(grants []time.Time, qps float64) int {
	sort.Slice(grants, func(i, j int) bool { return grants[i].Before(grants[j]) })
	tokens, last, rejected := qps, time.Time{}, 0
	for _, g := range grants {
		if !last.IsZero() {
			tokens = min(qps, tokens+g.Sub(last).Seconds()*qps)
		}
		last = g
		if tokens < 1 {
			rejected++
			continue
		}
		tokens--
	}
	return rejected
}

// TestTwoProcessesStayUnderTheSharedRate: two limiters on one Redis (two
// worker processes), many callers each, never exceed the quota together.
func TestTwoProcessesStayUnderTheSharedRate(t *testing.T) {
	t.Parallel()
	const qps, calls = 40.0, 120
	rdb := redistest.DB(t)
	opts := ratelimit.Options{Rates: map[string]float64{action: qps}}
	procs := []*ratelimit.Limiter{ratelimit.New(rdb, opts), ratelimit.New(rdb, opts)}

	var mu sync.Mutex
	var grants []time.Time
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(l *ratelimit.Limiter) {
			defer wg.Done()
			for {
				mu.Lock()
				if len(grants) >= calls {
					mu.Unlock()
					return
				}
				mu.Unlock()
				if err := l.Wait(context.Background(), action); err != nil {
					t.Errorf("Wait: %v", err)
					return
				}
				mu.Lock()
				grants = append(grants, time.Now())
				mu.Unlock()
			}
		}(procs[i%2])
	}
	wg.Wait()
	if n := bucketRejections(grants, qps); n != 0 {
		t.Errorf("%d of %d calls would exceed a %g/s quota", n, len(grants), qps)
	}
}

func TestThrottleHalvesTheSharedRateThenItRecovers(t *testing.T) {
	t.Parallel()
	rdb := redistest.DB(t)
	clk := clock.NewFake(time.Now())
	opts := ratelimit.Options{Rates: map[string]float64{action: 10}, Recovery: 400 * time.Millisecond, Now: clk.Now}
	a, b := ratelimit.New(rdb, opts), ratelimit.New(rdb, opts)
	ctx := context.Background()

	if err := a.Throttled(ctx, action); err != nil {
		t.Fatal(err)
	}
	if err := a.Throttled(ctx, action); err != nil {
		t.Fatal(err)
	}
	// The other process sees the halved rate too; two throttles at once
	// halve it once.
	rate, err := b.Rate(ctx, action)
	if err != nil {
		t.Fatal(err)
	}
	if rate < 5 || rate > 6 {
		t.Errorf("rate after two throttles at once = %.2f, want about 5 (halved once)", rate)
	}
	clk.Advance(700 * time.Millisecond) // past the recovery time and the cache
	if rate, _ = b.Rate(ctx, action); rate != 10 {
		t.Errorf("rate after recovery = %.2f, want 10", rate)
	}
}

func TestTooDistantTurnTellsTheCallerToComeBack(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(redistest.DB(t), ratelimit.Options{Rates: map[string]float64{action: 1}, MaxWait: 20 * time.Millisecond})
	ctx := context.Background()
	if err := l.Wait(ctx, action); err != nil {
		t.Fatalf("first call: %v", err)
	}
	err := l.Wait(ctx, action)
	var d *ratelimit.DelayError
	if !errors.As(err, &d) || d.After <= 0 || d.Action != action {
		t.Fatalf("second call at 1/s with 20ms patience: %v, want a DelayError", err)
	}
}

func TestWaitHonoursCancellationAndSkipsUnlimitedActions(t *testing.T) {
	t.Parallel()
	l := ratelimit.New(redistest.DB(t), ratelimit.Options{Rates: map[string]float64{action: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	if err := l.Wait(ctx, action); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := l.Wait(ctx, action); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait after cancel: %v, want context.Canceled", err)
	}
	for i := 0; i < 100; i++ {
		if err := l.Wait(context.Background(), "GetAccount"); err != nil {
			t.Fatalf("action without a rate: %v", err)
		}
	}
}
