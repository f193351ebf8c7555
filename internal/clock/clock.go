// Package clock is the one clock of a worker process. worker.Assemble hands
// a Func to every part that reads the time (flow, reconciliation, the
// member store, the rate limiter, status snapshots, the cloud client, the
// web pages), so a test that moves a Fake moves all of them at once and
// never compares fake time with stamps of the wall clock.
package clock

import (
	"sync"
	"time"
)

// Func tells the time. A nil Func means Real.
type Func func() time.Time

// Real is the wall clock, the default of every part.
func Real() time.Time { return time.Now() }

// Or returns f, or Real when f is nil.
func (f Func) Or() Func {
	if f == nil {
		return Real
	}
	return f
}

// Fake is a clock that stands still until moved, for tests of expiry,
// recovery and stamps that would otherwise sleep. It is safe for
// concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a Fake showing start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now is the Fake's time; pass f.Now as a part's clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the Fake forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}
