package wake_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/wake"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// forever is an idle interval no test outlives: a lane that waits it out
// fails its test.
const forever = time.Hour

// bundle is an asynq server on a hooked client, its Hub, and a signal of
// the tasks it ran.
type bundle struct {
	url string
	hub *wake.Hub
	srv *asynq.Server
	ran chan string
}

func setup(t *testing.T, idle time.Duration) *bundle {
	t.Helper()
	b := &bundle{url: redistest.URL(t), ran: make(chan string, 10)}
	rdb := open(t, b.url)
	b.hub = wake.NewHub(wake.Params{Redis: rdb, Lanes: [][]string{{"work"}}, Idle: idle})
	b.hub.Waited.Init()
	if err := b.hub.Start(context.Background()); err != nil {
		t.Fatalf("hub: %v", err)
	}
	b.srv = asynq.NewServerFromRedisClient(rdb, asynq.Config{Queues: map[string]int{"work": 1}, Concurrency: 2,
		TaskCheckInterval: time.Millisecond, DelayedTaskCheckInterval: 100 * time.Millisecond, LogLevel: asynq.FatalLevel})
	err := b.srv.Start(asynq.HandlerFunc(func(_ context.Context, task *asynq.Task) error {
		b.ran <- string(task.Payload())
		return nil
	}))
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	t.Cleanup(func() {
		_ = b.hub.Shutdown(context.Background())
		b.srv.Shutdown()
	})
	return b
}

func open(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// client is an asynq client that announces, as every client rdonboard
// opens does, unless quiet.
func (b *bundle) client(t *testing.T, quiet bool) *asynq.Client {
	t.Helper()
	rdb := open(t, b.url)
	if !quiet {
		wake.Announce(rdb)
	}
	return asynq.NewClientFromRedisClient(rdb)
}

func (b *bundle) enqueue(t *testing.T, c *asynq.Client, payload string, opts ...asynq.Option) {
	t.Helper()
	if _, err := c.Enqueue(asynq.NewTask("t", []byte(payload)), append(opts, asynq.Queue("work"))...); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
}

// runWhenIdle waits until a lane waits idle, then enqueues payload through
// c and requires the server to run it.
func (b *bundle) runWhenIdle(t *testing.T, c *asynq.Client, payload string) {
	t.Helper()
	b.hub.Waited.Wait(t, 10*time.Second)
	b.enqueue(t, c, payload)
	b.requireRan(t, payload)
}

func (b *bundle) requireRan(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-b.ran:
		if got != want {
			t.Errorf("ran %q, want %q", got, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("task %q not run: the idle lane was not woken", want)
	}
}

func TestAnnouncedTaskWakesTheIdleLane(t *testing.T) {
	t.Parallel()
	b := setup(t, forever)
	b.runWhenIdle(t, b.client(t, false), "now")
	// Idle again, it waits again, and the next announcement wakes it too.
	b.runWhenIdle(t, b.client(t, false), "again")
}

// enqueue members pipelines its enqueues: a pipeline announces too.
func TestPipelinedEnqueueWakesTheIdleLane(t *testing.T) {
	t.Parallel()
	b := setup(t, forever)
	rdb := open(t, b.url)
	wake.Announce(rdb)
	c := ingest.NewClient(rdb)
	// The first enqueue loads asynq's script (a plain EVAL); the next ones
	// go through the pipeline.
	b.runWhenIdle(t, c, "loads the script")
	b.runWhenIdle(t, c, "piped")
}

func TestScheduledTaskRunsWhenDue(t *testing.T) {
	t.Parallel()
	b := setup(t, forever)
	b.hub.Waited.Wait(t, 10*time.Second)
	start := time.Now()
	b.enqueue(t, b.client(t, false), "later", asynq.ProcessIn(1500*time.Millisecond))
	b.requireRan(t, "later")
	// asynq scores scheduled tasks in whole seconds and moves them once
	// their second has begun.
	if since := time.Since(start); since < 500*time.Millisecond {
		t.Errorf("task scheduled 1.5 s ahead ran after %s", since)
	}
}

func TestUnannouncedTaskWaitsForTheIdleInterval(t *testing.T) {
	t.Parallel()
	b := setup(t, 200*time.Millisecond)
	b.runWhenIdle(t, b.client(t, true), "quiet")
}

func TestShutdownReleasesAWaitingLane(t *testing.T) {
	t.Parallel()
	b := setup(t, forever)
	b.hub.Waited.Wait(t, 10*time.Second)
	done := make(chan struct{})
	go func() {
		_ = b.hub.Shutdown(context.Background())
		b.srv.Shutdown()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("server shutdown held by a lane waiting for work")
	}
}
