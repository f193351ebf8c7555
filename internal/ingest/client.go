package ingest

import (
	"context"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Defaults of the shared-pipeline client.
const (
	// pipelinesInFlight is how many pipelines of enqueues are in flight at
	// once: two keep Redis busy while the client reads the other's replies.
	pipelinesInFlight = 2
	// maxPipeline bounds the enqueues one pipeline carries.
	maxPipeline = 256
)

// NewClient returns an asynq client over rdb for a run's send tasks. asynq
// enqueues a task with one script call per round trip; this client's
// script calls, made at the same time from many goroutines (the run's
// enqueuers), share pipelined round trips instead, which saves most of the
// system calls of Redis and of the client. Each enqueue still gets its own
// reply and error. Closing the client leaves rdb open.
func NewClient(rdb redis.UniversalClient) *asynq.Client {
	return asynq.NewClientFromRedisClient(&sharedPipeline{UniversalClient: rdb})
}

// sharedPipeline is a Redis client whose EvalSha calls are gathered into
// pipelines: a call joins the queue, and a drainer sends everything queued
// as one pipeline, again and again until the queue is empty. Other
// commands go to the client as they are.
type sharedPipeline struct {
	redis.UniversalClient

	mu       sync.Mutex
	queue    []queued
	draining int
}

// queued is one call waiting for its pipeline.
type queued struct {
	cmd  *redis.Cmd
	done chan struct{}
}

// EvalSha runs the script sha as part of a shared pipeline.
func (s *sharedPipeline) EvalSha(ctx context.Context, sha string, keys []string, args ...any) *redis.Cmd {
	cmdArgs := make([]any, 0, 3+len(keys)+len(args))
	cmdArgs = append(cmdArgs, "evalsha", sha, len(keys))
	for _, k := range keys {
		cmdArgs = append(cmdArgs, k)
	}
	q := queued{cmd: redis.NewCmd(ctx, append(cmdArgs, args...)...), done: make(chan struct{})}
	s.mu.Lock()
	s.queue = append(s.queue, q)
	start := s.draining < pipelinesInFlight
	if start {
		s.draining++
	}
	s.mu.Unlock()
	if start {
		// The drainer outlives this call when others queue behind it; their
		// calls must not fail because this caller's context ends.
		go s.drain(context.WithoutCancel(ctx))
	}
	<-q.done
	return q.cmd
}

// drain sends the queued calls as pipelines until none is left.
func (s *sharedPipeline) drain(ctx context.Context) {
	for {
		batch := s.take()
		if len(batch) == 0 {
			return
		}
		p := s.UniversalClient.Pipeline()
		for _, q := range batch {
			_ = p.Process(ctx, q.cmd)
		}
		// Each command keeps its own reply and error.
		_, _ = p.Exec(ctx)
		for _, q := range batch {
			close(q.done)
		}
	}
}

// take removes up to maxPipeline calls from the queue; with none left it
// ends the caller's turn as a drainer.
func (s *sharedPipeline) take() []queued {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(len(s.queue), maxPipeline)
	if n == 0 {
		s.draining--
		return nil
	}
	batch := make([]queued, n)
	copy(batch, s.queue)
	s.queue = append(s.queue[:0], s.queue[n:]...)
	return batch
}
