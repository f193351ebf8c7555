// Package redisconn turns REDIS_URL into a connection shared by the member
// store, asynq and the dashboard: one parser for redis://, rediss:// (TLS)
// and redis-sentinel:// URLs, and one way to print a URL without its
// password.
package redisconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/wake"
)

// Options configures a connection beyond what the URL says.
type Options struct {
	// CAFile is a PEM file of certificate authorities to trust for rediss://
	// (ONBOARD_REDIS_CA_FILE); empty trusts the system's.
	CAFile string
	// PoolSize is go-redis's pool size; 0 keeps its default.
	PoolSize int
}

// Parse returns asynq's connection option for a Redis URL:
//
//	redis://[[user]:password@]host:port[/db]
//	rediss://…                         the same over TLS
//	redis-sentinel://[:password@]host1:port,host2:port[/db]?master=NAME
func Parse(raw string, opts Options) (asynq.RedisConnOpt, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %s: %w", Redact(raw), errors.Unwrap(err))
	}
	opt, err := asynq.ParseRedisURI(raw)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %s: %s", Redact(raw), strings.TrimPrefix(err.Error(), "asynq: "))
	}
	switch o := opt.(type) {
	case asynq.RedisClientOpt:
		o.Username = u.User.Username()
		o.PoolSize = opts.PoolSize
		if o.TLSConfig != nil {
			err = trust(o.TLSConfig, opts.CAFile)
		}
		return o, err
	case asynq.RedisFailoverClientOpt:
		return sentinel(o, u, opts)
	}
	return opt, nil
}

func sentinel(o asynq.RedisFailoverClientOpt, u *url.URL, opts Options) (asynq.RedisConnOpt, error) {
	if o.MasterName == "" {
		return nil, fmt.Errorf("REDIS_URL %s: redis-sentinel:// needs ?master=NAME", Redact(u.String()))
	}
	// The password protects the master as well as the sentinels.
	o.Password = o.SentinelPassword
	o.PoolSize = opts.PoolSize
	if db := strings.Trim(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL %s: database %q is not a number", Redact(u.String()), db)
		}
		o.DB = n
	}
	return o, nil
}

func trust(cfg *tls.Config, caFile string) error {
	cfg.MinVersion = tls.VersionTLS12
	if caFile == "" {
		return nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("read Redis CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("Redis CA file %s holds no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return nil
}

// Open returns the go-redis client for opt. It announces the queues it puts
// tasks on (internal/wake), so that idle workers pick them up at once.
func Open(opt asynq.RedisConnOpt) redis.UniversalClient {
	rdb := opt.MakeRedisClient().(redis.UniversalClient)
	wake.Announce(rdb)
	return rdb
}

// Ping checks that Redis answers within timeout, with an error that names
// the server but not its password.
func Ping(ctx context.Context, rdb redis.UniversalClient, raw string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("Redis at %s does not answer: %w", Redact(raw), err)
	}
	return nil
}

// Redact returns a Redis URL with its password replaced by "xxxxx".
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// LogTo sends the Redis driver's own messages (reconnects, dial failures)
// to l at debug level instead of plain text on stderr, which would break a
// JSON log and bury a command's one clear error. The driver's logger is
// process-wide.
func LogTo(l *zap.Logger) {
	redis.SetLogger(driverLog{l.Named("redis").Sugar()})
}

type driverLog struct{ l *zap.SugaredLogger }

func (d driverLog) Printf(_ context.Context, format string, v ...any) {
	d.l.Debugf(format, v...)
}
