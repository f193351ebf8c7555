// Package ratelimit owns the call rates shared by every worker process: one
// GCRA limiter per cloud action, kept in Redis (github.com/go-redis/redis_rate)
// so that any number of processes together stay under the configured rate,
// and a backoff factor that a cloud throttle halves and time restores, so the
// shared rate falls when the cloud pushes back and recovers after.
package ratelimit

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/ctxwait"
)

// Defaults of Options.
const (
	// DefaultMaxWait is the longest a caller waits in Wait before it is told
	// to come back later.
	DefaultMaxWait = 10 * time.Second
	// DefaultRecovery is the time a rate pushed to nothing would take to
	// climb back to full; a halved rate is back in half of it.
	DefaultRecovery = 10 * time.Second
	// halveEvery is the least time between two halvings: throttles that
	// arrive together answer one overload.
	halveEvery = 2 * time.Second
	// DefaultMinFactor is the lowest share of the configured rate a run of
	// throttles can push the rate to.
	DefaultMinFactor = 0.05
	// factorTTL is how long a process trusts the backoff factor it read.
	factorTTL = 250 * time.Millisecond
)

// DelayError tells a caller that its turn is further away than it should
// wait for: it should come back after After.
type DelayError struct {
	Action string
	After  time.Duration
}

func (e *DelayError) Error() string {
	return fmt.Sprintf("rate limit of %s: next turn in %s", e.Action, e.After.Round(time.Millisecond))
}

// Options configures a Limiter.
type Options struct {
	// Prefix of the limiter's keys.
	Prefix string
	// Rates is the configured calls per second of each action.
	Rates map[string]float64
	// MaxWait, Recovery and MinFactor: see the defaults.
	MaxWait   time.Duration
	Recovery  time.Duration
	MinFactor float64
	// OnWait, if set, is told how long each granted call waited.
	OnWait func(action string, waited time.Duration)
	// Now is the clock of the limiter's own decisions: how long a caller
	// has waited, how long a read factor is trusted, and how far a halved
	// rate has recovered. The GCRA turns themselves keep Redis time.
	// Default clock.Real.
	Now clock.Func
}

// Limiter is the shared limiter of every action. It is safe for concurrent
// use.
type Limiter struct {
	rdb  redis.UniversalClient
	gcra *redis_rate.Limiter
	opts Options

	mu      sync.Mutex
	factors map[string]cachedFactor
}

type cachedFactor struct {
	value float64
	until time.Time
}

// New returns a limiter over rdb.
func New(rdb redis.UniversalClient, opts Options) *Limiter {
	opts.MaxWait = positiveOr(opts.MaxWait, DefaultMaxWait)
	opts.Recovery = positiveOr(opts.Recovery, DefaultRecovery)
	opts.MinFactor = positiveOr(opts.MinFactor, DefaultMinFactor)
	opts.Now = opts.Now.Or()
	return &Limiter{rdb: rdb, gcra: redis_rate.NewLimiter(rdb), opts: opts, factors: map[string]cachedFactor{}}
}

