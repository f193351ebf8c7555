package flow_test

import (
	"context"
	"testing"
	"time"

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
	env.Enqueue("doubt", []harness.Row{row}, ingest.Options{})
	ctx := context.Background()

	send, _ := tasks.NewSendCode(row.AccountID, tasks.Step{Generation: 1})
	if err := f.HandleSend(ctx, send); err != nil {
		t.Fatal(err)
	}
	code, _ := tasks.NewCodeSubmitted(row.AccountID, env.Sandbox.SMS(row.Phone)[0].Code)
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
