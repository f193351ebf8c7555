package web

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// LoginLimit is how many wrong tokens one client address may send to the
// login form, counted by every worker sharing Redis: 10 at once, then one
// more every 90 s. An address over it is refused (429) even with the right
// token until the count has drained; the bearer header is not affected.
var LoginLimit = redis_rate.Limit{Rate: 10, Burst: 10, Period: 15 * time.Minute}

// lockout counts wrong tokens per client address.
type lockout struct {
	limiter *redis_rate.Limiter
	prefix  string
	logger  *zap.Logger
}

func newLockout(rdb redis.UniversalClient, prefix string, logger *zap.Logger) *lockout {
	if rdb == nil {
		return nil
	}
	return &lockout{limiter: redis_rate.NewLimiter(rdb), prefix: prefix + "login:", logger: logger}
}

// clientAddr is the address a request came from (the proxy's, behind a
// proxy: a forwarded header is the client's to choose, so it is not used).
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// wait reports how long the address of r must wait before it may try a
// token again; zero when it may now. When Redis does not answer the login
// is let through: the token check still stands.
func (l *lockout) wait(ctx context.Context, r *http.Request) time.Duration {
	if l == nil {
		return 0
	}
	res, err := l.limiter.AllowN(ctx, l.prefix+clientAddr(r), LoginLimit, 0)
	if err != nil {
		l.logger.Warn("login: cannot read the count of wrong tokens", zap.Error(err))
		return 0
	}
	if res.Remaining > 0 {
		return 0
	}
	// ResetAfter is when every try is back; the first is back Burst-1
	// intervals before that.
	interval := LoginLimit.Period / time.Duration(LoginLimit.Rate)
	return max(res.ResetAfter-time.Duration(LoginLimit.Burst-1)*interval, time.Second)
}

// failed counts one wrong token from the address of r.
func (l *lockout) failed(ctx context.Context, r *http.Request) {
	if l == nil {
		return
	}
	res, err := l.limiter.Allow(ctx, l.prefix+clientAddr(r), LoginLimit)
	if err != nil {
		l.logger.Warn("login: cannot count a wrong token", zap.Error(err))
		return
	}
	if res.Remaining == 0 {
		l.logger.Warn("login: too many wrong tokens; address refused for a while",
			zap.String("client", clientAddr(r)), zap.Int("wrong_tokens", LoginLimit.Burst))
	}
}

// minutes says d in whole minutes, at least one.
func minutes(d time.Duration) string {
	n := int(math.Ceil(d.Minutes()))
	if n <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", n)
}
