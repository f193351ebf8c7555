package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Timing of the run lock.
const (
	// lockTTL is how long the lock outlives a process that died holding it.
	lockTTL = time.Minute
	// lockRetry is how often a manual run looks at a held lock.
	lockRetry = 250 * time.Millisecond
)

// runLock keeps runs from overlapping across processes: a Redis key with
// a token, kept alive while its run lasts.
type runLock struct {
	rdb   redis.UniversalClient
	key   string
	token string
	stop  chan struct{}
	done  chan struct{}
}

// refreshScript extends the lock if it is still ours. KEYS[1] lock;
// ARGV[1] token; ARGV[2] TTL ms. releaseScript deletes it if ours.
var (
	refreshScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

// takeLock takes the run lock. Without wait it returns nil when another
// run holds it; with wait it waits for it until ctx ends.
func takeLock(ctx context.Context, rdb redis.UniversalClient, key string, wait bool) (*runLock, error) {
	l := &runLock{rdb: rdb, key: key, token: uuid.NewString(), stop: make(chan struct{}), done: make(chan struct{})}
	for {
		ok, err := rdb.SetNX(ctx, key, l.token, lockTTL).Result()
		if err != nil {
			return nil, fmt.Errorf("take reconciliation lock: %w", err)
		}
		if ok {
			go l.keepAlive()
			return l, nil
		}
		if !wait {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for the reconciliation run in progress: %w", ctx.Err())
		case <-time.After(lockRetry):
		}
	}
}

func (l *runLock) keepAlive() {
	defer close(l.done)
	tick := time.NewTicker(lockTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), lockTTL/3)
			_ = refreshScript.Run(ctx, l.rdb, []string{l.key}, l.token, lockTTL.Milliseconds()).Err()
			cancel()
		}
	}
}

// release gives the lock up.
func (l *runLock) release() {
	close(l.stop)
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = releaseScript.Run(ctx, l.rdb, []string{l.key}, l.token).Err()
}
