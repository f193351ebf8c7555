package ctxwait_test

import (
	"context"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/ctxwait"
)

// TestSleepWaitsUnlessTheContextEnds: a live context sleeps the whole d
// and says so; an ended one returns at once, false.
func TestSleepWaitsUnlessTheContextEnds(t *testing.T) {
	t.Parallel()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name     string
		ctx      context.Context
		d        time.Duration
		want     bool
		min, max time.Duration
	}{
		{"live", context.Background(), 20 * time.Millisecond, true, 20 * time.Millisecond, time.Minute},
		{"live, no wait", context.Background(), 0, true, 0, time.Minute},
		{"ended", ended, time.Hour, false, 0, 10 * time.Second},
		{"ended, no wait", ended, 0, false, 0, 10 * time.Second},
	} {
		start := time.Now()
		got := ctxwait.Sleep(c.ctx, c.d)
		if took := time.Since(start); got != c.want || took < c.min || took > c.max {
			t.Errorf("%s: Sleep(%s) = %v after %s; want %v after %s to %s", c.name, c.d, got, took, c.want, c.min, c.max)
		}
	}
}
