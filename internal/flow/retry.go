package flow

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
)

// Backoff bounds of transient failures.
const (
	backoffBase = time.Second
	backoffCap  = 5 * time.Minute
)

// snoozeError puts a task back for later without using its retry budget: a
// rate limit, a cloud throttle, a paused queue, a daily limit.
type snoozeError struct {
	after time.Duration
	cause error
}

// Error says how long the task waits and why; asynq records it as the
// task's last error, so it names no code or phone.
func (e *snoozeError) Error() string {
	return fmt.Sprintf("snoozed for %s: %v", e.after.Round(time.Millisecond), e.cause)
}

func (e *snoozeError) Unwrap() error { return e.cause }

func snooze(after time.Duration, cause error) error {
	return &snoozeError{after: after, cause: cause}
}

// Snooze puts a task back after after without using a retry, for handlers
// outside the flow (a chat robot's rate limit) that share its lanes'
// IsFailure and RetryDelay.
func Snooze(after time.Duration, cause error) error { return snooze(after, cause) }

// IsFailure tells asynq which handler errors use a retry: every error but a
// snooze (asynq's Config.IsFailure).
func IsFailure(err error) bool {
	var s *snoozeError
	return !errors.As(err, &s)
}

// IsSnooze reports whether err puts a task back without failing it.
func IsSnooze(err error) bool { return !IsFailure(err) }

// RetryDelay is asynq's Config.RetryDelayFunc: a snooze waits as long as
// it asks; a failure waits exponentially longer with each retry (from about
// a second, capped at five minutes), with jitter so that members failed by
// one outage do not come back at once.
func RetryDelay(n int, err error, _ *asynq.Task) time.Duration {
	var s *snoozeError
	if errors.As(err, &s) {
		return s.after
	}
	return Backoff(n)
}

// Backoff is the delay before retry n+1 of a failed task: half of
// min(cap, base·2ⁿ) plus a random part of up to the other half.
func Backoff(n int) time.Duration {
	d := backoffCap
	if n < 20 {
		d = min(backoffCap, backoffBase<<n)
	}
	return d/2 + rand.N(d/2+1)
}

// finalAttempt reports whether the task running in ctx has no retry left.
func finalAttempt(ctx context.Context) bool {
	retried, ok1 := asynq.GetRetryCount(ctx)
	max, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && retried >= max
}

// jitter returns d plus up to a fifth of it.
func jitter(d time.Duration) time.Duration {
	return d + rand.N(d/5+1)
}
