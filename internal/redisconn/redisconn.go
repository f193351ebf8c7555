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
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/clock"
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

// IsSentinel reports whether a Redis URL names a primary found through
// Sentinel (redis-sentinel://): one that a failover can replace by a
// replica.
func IsSentinel(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "redis-sentinel"
}

// ErrNotReplicated reports writes that no replica acknowledged in time
// while the primary had replicas connected.
var ErrNotReplicated = errors.New("no replica acknowledged the write in time")

// replicasRecheck is how long a Replicas keeps what it learnt of the
// primary's replicas.
const replicasRecheck = time.Second

// Replicas waits for the primary's replicas to hold what was written, so
// that a failover (which promotes a replica) cannot lose it. It is safe
// for concurrent use.
type Replicas struct {
	rdb     redis.UniversalClient
	key     string
	timeout time.Duration
	now     func() time.Time

	mu        sync.Mutex
	connected int64
	checked   time.Time
}

// NewReplicas returns a Replicas on rdb that writes key to mark its waits
// and waits at most timeout; now is the clock (nil: time.Now).
func NewReplicas(rdb redis.UniversalClient, key string, timeout time.Duration, now func() time.Time) *Replicas {
	if now == nil {
		now = clock.Real
	}
	return &Replicas{rdb: rdb, key: key, timeout: timeout, now: now}
}

// Wait returns once the writes the primary acknowledged before the call
// have reached at least one replica. Redis's WAIT counts the writes of the
// connection it is sent on, so Wait writes its key on that connection
// first: replication keeps the primary's order, so a replica holding that
// write holds every earlier one. A primary with no replica connected (as
// just after a failover, before the old primary comes back as a replica)
// has nothing a failover could promote, and Wait returns nil at once; one
// whose replicas did not acknowledge within the timeout gives
// ErrNotReplicated.
func (r *Replicas) Wait(ctx context.Context) error {
	n, err := r.replicas(ctx, false)
	if err != nil || n == 0 {
		return err
	}
	var acked *redis.Cmd
	if _, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, r.key)
		acked = p.Do(ctx, "WAIT", 1, r.timeout.Milliseconds())
		return nil
	}); err != nil {
		return err
	}
	if got, err := acked.Int64(); err != nil || got >= 1 {
		return err
	}
	// The replica may have left since the last look.
	if n, err = r.replicas(ctx, true); err != nil || n == 0 {
		return err
	}
	return ErrNotReplicated
}

// replicas returns how many replicas the primary has connected, as read
// at most replicasRecheck ago unless fresh.
func (r *Replicas) replicas(ctx context.Context, fresh bool) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !fresh && !r.checked.IsZero() && r.now().Sub(r.checked) < replicasRecheck {
		return r.connected, nil
	}
	info, err := r.rdb.Info(ctx, "replication").Result()
	if err != nil {
		return 0, err
	}
	r.connected, r.checked = connectedReplicas(info), r.now()
	return r.connected, nil
}

// connectedReplicas reads connected_slaves from INFO replication.
func connectedReplicas(info string) int64 {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_slaves:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
