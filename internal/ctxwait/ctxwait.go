// Package ctxwait waits unless a context ends first: for a while (the one
// sleep of the rate limiter's turns, the token lockout's retries and the
// simulated owners' pauses), or for a channel to take a value (the
// pipelines of the roster reader and of discover).
package ctxwait

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends, and reports whether ctx is still live:
// true once d has passed, false when ctx ended first (ctx.Err() then says
// why). A d of zero or less does not wait.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Send sends v on ch unless ctx ends first, and then returns ctx.Err().
func Send[T any](ctx context.Context, ch chan<- T, v T) error {
	select {
	case ch <- v:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
