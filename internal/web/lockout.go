package web

import (
	"context"
	"crypto/rand"
	"fmt"
	"hash/fnv"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/ctxwait"
)

// Limit is a count of tries per client address: Burst at once, then one
// more every Period/Rate.
type Limit struct {
	Rate   int
	Burst  int
	Period time.Duration
}

// interval is how long one try takes to come back.
func (l Limit) interval() time.Duration { return l.Period / time.Duration(l.Rate) }

// TokenLimit is how many wrong tokens one client address may send, to the
// login form and as a bearer token (/v1/, /metrics, /monitoring/, the
// pages) alike, counted by every worker sharing Redis: 10 at once, then one
// more every 90 s. An address over it is refused (429 with Retry-After)
// even with the right token until the count has drained; a browser with a
// live session is not affected.
var TokenLimit = Limit{Rate: 10, Burst: 10, Period: 15 * time.Minute}

// lockout counts wrong tokens per client address. A try holds one of the
// address's tries from before its token is compared (taken in the same
// Redis call that checks the address is not over the limit) until it is
// settled: a wrong token keeps it counted, a right one hands it back.
// However many tries race, no more tokens are compared than the limit lets
// through; a try that finds the rest held by tries in flight waits for them
// rather than being refused, so a busy client with the right token is not
// turned away.
type lockout struct {
	rdb    redis.UniversalClient
	prefix string
	limit  Limit
	now    func() time.Time
	logger *zap.Logger
	// lanes queue this worker's tries in process, Burst at a time per
	// lane (an address always takes the same lane), so tries of a busy
	// address wait their turn here instead of polling Redis.
	lanes [64]chan struct{}
}

func newLockout(rdb redis.UniversalClient, prefix string, now func() time.Time, logger *zap.Logger) *lockout {
	if rdb == nil {
		return nil
	}
	l := &lockout{rdb: rdb, prefix: prefix + "login:", limit: TokenLimit, now: now, logger: logger}
	for i := range l.lanes {
		l.lanes[i] = make(chan struct{}, TokenLimit.Burst)
	}
	return l
}

// lane is the in-process queue of addr.
func (l *lockout) lane(addr string) chan struct{} {
	h := fnv.New32a()
	h.Write([]byte(addr))
	return l.lanes[h.Sum32()%uint32(len(l.lanes))]
}

// tryWait bounds how long a try waits for its address's tries in flight
// before it is refused (429, retry after 1 s): long enough that a burst of
// right tokens on a loaded machine gets through, as long as one held try
// may last.
const tryWait = heldFor

// heldFor is how long a try in flight may hold its place; one whose worker
// died is forgotten after it.
const heldFor = 10 * time.Second

// lockoutScript keeps, per address, the time at which every counted wrong
// token is back (KEYS[1]; GCRA: each one pushes it one interval on) and
// the tries in flight (KEYS[2], by ID). ARGV: now and interval in ms,
// burst, the op, the try's ID, heldFor in ms.
//
// take: returns 0 and holds the try, or the ms until one is back when the
// wrong tokens alone fill the burst, or -1 when tries in flight hold the
// rest. settle_wrong counts a held try; settle_right drops it.
var lockoutScript = redis.NewScript(`
local now, interval, burst, op, id, held_for = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - held_for)
if op == 'take' then
  local wait = tat + interval - burst * interval - now
  if wait > 0 then return wait end
  if tat + (redis.call('ZCARD', KEYS[2]) + 1) * interval - burst * interval > now then return -1 end
  redis.call('ZADD', KEYS[2], now, id)
  redis.call('PEXPIRE', KEYS[2], held_for)
  return 0
end
redis.call('ZREM', KEYS[2], id)
if op == 'settle_wrong' then
  tat = tat + interval
  redis.call('SET', KEYS[1], tat, 'PX', tat - now)
end
return 0
`)

// clientAddr is the address a request came from (the proxy's, behind a
// proxy: a forwarded header is the client's to choose, so it is not used).
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// try is one token try holding its place; settle it once compared.
type try struct {
	l    *lockout
	r    *http.Request
	id   string // "" when Redis did not count it
	lane chan struct{}
}

// take holds a try for the address of r, waiting (a little) while tries in
// flight hold the rest. It returns the try, or how long the address must
// wait. When Redis does not answer the try goes ahead uncounted: the token
// check still stands.
func (l *lockout) take(ctx context.Context, r *http.Request) (*try, time.Duration) {
	if l == nil {
		return nil, 0
	}
	waiting, stop := context.WithTimeout(ctx, tryWait)
	defer stop()
	lane := l.lane(clientAddr(r))
	select {
	case lane <- struct{}{}:
	case <-waiting.Done():
		return nil, time.Second
	}
	t := &try{l: l, r: r, id: rand.Text(), lane: lane}
	for pause := 2 * time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		ms, err := l.run(ctx, r, "take", t.id)
		switch {
		case err != nil:
			l.logger.Warn("cannot count a token try; comparing it uncounted", zap.Error(err))
			t.id = "" // nothing to settle in Redis
			return t, 0
		case ms == 0:
			return t, 0
		case ms > 0:
			<-lane
			l.logger.Warn("too many wrong tokens; address refused for a while", zap.String("client", clientAddr(r)))
			return nil, time.Duration(ms) * time.Millisecond
		case !ctxwait.Sleep(waiting, pause):
			<-lane
			return nil, time.Second
		}
	}
}

// settle counts the try when its token was wrong, and drops it when right.
func (t *try) settle(ctx context.Context, right bool) {
	if t == nil {
		return
	}
	defer func() { <-t.lane }()
	if t.id == "" {
		return
	}
	op := "settle_wrong"
	if right {
		op = "settle_right"
	}
	if _, err := t.l.run(context.WithoutCancel(ctx), t.r, op, t.id); err != nil {
		t.l.logger.Warn("cannot settle a token try", zap.Error(err))
	}
}

func (l *lockout) run(ctx context.Context, r *http.Request, op, id string) (int64, error) {
	// One hash tag: both keys of an address live on one cluster slot.
	base := l.prefix + "{" + clientAddr(r) + "}"
	return lockoutScript.Run(ctx, l.rdb, []string{base, base + ":held"},
		l.now().UnixMilli(), l.limit.interval().Milliseconds(), l.limit.Burst, op, id, heldFor.Milliseconds()).Int64()
}

// retryAfter is the Retry-After value of a wait: whole seconds, at least 1.
func retryAfter(wait time.Duration) string {
	return fmt.Sprint(max(int64(math.Ceil(wait.Seconds())), 1))
}

// minutes says d in whole minutes, at least one.
func minutes(d time.Duration) string {
	n := int(math.Ceil(d.Minutes()))
	if n <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", n)
}
