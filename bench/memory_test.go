package bench

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// Waiting members measured, and how many of them are sampled for the
// breakdown by key.
const (
	waitingMembers = 10_000
	waitingSample  = 200
	waitingBatch   = "waiting"
)

// BenchmarkWaitingMemory puts 10k members in code_sent (their code sent,
// its expiry task scheduled, nobody answering) on a redis-server of its own
// and reports Redis's used_memory growth per member, and its breakdown by
// key from MEMORY USAGE: the member hash, its history, its entry in the
// code_sent index, its scheduled expiry task (the task hash and its entry
// in the scheduled set), and the rest (the keyspace's own overhead).
// Target: ≤ 2 KB per member.
func BenchmarkWaitingMemory(b *testing.B) {
	var perMember float64
	var parts memoryParts
	var others float64
	for range b.N {
		srv := redistest.Start(b, redistest.Options{})
		url := srv.URL(0)
		rdb := newClient(b, url, 4)
		env := harness.Start(b, harness.Options{RedisURL: url, Workers: 2, Configure: func(c *config.Config) {
			c.SendQPS, c.BindQPS, c.GetQPS = unlimited, unlimited, unlimited
		}})
		load := startLoad(b, rdb)
		before := usedMemory(b, rdb)
		env.Enqueue(waitingBatch, harness.Members(0, waitingMembers), ingest.Options{})
		waitWaiting(b, env)
		perMember = float64(usedMemory(b, rdb)-before) / waitingMembers
		parts = breakdown(b, rdb)
		others = load.others(b)
	}
	b.ReportMetric(perMember, "B/member")
	b.ReportMetric(parts.hash, "hash-B")
	b.ReportMetric(parts.history, "history-B")
	b.ReportMetric(parts.index, "index-B")
	b.ReportMetric(parts.task, "task-B")
	b.ReportMetric(parts.scheduled, "scheduled-B")
	b.ReportMetric(perMember-parts.sum(), "rest-B")
	b.ReportMetric(others, "others-cores")
}

// waitWaiting waits until every member is in code_sent, its expiry task
// scheduled, and no send task is left.
func waitWaiting(b *testing.B, env *harness.Env) {
	b.Helper()
	env.WaitFor(5*time.Minute, func(c map[member.State]int64) bool { return c[member.CodeSent] == waitingMembers })
	insp := asynq.NewInspectorFromRedisClient(env.Redis)
	testwait.Until(b, time.Minute, "expiry tasks scheduled, send queue empty", func() bool {
		control, err1 := insp.GetQueueInfo(tasks.QueueControl)
		send, err2 := insp.GetQueueInfo(tasks.QueueSend)
		return err1 == nil && err2 == nil && control.Scheduled == waitingMembers && send.Size == 0
	})
}

// memoryParts is the memory of one waiting member by key, in bytes.
type memoryParts struct {
	hash, history, index, task, scheduled float64
}

func (p memoryParts) sum() float64 { return p.hash + p.history + p.index + p.task + p.scheduled }

// breakdown measures the keys of a sample of members, and the shared sets
// divided by the members.
func breakdown(b *testing.B, rdb *redis.Client) memoryParts {
	b.Helper()
	var p memoryParts
	rows := harness.Members(0, waitingMembers)
	step := tasks.Step{Generation: 1, Send: 1}
	for i := 0; i < waitingMembers; i += waitingMembers / waitingSample {
		id := rows[i].AccountID
		p.hash += memoryUsage(b, rdb, member.DefaultPrefix+"m:"+id) / waitingSample
		p.history += memoryUsage(b, rdb, member.DefaultPrefix+"h:"+id) / waitingSample
		p.task += memoryUsage(b, rdb, "asynq:{"+tasks.QueueControl+"}:t:"+tasks.ExpiryTaskID(id, step)) / waitingSample
	}
	p.index = memoryUsage(b, rdb, member.DefaultPrefix+"i:"+waitingBatch+":"+string(member.CodeSent)) / waitingMembers
	p.scheduled = memoryUsage(b, rdb, "asynq:{"+tasks.QueueControl+"}:scheduled") / waitingMembers
	return p
}

// memoryUsage returns MEMORY USAGE of key, counting every element.
func memoryUsage(b *testing.B, rdb *redis.Client, key string) float64 {
	b.Helper()
	n, err := rdb.MemoryUsage(context.Background(), key, 0).Result()
	if err != nil {
		b.Fatalf("MEMORY USAGE %s: %v", key, err)
	}
	return float64(n)
}
