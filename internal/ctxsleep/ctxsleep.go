// Package ctxsleep waits a while unless a context ends first: the one
// sleep of the rate limiter's turns, the token lockout's retries and the
// simulated owners' pauses.
package ctxsleep

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
