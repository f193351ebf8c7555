package flow_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/intake"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// TestRefusedCodesLeaveNoCodeInTheArchive: codes put on the callback queue
// by any asynq client for an unknown account, a phone nobody has, a bad
// phone, a member not waiting, or in a malformed payload are refused, and
// none of them stays at rest in an archived task.
func TestRefusedCodesLeaveNoCodeInTheArchive(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{})
	row := harness.Members(0, 1)[0]
	env.Enqueue("idle", []harness.Row{row}, ingest.Options{})
	waitMember(t, env, row.AccountID, func(m member.Member) bool { return m.State == member.CodeSent })
	bound := harness.Members(1, 1)[0]
	if _, err := env.Store.Admit(context.Background(), []member.Candidate{{AccountID: bound.AccountID, Phone: bound.Phone, Batch: "b"}}, member.AdmitOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.Transition(context.Background(), bound.AccountID, member.Move{From: []member.State{member.Pending}, To: member.Bound, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	payloads := map[string]string{
		"482911": `{"account_id":"1999999999999999","code":"482911"}`,
		"482912": `{"phone":"86-13700009999","code":"482912"}`,
		"482913": `{"phone":"not a phone","code":"482913"}`,
		"482914": `{"account_id":"` + bound.AccountID + `","code":"482914"}`,
		"59201":  `{"account_id":"` + row.AccountID + `","code":"59201"}`,
		"482916": `{"account_id":"` + row.AccountID + `","phone":"` + row.Phone + `","code":"482916"}`,
	}
	for _, p := range payloads {
		if _, err := env.Client.Enqueue(asynq.NewTask(tasks.TypeCodeSubmitted, []byte(p), asynq.Queue(tasks.QueueCallback))); err != nil {
			t.Fatal(err)
		}
	}
	insp := asynq.NewInspectorFromRedisClient(env.Redis)
	testwait.Until(t, 20*time.Second, "callback queue drained", func() bool {
		q, err := insp.GetQueueInfo(tasks.QueueCallback)
		return err == nil && q.Pending+q.Active+q.Retry+q.Scheduled == 0
	})
	archived, _ := insp.ListArchivedTasks(tasks.QueueCallback)
	for _, a := range archived {
		for code := range payloads {
			if strings.Contains(string(a.Payload), code) {
				t.Errorf("archived callback task %s holds code %s: %s", a.ID, code, a.Payload)
			}
		}
	}
	if m := assertMember(t, env, row.AccountID, member.CodeSent, ""); m.CodeAttempts != 0 {
		t.Errorf("a refused code counted as an attempt: code_attempts %d", m.CodeAttempts)
	}
}

// TestLateCodeIsNotTakenForTheNextSend: a code handed in for send 1 that
// reaches the member only after send 1 expired and send 2 went out is
// dropped; send 2 keeps all its attempts and waits for its own code.
func TestLateCodeIsNotTakenForTheNextSend(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Workers: -1, Sandbox: sandbox.Options{CodeTTL: time.Hour}})
	f := env.Flow()
	row := harness.Members(0, 1)[0]
	env.Enqueue("late", []harness.Row{row}, ingest.Options{})
	ctx := context.Background()
	insp := asynq.NewInspectorFromRedisClient(env.Redis)
	if _, err := insp.DeleteAllPendingTasks(tasks.QueueSend); err != nil {
		t.Fatal(err)
	}

	send, _ := tasks.NewSendCode(row.AccountID, tasks.Step{Generation: 1})
	if err := f.HandleSend(ctx, send); err != nil {
		t.Fatal(err)
	}
	first := env.Sandbox.SMS(row.Phone)[0].Code
	if _, err := intake.New(env.Store, env.Client, env.Config.MaxCodeAttempts).Submit(ctx, row.AccountID, first); err != nil {
		t.Fatal(err)
	}
	queued, err := insp.ListPendingTasks(tasks.QueueCallback)
	if err != nil || len(queued) != 1 {
		t.Fatalf("callback tasks %d (%v), want the code queued", len(queued), err)
	}

	// Send 1 expires before the code's task runs, and send 2 goes out.
	m, _ := env.Store.Get(ctx, row.AccountID)
	if err := f.Expire(ctx, m, "test: expired"); err != nil {
		t.Fatal(err)
	}
	m, _ = env.Store.Get(ctx, row.AccountID)
	send2, _ := tasks.NewSendCode(row.AccountID, m.Step())
	if err := f.HandleSend(ctx, send2); err != nil {
		t.Fatal(err)
	}

	late := asynq.NewTask(queued[0].Type, queued[0].Payload)
	if err := f.HandleCodeSubmitted(ctx, late); err != nil {
		t.Fatal(err)
	}
	m = assertMember(t, env, row.AccountID, member.CodeSent, "")
	if m.Sends != 2 || m.CodeAttempts != 0 {
		t.Errorf("after the late code: sends %d, code_attempts %d; want send 2 with no attempt used", m.Sends, m.CodeAttempts)
	}
}

// TestStaleBindDeliveryKeepsTheNewerCode: a bind delivery that read the
// member before a newer code was taken (its lease lapsed and the task ran
// again meanwhile) hears Invalid.VerificationCode for the old code; the
// newer code and its attempt are kept, and the newer bind binds.
func TestStaleBindDeliveryKeepsTheNewerCode(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		held    bool
		arrived = make(chan struct{})
		release = make(chan struct{})
	)
	hold := func(c sandbox.Call) {
		mu.Lock()
		first := c.Action == sandbox.ActionBind && !held
		held = held || first
		mu.Unlock()
		if first {
			close(arrived)
			<-release
		}
	}
	env := harness.Start(t, harness.Options{Workers: -1, Sandbox: sandbox.Options{CodeTTL: time.Hour, OnCall: hold}})
	f := env.Flow()
	row := harness.Members(0, 1)[0]
	right := sendFirst(t, env, f, "stale", row)
	ctx := context.Background()
	code, _ := tasks.NewCodeSubmitted(row.AccountID, wrong(right))
	if err := f.HandleCodeSubmitted(ctx, code); err != nil {
		t.Fatal(err)
	}
	m, _ := env.Store.Get(ctx, row.AccountID)
	bind1, _ := tasks.NewBind(row.AccountID, m.Step(), m.CodeAttempts)

	// Delivery 1 of bind 1: its request is held in the cloud.
	stale := make(chan error, 1)
	go func() { stale <- f.HandleBind(ctx, bind1) }()
	<-arrived
	// Delivery 2 of bind 1 hears the wrong code; the right code is taken.
	if err := f.HandleBind(ctx, bind1); err != nil {
		t.Fatal(err)
	}
	code2, _ := tasks.NewCodeSubmitted(row.AccountID, right)
	if err := f.HandleCodeSubmitted(ctx, code2); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-stale; err != nil {
		t.Fatal(err)
	}
	m, _ = env.Store.Get(ctx, row.AccountID)
	if m.State != member.CodeSubmitted || m.CodeAttempts != 2 {
		t.Fatalf("after the stale delivery: %s with code_attempts %d, want code_submitted with the newer code (2)", m.State, m.CodeAttempts)
	}
	bind2, _ := tasks.NewBind(row.AccountID, m.Step(), m.CodeAttempts)
	if err := f.HandleBind(ctx, bind2); err != nil {
		t.Fatal(err)
	}
	assertMember(t, env, row.AccountID, member.Bound, "")
}
