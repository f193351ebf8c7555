package sandbox

import "time"

// bucket is one action's quota: a token bucket of rate tokens per second
// holding one second's worth (at least one token).
type bucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, now time.Time) *bucket {
	return &bucket{rate: rate, tokens: capacity(rate), last: now}
}

func capacity(rate float64) float64 {
	return max(rate, 1)
}

// take spends a token; false when none is left. A zero rate is unlimited.
func (b *bucket) take(now time.Time) bool {
	if b.rate <= 0 {
		return true
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(capacity(b.rate), b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