// positiveOr is v, or def when v is not set (zero or less).
func positiveOr[T time.Duration | float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Wait blocks until action may be called, or returns a *DelayError when the
// turn is more than MaxWait away, or ctx's error. An action with no
// configured rate is never limited.
func (l *Limiter) Wait(ctx context.Context, action string) error {
	base, ok := l.opts.Rates[action]
	if !ok || base <= 0 {
		return nil
	}
	start := l.opts.Now()
	for {
		res, err := l.allow(ctx, action, base)
		if err != nil {
			return err
		}
		if res.Allowed > 0 {
			if l.opts.OnWait != nil {
				l.opts.OnWait(action, l.opts.Now().Sub(start))
			}
			return nil
		}
		pause := res.RetryAfter + time.Duration(rand.Int64N(int64(2*time.Millisecond)))
		if l.opts.Now().Sub(start)+pause > l.opts.MaxWait {
			return &DelayError{Action: action, After: pause + time.Duration(rand.Int64N(int64(time.Second)))}
		}
		if !ctxwait.Sleep(ctx, pause) {
			return ctx.Err()
		}
	}
}

func (l *Limiter) allow(ctx context.Context, action string, base float64) (*redis_rate.Result, error) {
	f, err := l.factor(ctx, action)
	if err != nil {
		return nil, err
	}
	res, err := l.gcra.Allow(ctx, l.opts.Prefix+"rl:"+action, limitOf(base*f))
	if err != nil {
		return nil, fmt.Errorf("rate limit of %s: %w", action, err)
	}
	return res, nil
}

// limitOf expresses qps as a GCRA limit: emission interval 1/qps, and a
// burst of a tenth of a second's calls, so a late caller does not waste a
// turn while the total never outruns a one-second quota.
func limitOf(qps float64) redis_rate.Limit {
	rate := int(math.Max(1, math.Round(qps*1000)))
	burst := int(math.Max(1, math.Floor(qps/10)))
	return redis_rate.Limit{Rate: rate, Period: 1000 * time.Second, Burst: burst}
}

// Throttled records that the cloud throttled action: the shared rate of
// every process halves (at most once every two seconds, not below
// MinFactor of the configured rate) and climbs back linearly, to full within
// Recovery.
func (l *Limiter) Throttled(ctx context.Context, action string) error {
	f, err := backoffScript.Run(ctx, l.rdb, []string{l.factorKey(action)},
		l.opts.Recovery.Milliseconds(), l.opts.MinFactor, halveEvery.Milliseconds(), l.opts.Now().UnixMilli()).Float64()
	if err != nil {
		return fmt.Errorf("back off %s: %w", action, err)
	}
	l.mu.Lock()
	l.factors[action] = cachedFactor{value: f, until: l.opts.Now().Add(factorTTL)}
	l.mu.Unlock()
	return nil
}

// Rate returns the calls per second action is allowed now, across all
// processes.
func (l *Limiter) Rate(ctx context.Context, action string) (float64, error) {
	f, err := l.factor(ctx, action)
	return l.opts.Rates[action] * f, err
}

func (l *Limiter) factorKey(action string) string { return l.opts.Prefix + "rlf:" + action }

// factor returns the share of the configured rate in force, read from Redis
// at most every factorTTL per process.
func (l *Limiter) factor(ctx context.Context, action string) (float64, error) {
	l.mu.Lock()
	c, ok := l.factors[action]
	l.mu.Unlock()
	if ok && l.opts.Now().Before(c.until) {
		return c.value, nil
	}
	raw, err := factorScript.Run(ctx, l.rdb, []string{l.factorKey(action)},
		l.opts.Recovery.Milliseconds(), l.opts.Now().UnixMilli()).Text()
	if err != nil {
		return 1, fmt.Errorf("read rate of %s: %w", action, err)
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return 1, fmt.Errorf("read rate of %s: %q: %w", action, raw, err)
	}
	l.mu.Lock()
	l.factors[action] = cachedFactor{value: f, until: l.opts.Now().Add(factorTTL)}
	l.mu.Unlock()
	return f, nil
}

// The backoff factor is a hash {f, at}: the factor set at time at (ms, the
// limiter's clock, passed in so a test can move it), recovering linearly to
// 1 over the recovery time. A process whose clock lags the one that set the
// factor sees it recover later, never fall below what was set.
const currentFactor = `
local function current(key, recovery, now)
  local v = redis.call('HMGET', key, 'f', 'at')
  if not v[1] then return 1 end
  local f = tonumber(v[1]) + math.max(0, now - tonumber(v[2])) / recovery
  if f > 1 then return 1 end
  return f
end
`

// factorScript returns the factor in force (as a string, keeping decimals).
// KEYS[1] factor key; ARGV[1] recovery ms; ARGV[2] now ms.
var factorScript = redis.NewScript(currentFactor + `
return tostring(current(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])))
`)

// backoffScript halves the factor in force, at most once per ARGV[3] ms:
// throttles that arrive together answer one overload, and halving for each
// would cut the rate far below what the cloud allows. KEYS[1] factor key;
// ARGV[1] recovery ms; ARGV[2] lowest factor; ARGV[4] now ms.
var backoffScript = redis.NewScript(currentFactor + `
local recovery, floor, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
local last = tonumber(redis.call('HGET', KEYS[1], 'at') or '0')
if now - last < tonumber(ARGV[3]) then return tostring(current(KEYS[1], recovery, now)) end
local f = current(KEYS[1], recovery, now) / 2
if f < floor then f = floor end
redis.call('HSET', KEYS[1], 'f', tostring(f), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(recovery * (1 - f)) + 1000)
return tostring(f)
`)
