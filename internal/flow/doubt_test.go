package flow_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/tasks"
)

// TestBindWhoseAnswerWasLostEndsBound: the cloud binds the phone but its
// answer never arrives (the worker gave up, or died). The redelivered bind
// hears AccountSecureMobileAlreadyExists, and the member must end bound —
// the bind was its own — not already_bound.
func TestBindWhoseAnswerWasLostEndsBound(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Workers: -1, Sandbox: sandbox.Options{CodeTTL: time.Hour}})
	f := env.Flow()
	row := harness.Members(0, 1)[0]
	ctx := context.Background()
	code, _ := tasks.NewCodeSubmitted(row.AccountID, sendFirst(t, env, f, "doubt", row))
	if err := f.HandleCodeSubmitted(ctx, code); err != nil {
		t.Fatal(err)
	}
	m, _ := env.Store.Get(ctx, row.AccountID)
	bind, _ := tasks.NewBind(row.AccountID, m.Step(), m.CodeAttempts)

	// The sandbox binds at once and answers after 2 s; the worker gives up
	// after 300 ms.
	env.Sandbox.SetLatency(2 * time.Second)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err := f.HandleBind(short, bind)
	cancel()
	if err == nil {
		t.Fatal("bind with its answer cut off returned no error")
	}
	if env.Sandbox.Stats().Binds[row.AccountID] != 1 {
		t.Fatal("the sandbox did not bind: the test proves nothing")
	}
	if m, _ = env.Store.Get(ctx, row.AccountID); m.State != member.CodeSubmitted || !m.BindInDoubt {
		t.Fatalf("after the lost answer: %s in doubt=%v, want code_submitted in doubt", m.State, m.BindInDoubt)
	}

	env.Sandbox.SetLatency(0)
	if err := f.HandleBind(ctx, bind); err != nil {
		t.Fatal(err)
	}
	assertMember(t, env, row.AccountID, member.Bound, "")
}

// lostMarkAnswer is a Redis hook that, once armed, lets the next write of
// a send's in-flight mark through and then loses its answer, as a
// connection cut between Redis and the worker would.
type lostMarkAnswer struct{ armed atomic.Bool }

func (h *lostMarkAnswer) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *lostMarkAnswer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *lostMarkAnswer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err == nil && marksSend(cmd) && h.armed.CompareAndSwap(true, false) {
			err = errors.New("read tcp: connection reset by peer")
			cmd.SetErr(err)
		}
		return err
	}
}

// marksSend reports whether cmd is a transition that sets a send's
// in-flight mark.
func marksSend(cmd redis.Cmder) bool {
	for _, a := range cmd.Args() {
		if b, ok := a.([]byte); ok && strings.Contains(string(b), `"sending":"g`) {
			return true
		}
	}
	return false
}

// TestSendWhoseMarkAnswerWasLostSendsOnRedelivery: Redis keeps a send's
// in-flight mark but its answer is lost, so the request never leaves. The
// mark must not stay: the redelivery sends the SMS, instead of taking for
// sent a code no phone got and waiting out its expiry.
func TestSendWhoseMarkAnswerWasLostSendsOnRedelivery(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Workers: -1})
	lost := &lostMarkAnswer{}
	opt := env.Redis.(*redis.Client).Options()
	rdb := redis.NewClient(&redis.Options{Addr: opt.Addr, DB: opt.DB, Password: opt.Password})
	rdb.AddHook(lost)
	t.Cleanup(func() { _ = rdb.Close() })
	f := env.FlowOn(rdb)
	row := harness.Members(0, 1)[0]
	env.Enqueue("lost-mark", []harness.Row{row}, ingest.Options{})
	ctx := context.Background()
	send, _ := tasks.NewSendCode(row.AccountID, tasks.Step{Generation: 1})

	lost.armed.Store(true)
	if err := f.HandleSend(ctx, send); err == nil {
		t.Fatal("send whose mark's answer was lost returned no error")
	}
	if lost.armed.Load() {
		t.Fatal("no mark was written: the test proves nothing")
	}
	if n := len(env.Sandbox.SMS(row.Phone)); n != 0 {
		t.Fatalf("%d SMS after a send that stopped at its mark, want 0", n)
	}
	if m, _ := env.Store.Get(ctx, row.AccountID); m.State != member.Pending || m.Sending != "" {
		t.Fatalf("after the lost answer: %s sending=%q, want pending with no send in flight", m.State, m.Sending)
	}

	if err := f.HandleSend(ctx, send); err != nil {
		t.Fatal(err)
	}
	if n := len(env.Sandbox.SMS(row.Phone)); n != 1 {
		t.Errorf("%d SMS after the redelivery, want 1", n)
	}
	assertMember(t, env, row.AccountID, member.CodeSent, "")
}
