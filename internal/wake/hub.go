package wake

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/testwait"
)

// DelayedRecheck is the longest a Hub spares a forwarder its look at a
// scheduled or retry set that holds nothing due: the bound on how late a
// task scheduled by a client that does not announce is moved to its queue.
// It is asynq's own default interval of that look.
const DelayedRecheck = 5 * time.Second

// Params configure a Hub.
type Params struct {
	// Redis is the client the lanes' asynq servers use; the Hub hooks it.
	Redis redis.UniversalClient
	// Lanes are the queues of each lane (asynq server), highest priority
	// first: a lane waits only when its last look found all of them empty.
	Lanes [][]string
	// Idle is the longest an idle lane waits for an announcement before it
	// looks anyway.
	Idle time.Duration
}

// Hub holds idle lanes until their queues have work. It is a Component:
// Start subscribes to the announcements, Shutdown releases every lane for
// good, so that the servers stop without waiting out an idle interval.
type Hub struct {
	p       Params
	channel string
	lanes   map[string]*lane // by queue
	done    chan struct{}
	stop    sync.Once
	subDone chan struct{}

	mu      sync.Mutex
	delayed map[string]*delayedSet // by scheduled or retry key
	// woken counts each queue's announcements, so that what was read of
	// its sets before one is not kept after it.
	woken map[string]uint64

	// Waited is sent the lane's first queue each time an idle lane starts
	// to wait (tests).
	Waited testwait.Signal[string]
}

// lane is one asynq server's queues and what its last look found.
type lane struct {
	first  string
	queues []string
	wake   chan struct{}
	mu     sync.Mutex
	empty  map[string]bool
}

// delayedSet is what a Hub knows of a scheduled or retry set.
type delayedSet struct {
	known   bool      // false: unknown, the forwarder must look
	due     time.Time // when its earliest task is due
	checked time.Time
}

// NewHub returns a Hub and hooks p.Redis.
func NewHub(p Params) *Hub {
	h := &Hub{p: p, channel: channelOf(p.Redis), lanes: map[string]*lane{}, done: make(chan struct{}),
		subDone: make(chan struct{}), delayed: map[string]*delayedSet{}, woken: map[string]uint64{}}
	for _, qs := range p.Lanes {
		l := &lane{first: qs[0], queues: qs, wake: make(chan struct{}, 1), empty: map[string]bool{}}
		for _, q := range qs {
			h.lanes[q] = l
		}
	}
	p.Redis.AddHook(h)
	return h
}

// Start listens for announcements until Shutdown.
func (h *Hub) Start(ctx context.Context) error {
	ps := h.p.Redis.Subscribe(context.WithoutCancel(ctx), h.channel)
	go func() {
		defer close(h.subDone)
		defer ps.Close()
		ch := ps.Channel()
		for {
			select {
			case <-h.done:
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				h.Wake(m.Payload)
			}
		}
	}()
	return nil
}

// Shutdown releases every lane now and from then on.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.stop.Do(func() { close(h.done) })
	select {
	case <-h.subDone:
	case <-ctx.Done():
	}
	return nil
}

// Wake tells the lane of queue q that q has work, and forgets what the Hub
// knew of q's scheduled and retry sets.
func (h *Hub) Wake(q string) {
	l := h.lanes[q]
	if l == nil {
		return
	}
	h.mu.Lock()
	for _, key := range delayedKeys(q) {
		delete(h.delayed, key)
	}
	h.woken[q]++
	h.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func delayedKeys(q string) [2]string {
	return [2]string{"asynq:{" + q + "}:scheduled", "asynq:{" + q + "}:retry"}
}

func (h *Hub) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *Hub) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *Hub) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		s := recognise(cmd)
		if h.lanes[s.queue] == nil {
			return next(ctx, cmd)
		}
		switch s.kind {
		case dequeue:
			return h.dequeue(ctx, s.queue, cmd, next)
		case forward:
			return h.forward(ctx, s, cmd, next)
		}
		return next(ctx, cmd)
	}
}

// dequeue runs a lane's look at queue q; the look at the lane's first
// queue waits first when the last look found every queue empty.
func (h *Hub) dequeue(ctx context.Context, q string, cmd redis.Cmder, next redis.ProcessHook) error {
	l := h.lanes[q]
	if q == l.first && l.idle() {
		h.Waited.Send(q)
		h.wait(l)
	}
	err := next(ctx, cmd)
	l.mu.Lock()
	l.empty[q] = err == redis.Nil
	l.mu.Unlock()
	return err
}

func (l *lane) idle() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, q := range l.queues {
		if !l.empty[q] {
			return false
		}
	}
	return true
}

func (h *Hub) wait(l *lane) {
	t := time.NewTimer(h.p.Idle)
	defer t.Stop()
	select {
	case <-l.wake:
	case <-t.C:
	case <-h.done:
	}
}

// forward runs a forwarder's look at a scheduled or retry set, or answers
// "nothing moved" for it when the Hub knows nothing there is due yet.
func (h *Hub) forward(ctx context.Context, s script, cmd redis.Cmder, next redis.ProcessHook) error {
	if h.nothingDue(s.key) {
		if c, ok := cmd.(*redis.Cmd); ok {
			c.SetVal(int64(0))
			return nil
		}
	}
	err := next(ctx, cmd)
	switch n := moved(cmd); {
	case err != nil:
	case n > 0:
		h.Wake(s.queue)
	default:
		h.learnDue(ctx, s)
	}
	return err
}

func (h *Hub) nothingDue(key string) bool {
	select {
	case <-h.done:
		return false
	default:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.delayed[key]
	now := clock.Real() // asynq scores its sets by the wall clock
	return d != nil && d.known && now.Before(d.due) && now.Sub(d.checked) < DelayedRecheck
}

// learnDue reads when the earliest task of a scheduled or retry set is due
// (asynq scores them in Unix seconds).
func (h *Hub) learnDue(ctx context.Context, s script) {
	h.mu.Lock()
	gen := h.woken[s.queue]
	h.mu.Unlock()
	now := clock.Real() // asynq scores its sets by the wall clock
	first, err := h.p.Redis.ZRangeWithScores(ctx, s.key, 0, 0).Result()
	if err != nil {
		return
	}
	d := &delayedSet{known: true, checked: now, due: now.Add(DelayedRecheck)}
	if len(first) == 1 {
		d.due = time.Unix(int64(first[0].Score), 0)
	}
	h.mu.Lock()
	if h.woken[s.queue] == gen {
		h.delayed[s.key] = d
	}
	h.mu.Unlock()
}
