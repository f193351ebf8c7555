// Package wake lets a worker's idle lanes sleep until there is work instead
// of polling Redis every few milliseconds.
//
// Every client rdonboard opens announces on a pub/sub channel the queue it
// put a task on (pending, scheduled or retry), and a worker's Hub, through a
// hook on the client its asynq servers use, holds an idle lane's next look
// at its queues until an announcement for one of them comes, or the idle
// interval passes (for tasks put there by a client that does not announce,
// such as another system's own asynq client). It also spares the lanes'
// forwarders their look at the scheduled and retry sets until the earliest
// task there is due.
//
// asynq v0.26 has no way to wake a server: this package recognises its
// scripts by the keys they name (asynq:{QUEUE}:pending, …:scheduled,
// …:retry), which is asynq's own layout.
package wake

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Channel is the pub/sub channel of announcements for database db: pub/sub
// spans a server's databases, and a deployment on another database has
// other queues.
func Channel(db int) string { return fmt.Sprintf("rdonboard:wake:%d", db) }

// channelOf is the announcement channel of rdb's database.
func channelOf(rdb redis.UniversalClient) string {
	if c, ok := rdb.(*redis.Client); ok {
		return Channel(c.Options().DB)
	}
	return Channel(0)
}

// kind is what an asynq script does to a queue.
type kind int

const (
	other   kind = iota
	dequeue      // takes a pending task
	forward      // moves due tasks of a scheduled or retry set to pending
	push         // may have put a task on the queue's pending, scheduled or retry set
)

// script is one asynq script call, recognised from its keys.
type script struct {
	kind  kind
	queue string
	key   string // the scheduled or retry set of a forward
}

// recognise tells which asynq script cmd runs, from its keys.
func recognise(cmd redis.Cmder) script {
	keys := scriptKeys(cmd.Args())
	if len(keys) == 0 {
		return script{}
	}
	switch {
	case len(keys) == 4 && suffixes(keys, ":pending", ":paused", ":active", ":lease"):
		return script{kind: dequeue, queue: queueOf(keys[0])}
	case len(keys) == 2 && suffixes(keys[1:], ":pending") && (strings.HasSuffix(keys[0], ":scheduled") || strings.HasSuffix(keys[0], ":retry")):
		return script{kind: forward, queue: queueOf(keys[0]), key: keys[0]}
	}
	for _, k := range keys {
		if strings.HasSuffix(k, ":pending") || strings.HasSuffix(k, ":scheduled") || strings.HasSuffix(k, ":retry") {
			if q := queueOf(k); q != "" {
				return script{kind: push, queue: q}
			}
		}
	}
	return script{}
}

// scriptKeys returns the keys of an EVAL or EVALSHA command, or nil.
func scriptKeys(args []any) []string {
	if len(args) < 3 {
		return nil
	}
	name, _ := args[0].(string)
	if !strings.EqualFold(name, "evalsha") && !strings.EqualFold(name, "eval") {
		return nil
	}
	n, ok := args[2].(int)
	if !ok || n <= 0 || len(args) < 3+n {
		return nil
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i], _ = args[3+i].(string)
	}
	return keys
}

func suffixes(keys []string, want ...string) bool {
	for i, w := range want {
		if !strings.HasSuffix(keys[i], w) {
			return false
		}
	}
	return true
}

// queueOf returns QUEUE of an asynq key asynq:{QUEUE}:…, or "".
func queueOf(key string) string {
	rest, ok := strings.CutPrefix(key, "asynq:{")
	if !ok {
		return ""
	}
	q, _, ok := strings.Cut(rest, "}:")
	if !ok {
		return ""
	}
	return q
}

// Announce makes rdb announce each queue it puts a task on. Announcements
// of one queue made while one is under way are folded into one more after
// it, so a burst of enqueues costs a few PUBLISH, not one each.
func Announce(rdb redis.UniversalClient) {
	rdb.AddHook(&announcer{rdb: rdb, channel: channelOf(rdb), busy: map[string]bool{}, again: map[string]bool{}})
}

type announcer struct {
	rdb     redis.UniversalClient
	channel string
	mu      sync.Mutex
	// busy holds the queues whose announcement is under way; again those
	// to announce once more when it ends.
	busy, again map[string]bool
}

func (a *announcer) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessPipelineHook announces once each queue a pipeline put tasks on
// (enqueue members pipelines its enqueues).
func (a *announcer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		seen := map[string]bool{}
		for _, cmd := range cmds {
			s := recognise(cmd)
			if cmd.Err() == nil && (s.kind == push || s.kind == forward && moved(cmd) > 0) && !seen[s.queue] {
				seen[s.queue] = true
				a.announce(s.queue)
			}
		}
		return err
	}
}

func (a *announcer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		s := recognise(cmd)
		if err == nil && (s.kind == push || s.kind == forward && moved(cmd) > 0) {
			a.announce(s.queue)
		}
		return err
	}
}

// announce publishes q, unless an announcement of q is under way: then
// the caller making it publishes once more when it ends.
func (a *announcer) announce(q string) {
	a.mu.Lock()
	if a.busy[q] {
		a.again[q] = true
		a.mu.Unlock()
		return
	}
	a.busy[q] = true
	a.mu.Unlock()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = a.rdb.Publish(ctx, a.channel, q).Err()
		cancel()
		a.mu.Lock()
		if !a.again[q] {
			delete(a.busy, q)
			a.mu.Unlock()
			return
		}
		delete(a.again, q)
		a.mu.Unlock()
	}
}

// moved is the number of tasks a forward script moved.
func moved(cmd redis.Cmder) int64 {
	c, ok := cmd.(*redis.Cmd)
	if !ok {
		return 0
	}
	n, _ := c.Int64()
	return n
}
