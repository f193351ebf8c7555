// Package testwait is how tests wait for something a component does in the
// background: poll a condition under a deadline, or wait on a Signal the
// component sends, never sleep a guessed time.
package testwait

import (
	"testing"
	"time"
)

// Interval is how often Poll checks its condition.
const Interval = 10 * time.Millisecond

// Poll checks cond every Interval until it holds or within has passed, and
// reports whether it held. It needs no testing.TB, for helpers that wait on
// a server to come up.
func Poll(within time.Duration, cond func() bool) bool {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(Interval)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
		}
	}
	return true
}

// Until fails tb unless cond holds within the time given; what names the
// awaited outcome in the failure.
func Until(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Poll(within, cond) {
		tb.Fatalf("%s: not within %s", what, within)
	}
}

// Signal is a test hook a component sends on when it has done something a
// test waits for (river's TestSignal). The zero Signal is off: Send does
// nothing, so production code pays one nil check.
type Signal[T any] struct {
	ch chan T
}

// Init switches the signal on; call it before the component starts.
func (s *Signal[T]) Init() { s.ch = make(chan T, 100) }

// Send records v for a waiting test, never blocking the component.
func (s *Signal[T]) Send(v T) {
	if s.ch == nil {
		return
	}
	select {
	case s.ch <- v:
	default:
	}
}

// Wait returns the next value sent, failing tb after within.
func (s *Signal[T]) Wait(tb testing.TB, within time.Duration) T {
	tb.Helper()
	t := time.NewTimer(within)
	defer t.Stop()
	select {
	case v := <-s.ch:
		return v
	case <-t.C:
		tb.Fatalf("test signal: nothing sent within %s", within)
	}
	var zero T
	return zero
}
