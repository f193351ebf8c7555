package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// cancelRoster writes rows as a roster file for `enqueue members`.
func cancelRoster(t *testing.T, rows []harness.Row) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("account_id,mobile_phone\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "%s,%s\n", r.AccountID, r.Phone)
	}
	path := filepath.Join(t.TempDir(), "cancel.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// settled reports whether every one of n members is terminal, cancelled
// included.
func settled(n int64) func(map[member.State]int64) bool {
	return func(c map[member.State]int64) bool {
		var done int64
		for st, k := range c {
			if st.Terminal() {
				done += k
			}
		}
		return done >= n
	}
}

// waitSendsIdle waits until no send task is running on any worker: the
// sends in flight when a cancel returned have then all reached the cloud.
func waitSendsIdle(t *testing.T, env *harness.Env) {
	t.Helper()
	ins := asynq.NewInspectorFromRedisClient(env.Redis)
	var active []*asynq.TaskInfo
	var err error
	if !testwait.Poll(20*time.Second, func() bool {
		active, err = ins.ListActiveTasks(tasks.QueueSend)
		return err == nil && len(active) == 0
	}) {
		t.Fatalf("send tasks still active after 20s: %d (%v)", len(active), err)
	}
}

// Cancelling a batch of 300 while two workers are sending its SMS: no SMS
// leaves after the command returned beyond the sends already in flight
// (at most one per worker slot), every member ends terminal, none is bound
// twice, the printed count is the number cancelled, and the member's
// history names the cancel. The same roster handed in again restarts the
// cancelled members and they all bind.
func TestCancelBatchStopsSendsAndTheRosterRestartsIt(t *testing.T) {
	t.Parallel()
	const n = 300
	env := harness.Start(t, harness.Options{Workers: 2, Configure: func(c *config.Config) {
		// A member cancelled after its SMS waits the phone gap when restarted.
		c.SendQPS, c.PhoneGap = 50, 200*time.Millisecond
	}})
	env.StartOwners(env.Worker(0), harness.Correct)
	rows := harness.Members(7000, n)
	path := cancelRoster(t, rows)
	if r := run(t, env.RedisURL, "members", path, "--batch", "halt"); r.Code != 0 {
		t.Fatalf("members: exit %d: %s", r.Code, r.Stderr)
	}
	waitSMS(t, env, 30)

	r := run(t, env.RedisURL, "cancel", "--batch", "halt")
	atReturn := env.Sandbox.Stats().SMSSent
	if r.Code != 0 {
		t.Fatalf("cancel: exit %d: %s", r.Code, r.Stderr)
	}
	var printed int64
	if _, err := fmt.Sscanf(r.Stdout, "%d members cancelled", &printed); err != nil {
		t.Fatalf("cancel printed %q: %v", r.Stdout, err)
	}
	counts := env.WaitFor(20*time.Second, settled(n))
	waitSendsIdle(t, env)
	extra := env.Sandbox.Stats().SMSSent - atReturn
	slots := 2 * env.Config.Concurrency
	t.Logf("cancel printed %d; SMS sent when it returned %d, after it %d (worker slots %d); counts %v",
		printed, atReturn, extra, slots, counts)
	if extra > slots {
		t.Errorf("%d SMS left after cancel returned, more than the %d sends that can be in flight", extra, slots)
	}
	// A bind already in flight when the cancel came may still bind the
	// phone: the cloud has it then, and the member ends bound.
	cancelled := counts[member.Cancelled]
	if cancelled > printed || printed-cancelled > int64(slots) || printed < n/2 {
		t.Errorf("cancel printed %d, %d members are cancelled; want at most %d fewer (binds in flight) and most of the %d",
			printed, cancelled, slots, n)
	}
	if counts[member.Bound]+counts[member.Cancelled] != n {
		t.Errorf("counts %v: want every member bound or cancelled", counts)
	}
	assertBoundOnce(t, env, rows, false)
	assertCancelInHistory(t, env, rows)

	again := run(t, env.RedisURL, "members", path, "--batch", "halt")
	if again.Code != 0 || !strings.Contains(again.Stdout, fmt.Sprintf("(%d restarted)", cancelled)) {
		t.Fatalf("members again: exit %d, stdout %q; want %d restarted", again.Code, again.Stdout, cancelled)
	}
	t.Cleanup(func() { describeUnfinished(t, env, rows) })
	counts = env.WaitTerminal(n, 30*time.Second)
	if counts[member.Bound] != n {
		t.Errorf("after the roster again: counts %v, want all %d bound", counts, n)
	}
	assertBoundOnce(t, env, rows, true)
}

// waitSMS waits until the sandbox has sent at least k SMS.
func waitSMS(t *testing.T, env *harness.Env, k int) {
	t.Helper()
	if !testwait.Poll(20*time.Second, func() bool { return env.Sandbox.Stats().SMSSent >= k }) {
		t.Fatalf("only %d SMS after 20s, want %d", env.Sandbox.Stats().SMSSent, k)
	}
}

// assertBoundOnce checks that no account was bound twice at the cloud and,
// when all is set, that every account was bound.
func assertBoundOnce(t *testing.T, env *harness.Env, rows []harness.Row, all bool) {
	t.Helper()
	binds := env.Sandbox.Stats().Binds
	for _, r := range rows {
		if k := binds[r.AccountID]; k > 1 || (all && k != 1) {
			t.Errorf("account %s bound %d times", r.AccountID, k)
		}
	}
}

// assertCancelInHistory checks that each cancelled member's history ends
// with the move to cancelled, naming the command.
func assertCancelInHistory(t *testing.T, env *harness.Env, rows []harness.Row) {
	t.Helper()
	ctx := context.Background()
	for _, r := range rows {
		m, err := env.Store.Get(ctx, r.AccountID)
		if err != nil || m.State != member.Cancelled {
			continue
		}
		h, err := env.Store.History(ctx, r.AccountID)
		if err != nil || len(h) == 0 {
			t.Fatalf("history of %s: %v, %d events", r.AccountID, err, len(h))
		}
		last := h[len(h)-1]
		if last.To != member.Cancelled || !strings.Contains(last.Reason, "enqueue cancel") {
			t.Errorf("last event of cancelled %s = %+v, want the move to cancelled by enqueue cancel", r.AccountID, last)
		}
	}
}

// An account ID that names no member, and a Redis that cannot be reached,
// both end the command with exit status 2.
func TestCancelExitsTwoWhenNothingMatchesOrRedisIsDown(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	r := run(t, url, "cancel", "1999999999999999")
	if r.Code != 2 || !strings.Contains(r.Stdout, "0 members cancelled") {
		t.Errorf("unknown ID: exit %d, stdout %q, stderr %q; want 2 and 0 cancelled", r.Code, r.Stdout, r.Stderr)
	}
	if r := run(t, "redis://"+redistest.DownAddr(t), "cancel", "--batch", "halt"); r.Code != 2 {
		t.Errorf("Redis down: exit %d, stderr %q; want 2", r.Code, r.Stderr)
	}
}

// describeUnfinished logs, when the test failed, the members not terminal
// and their history.
func describeUnfinished(t *testing.T, env *harness.Env, rows []harness.Row) {
	if !t.Failed() {
		return
	}
	ctx := context.Background()
	for _, r := range rows {
		m, err := env.Store.Get(ctx, r.AccountID)
		if err != nil || m.State.Terminal() {
			continue
		}
		h, _ := env.Store.History(ctx, r.AccountID)
		holder, _ := env.Store.TurnHolder(ctx, r.Phone)
		t.Logf("unfinished %s: %s step %+v waiting_for %q, phone turn held by %q; history %+v", r.AccountID, m.State, m.Step(), m.WaitingFor, holder, h)
		if info, err := asynq.NewInspectorFromRedisClient(env.Redis).GetTaskInfo(tasks.QueueSend, tasks.SendTaskID(r.AccountID, m.Step())); err == nil {
			t.Logf("its send task is %v, next at %v: %s", info.State, info.NextProcessAt, info.LastErr)
		}
	}
}
