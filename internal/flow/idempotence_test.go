package flow_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/tasks"
)

// world is what a user could observe after a handler ran.
type world struct {
	Member  member.Member
	History int
	Stats   sandbox.Stats
	Tasks   map[string]int
}

func observe(t *testing.T, env *harness.Env, id string) world {
	t.Helper()
	ctx := context.Background()
	m, err := env.Store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := env.Store.History(ctx, id)
	insp := asynq.NewInspectorFromRedisClient(env.Redis)
	counts := map[string]int{}
	for _, q := range tasks.Queues {
		if info, err := insp.GetQueueInfo(q); err == nil {
			counts[q] = info.Size
		}
	}
	return world{Member: m, History: len(h), Stats: env.Sandbox.Stats(), Tasks: counts}
}

// twice runs a handler on the same task two times (an at-least-once
// redelivery) and checks that the second run changes nothing.
func twice(t *testing.T, env *harness.Env, id string, handle asynq.HandlerFunc, task *asynq.Task) world {
	t.Helper()
	ctx := context.Background()
	if err := handle(ctx, task); err != nil {
		t.Fatalf("%s, first run: %v", task.Type(), err)
	}
	first := observe(t, env, id)
	if err := handle(ctx, task); err != nil {
		t.Fatalf("%s, second run: %v", task.Type(), err)
	}
	if diff := cmp.Diff(first, observe(t, env, id)); diff != "" {
		t.Errorf("%s run twice: the second run changed (-first +second):\n%s", task.Type(), diff)
	}
	return first
}

func TestHandlersRunTwiceChangeNothingTheSecondTime(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Workers: -1, Sandbox: sandbox.Options{CodeTTL: time.Hour}})
	f := env.Flow()
	rows := harness.Members(0, 2)
	env.Enqueue("twice", rows, ingest.Options{})
	id := rows[0].AccountID

	send, _ := tasks.NewSendCode(id, tasks.Step{Generation: 1})
	w := twice(t, env, id, f.HandleSend, send)
	if w.Member.State != member.CodeSent || w.Stats.SMSSent != 1 {
		t.Fatalf("after send: %s with %d SMS, want code_sent with 1", w.Member.State, w.Stats.SMSSent)
	}

	sms := env.Sandbox.SMS(rows[0].Phone)[0]
	code, _ := tasks.NewCodeSubmitted(id, sms.Code)
	w = twice(t, env, id, f.HandleCodeSubmitted, code)
	if w.Member.State != member.CodeSubmitted || w.Tasks[tasks.QueueBind] != 1 {
		t.Fatalf("after code: %s with %d bind tasks, want code_submitted with 1", w.Member.State, w.Tasks[tasks.QueueBind])
	}

	bind, _ := tasks.NewBind(id, w.Member.Step(), w.Member.CodeAttempts)
	w = twice(t, env, id, f.HandleBind, bind)
	if w.Member.State != member.Bound || w.Stats.Binds[id] != 1 {
		t.Fatalf("after bind: %s with %d binds, want bound with 1", w.Member.State, w.Stats.Binds[id])
	}

	// The expiry of a member still waiting for its code.
	other := rows[1].AccountID
	send2, _ := tasks.NewSendCode(other, tasks.Step{Generation: 1})
	if err := f.HandleSend(context.Background(), send2); err != nil {
		t.Fatal(err)
	}
	m, _ := env.Store.Get(context.Background(), other)
	expiry, _ := tasks.NewCodeExpiry(other, m.Step(), m.CodeExpiresAt)
	w = twice(t, env, other, f.HandleExpiry, expiry)
	// The two first sends enqueued by the roster are still queued (the
	// handlers ran outside a worker); the new code's send goes on the queue
	// served first.
	if w.Member.State != member.Pending || w.Tasks[tasks.QueueSend] != 2 || w.Tasks[tasks.QueueSendNext] != 1 {
		t.Fatalf("after expiry: %s with %d first and %d next sends, want pending with the new send on %s (2 and 1)",
			w.Member.State, w.Tasks[tasks.QueueSend], w.Tasks[tasks.QueueSendNext], tasks.QueueSendNext)
	}
}
