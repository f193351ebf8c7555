package reconcile_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/internal/reconcile"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/runlog"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/status"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// bundle is a running rdonboard plus a reconciler over it with no grace,
// so a member broken by hand is due at once.
type bundle struct {
	ctx  context.Context
	env  *harness.Env
	insp *asynq.Inspector
	runs *runlog.Runs
	rec  *reconcile.Reconciler
	reg  *prometheus.Registry
}

func setup(t testing.TB, opts harness.Options) *bundle {
	t.Helper()
	env := harness.Start(t, opts)
	sdk, err := cloud.New(cloud.Config{Endpoint: env.CloudURL, AccessKeyID: sandbox.DefaultAccessKeyID,
		AccessKeySecret: sandbox.DefaultAccessKeySecret, ReadTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("cloud client: %v", err)
	}
	t.Cleanup(sdk.Close)
	b := &bundle{ctx: context.Background(), env: env, insp: asynq.NewInspectorFromRedisClient(env.Redis),
		runs: runlog.NewRuns(env.Redis, env.Store.Prefix()), reg: prometheus.NewRegistry()}
	b.rec = reconcile.New(reconcile.Params{
		Store: env.Store, Flow: env.Flow(), Client: env.Client, Inspector: b.insp, Cloud: sdk,
		Limiter: ratelimit.New(env.Redis, ratelimit.Options{Prefix: env.Store.Prefix(),
			Rates: map[string]float64{cloud.ActionGetAccount: 1000}}),
		Pauser: pause.New(env.Redis, env.Store.Prefix(), tasks.CloudQueues),
		Runs:   b.runs, Metrics: metrics.NewReconcile(b.reg, b.runs.LastRun), Logger: env.Logger, Grace: -1,
	})
	return b
}

// admit takes rows into the store as `enqueue members` would, without
// their send tasks.
func (b *bundle) admit(t testing.TB, rows ...harness.Row) {
	t.Helper()
	cands := make([]member.Candidate, len(rows))
	for i, r := range rows {
		cands[i] = member.Candidate{AccountID: r.AccountID, Phone: r.Phone, Batch: "roster"}
	}
	if _, err := b.env.Store.Admit(b.ctx, cands, member.AdmitOptions{}); err != nil {
		t.Fatalf("admit: %v", err)
	}
}

// move changes a member by hand, as a lost task or a crash would leave it.
func (b *bundle) move(t testing.TB, id string, from, to member.State, edits ...member.Edit) member.Member {
	t.Helper()
	m, err := b.env.Store.Transition(b.ctx, id, member.Move{From: []member.State{from}, To: to, Reason: "test", Edits: edits})
	if err != nil {
		t.Fatalf("move %s %s→%s: %v", id, from, to, err)
	}
	return m
}

func (b *bundle) run(t testing.TB, verifyAll bool) runlog.Summary {
	t.Helper()
	s, err := b.rec.Run(b.ctx, reconcile.ManualSlot(time.Now()), verifyAll)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if s.Outcome() != "finished" {
		t.Fatalf("run %s: %+v", s.Outcome(), s)
	}
	return s
}

func (b *bundle) get(t testing.TB, id string) member.Member {
	t.Helper()
	m, err := b.env.Store.Get(b.ctx, id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return m
}

// waitState waits until member id is in state.
func (b *bundle) waitState(t testing.TB, id string, state member.State) member.Member {
	t.Helper()
	var m member.Member
	if !testwait.Poll(30*time.Second, func() bool {
		m = b.get(t, id)
		return m.State == state
	}) {
		t.Fatalf("member %s is %s after 30s, want %s", id, m.State, state)
	}
	return m
}

// repairEntry returns the member's history event whose reason contains
// want, failing the test without one.
func (b *bundle) repairEntry(t testing.TB, id, want string) member.Event {
	t.Helper()
	h, err := b.env.Store.History(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h {
		if strings.Contains(e.Reason, want) {
			return e
		}
	}
	t.Fatalf("history of %s has no entry with %q: %+v", id, want, h)
	return member.Event{}
}

func wantRepairs(t testing.TB, s runlog.Summary, want map[string]int) {
	t.Helper()
	for k, n := range want {
		if s.Repairs[k] != n {
			t.Errorf("repairs[%s] = %d, want %d (all: %v, errors: %v)", k, s.Repairs[k], n, s.Repairs, s.Errors)
		}
	}
	if s.TotalRepairs() != sum(want) {
		t.Errorf("repairs %v, want only %v", s.Repairs, want)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func TestExpiredCodeWithoutItsExpiryTaskGetsANewCode(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{})
	b.env.StartOwners(b.env.Worker(0), harness.Correct)
	row := harness.Members(0, 1)[0]
	b.admit(t, row)
	// A code was sent and expired a minute ago; its expiry task is gone.
	b.move(t, row.AccountID, member.Pending, member.CodeSent, member.IncrSends(), member.SetExpiry(time.Now().Add(-time.Minute)))

	s := b.run(t, false)

	wantRepairs(t, s, map[string]int{runlog.RepairCodeExpired: 1})
	e := b.repairEntry(t, row.AccountID, "reconcile: code expired and its expiry task is gone")
	if e.From != member.CodeSent || e.To != member.Pending || !strings.Contains(e.Reason, "sending code 2 of 3") {
		t.Errorf("repair entry %+v, want code_sent→pending with a second code", e)
	}
	m := b.waitState(t, row.AccountID, member.Bound)
	if m.Sends != 2 {
		t.Errorf("sends = %d, want 2", m.Sends)
	}
}

func TestCodeHandedInWithoutBindTaskIsBound(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{})
	row := harness.Members(0, 1)[0]
	b.env.Enqueue("roster", []harness.Row{row}, ingest.Options{})
	b.waitState(t, row.AccountID, member.CodeSent)
	code, _ := b.env.Sandbox.LatestCode(row.AccountID)
	// The code was taken, but its bind task was lost (a failover).
	b.move(t, row.AccountID, member.CodeSent, member.CodeSubmitted, member.SetCode(code), member.IncrAttempts())

	s := b.run(t, false)

	wantRepairs(t, s, map[string]int{runlog.RepairBindRequeued: 1})
	if s.CloudCalls != 1 {
		t.Errorf("cloud calls = %d, want 1 (GetAccount before binding again)", s.CloudCalls)
	}
	b.waitState(t, row.AccountID, member.Bound)
	b.repairEntry(t, row.AccountID, "reconcile: bind task missing")
	if n := b.env.Sandbox.Stats().Binds[row.AccountID]; n != 1 {
		t.Errorf("sandbox bound the account %d times, want 1", n)
	}
}

func TestPendingWithoutSendTaskIsSentAgain(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{})
	b.env.StartOwners(b.env.Worker(0), harness.Correct)
	rows := harness.Members(0, 2)
	plain, sending := rows[0], rows[1]
	b.admit(t, rows...)
	// The second member's send left without an answer, then the task was lost.
	m := b.get(t, sending.AccountID)
	b.move(t, sending.AccountID, member.Pending, member.Pending, member.SetSending(m.Step()))

	s := b.run(t, false)

	wantRepairs(t, s, map[string]int{runlog.RepairSendRequeued: 2})
	if s.CloudCalls != 1 {
		t.Errorf("cloud calls = %d, want 1 (only the send in doubt is checked)", s.CloudCalls)
	}
	b.waitState(t, plain.AccountID, member.Bound)
	b.repairEntry(t, plain.AccountID, "reconcile: send task missing; send enqueued again")
	b.waitState(t, sending.AccountID, member.CodeSent)
	b.repairEntry(t, sending.AccountID, "no second SMS")
	if sms := b.env.Sandbox.SMS(sending.Phone); len(sms) != 0 {
		t.Errorf("member with a send in doubt got %d SMS, want none", len(sms))
	}
}

func TestArchivedTaskIsPutBackOnceThenFailed(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{Workers: -1})
	rows := harness.Members(0, 3)
	again, back, done := rows[0], rows[1], rows[2]
	b.admit(t, rows...)
	b.move(t, done.AccountID, member.Pending, member.Bound)
	for _, r := range rows {
		b.archiveSend(t, r.AccountID)
	}

	s := b.run(t, false)

	wantRepairs(t, s, map[string]int{runlog.RepairArchivedPutBack: 2})
	if s.ArchivedTasks != 3 {
		t.Errorf("archived tasks looked at = %d, want 3", s.ArchivedTasks)
	}
	b.repairEntry(t, again.AccountID, "put back (last error: none recorded")
	b.archiveSend(t, again.AccountID)

	s = b.run(t, false)

	wantRepairs(t, s, map[string]int{runlog.RepairArchivedFailed: 1})
	m := b.get(t, again.AccountID)
	if m.State != member.Failed || m.LastErrorCode != "TaskArchived" {
		t.Errorf("archived twice: %s %q, want failed TaskArchived", m.State, m.LastErrorCode)
	}
	b.repairEntry(t, again.AccountID, "archived again after it was put back")
	if info, err := b.insp.GetTaskInfo(tasks.QueueSend, sendID(b, t, done.AccountID)); err != nil || info.State != asynq.TaskStateArchived {
		t.Errorf("archived task of a bound member: %v %v, want left archived", info, err)
	}
	b.env.StartOwners(b.env.StartWorker(), harness.Correct)
	b.waitState(t, back.AccountID, member.Bound)
}

// archiveSend archives the member's send task (enqueued first unless it
// is there), as asynq does once its retries are used up.
func (b *bundle) archiveSend(t testing.TB, id string) {
	t.Helper()
	task, _ := tasks.NewSendCode(id, b.get(t, id).Step())
	if _, err := b.env.Client.Enqueue(task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		t.Fatalf("enqueue send of %s: %v", id, err)
	}
	if err := b.insp.ArchiveTask(tasks.QueueSend, sendID(b, t, id)); err != nil {
		t.Fatalf("archive send of %s: %v", id, err)
	}
}

func sendID(b *bundle, t testing.TB, id string) string {
	return tasks.SendTaskID(id, b.get(t, id).Step())
}

func TestPhoneBoundBehindTheWorkersBack(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{})
	rows := harness.Members(0, 2)
	console, inFlight := rows[0], rows[1]
	b.env.Enqueue("roster", rows, ingest.Options{})
	b.waitState(t, console.AccountID, member.CodeSent)
	b.waitState(t, inFlight.AccountID, member.CodeSent)
	b.env.Sandbox.BindDirect(console.AccountID, console.Phone)

	if s := b.run(t, false); s.TotalRepairs() != 0 || s.CloudCalls != 0 {
		t.Errorf("run without --verify-all: %v repairs, %d cloud calls; want none (nobody in doubt)", s.Repairs, s.CloudCalls)
	}
	s := b.run(t, true)

	wantRepairs(t, s, map[string]int{runlog.RepairAlreadyBound: 1})
	if s.CloudCalls != 2 {
		t.Errorf("verify-all cloud calls = %d, want 2", s.CloudCalls)
	}
	e := b.repairEntry(t, console.AccountID, "GetAccount reports a secure mobile phone bound outside this flow")
	if e.From != member.CodeSent || e.To != member.AlreadyBound {
		t.Errorf("repair entry %+v, want code_sent→already_bound", e)
	}
	if m := b.get(t, inFlight.AccountID); m.State != member.CodeSent {
		t.Errorf("member without a phone in the cloud is %s, want code_sent", m.State)
	}

	// A bind left without an answer, its task lost; the cloud has the phone.
	b.move(t, inFlight.AccountID, member.CodeSent, member.CodeSubmitted, member.SetCode("000000"),
		member.IncrAttempts(), member.SetInDoubt(true))
	b.env.Sandbox.BindDirect(inFlight.AccountID, inFlight.Phone)
	s = b.run(t, false)

	wantRepairs(t, s, map[string]int{runlog.RepairBound: 1})
	if m := b.get(t, inFlight.AccountID); m.State != member.Bound || m.Code != "" {
		t.Errorf("bind in doubt: %s (code kept: %t), want bound and the code forgotten", m.State, m.Code != "")
	}
}

func TestDriftIsFlaggedNotChanged(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{Workers: -1})
	rows := harness.Members(0, 2)
	b.admit(t, rows...)
	b.move(t, rows[0].AccountID, member.Pending, member.Bound)
	b.move(t, rows[1].AccountID, member.Pending, member.Bound)
	b.env.Sandbox.BindDirect(rows[1].AccountID, rows[1].Phone)
	before, _ := b.env.Store.History(b.ctx, rows[0].AccountID)

	s := b.run(t, true)

	if s.Drift.Count != 1 || len(s.Drift.AccountIDs) != 1 || s.Drift.AccountIDs[0] != rows[0].AccountID {
		t.Errorf("drift = %+v, want only %s", s.Drift, rows[0].AccountID)
	}
	wantRepairs(t, s, map[string]int{})
	after, _ := b.env.Store.History(b.ctx, rows[0].AccountID)
	if m := b.get(t, rows[0].AccountID); m.State != member.Bound || len(after) != len(before) {
		t.Errorf("drifted member changed: %s, history %d→%d entries", m.State, len(before), len(after))
	}
	later := b.run(t, false) // runs without --verify-all do not clear the drift
	if got := gauge(t, b.reg, "rdonboard_reconcile_drift_members"); got != 1 {
		t.Errorf("drift gauge = %v, want 1", got)
	}
	var out bytes.Buffer
	snap, err := status.Source{Store: b.env.Store, Insp: b.insp,
		Pause: pause.New(b.env.Redis, b.env.Store.Prefix(), tasks.CloudQueues), Runs: b.runs}.Snapshot(b.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := status.WriteTable(&out, snap); err != nil {
		t.Fatal(err)
	}
	if table := out.String(); !strings.Contains(table, "last reconciliation: "+later.Slot+" finished") ||
		!strings.Contains(table, "DRIFT") || !strings.Contains(table, rows[0].AccountID) {
		t.Errorf("status table lacks the run or the drift:\n%s", table)
	}
}

func gauge(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestCloudRefusalStopsOnlyTheCloudPart(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"Throttling.User", "Forbidden.RAM"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			b := setup(t, harness.Options{Workers: -1, Sandbox: sandbox.Options{Faults: sandbox.Faults{
				Errors: []sandbox.ErrorFault{{Action: sandbox.ActionGetAccount, Code: code}}}}})
			rows := harness.Members(0, 40)
			b.admit(t, rows...)
			for _, r := range rows {
				task, _ := tasks.NewSendCode(r.AccountID, b.get(t, r.AccountID).Step())
				if _, err := b.env.Client.Enqueue(task); err != nil {
					t.Fatal(err)
				}
			}

			s := b.run(t, true)

			if !strings.Contains(s.CloudStopped, code) {
				t.Errorf("cloud_stopped = %q, want it to name %s", s.CloudStopped, code)
			}
			if s.CloudCalls == 0 || s.CloudCalls > reconcile.DefaultConcurrency {
				t.Errorf("cloud calls = %d, want the run to stop after the first answers", s.CloudCalls)
			}
			if c := b.env.Counts(); c[member.Pending] != 40 || s.MembersScanned != 40 {
				t.Errorf("counts %v, scanned %d; want 40 pending members scanned and left alone", c, s.MembersScanned)
			}
		})
	}
}

// TestSendsOnSendNextAreKnown: a send on send_next (a phone's turn handed
// on, a new code) counts as the member's task, and an archived one is put
// back on send_next.
func TestSendsOnSendNextAreKnown(t *testing.T) {
	t.Parallel()
	b := setup(t, harness.Options{Workers: -1})
	rows := harness.Members(0, 2)
	queued, archived := rows[0], rows[1]
	b.admit(t, rows...)
	for _, r := range rows {
		task, _ := tasks.NewHandOnSend(r.AccountID, b.get(t, r.AccountID).Step(), time.Now().Add(time.Hour), time.Now())
		if _, err := b.env.Client.Enqueue(task); err != nil {
			t.Fatalf("enqueue hand-on send of %s: %v", r.AccountID, err)
		}
	}
	if err := b.insp.ArchiveTask(tasks.QueueSendNext, sendID(b, t, archived.AccountID)); err != nil {
		t.Fatal(err)
	}

	s := b.run(t, false)

	wantRepairs(t, s, map[string]int{runlog.RepairArchivedPutBack: 1})
	b.repairEntry(t, archived.AccountID, "put back")
	for _, r := range rows {
		if info, err := b.insp.GetTaskInfo(tasks.QueueSendNext, sendID(b, t, r.AccountID)); err != nil || info.State == asynq.TaskStateArchived {
			t.Errorf("send of %s on %s: %v %v, want there and not archived", r.AccountID, tasks.QueueSendNext, info, err)
		}
		if _, err := b.insp.GetTaskInfo(tasks.QueueSend, sendID(b, t, r.AccountID)); !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
			t.Errorf("send of %s also on %s (%v); want it on %s alone", r.AccountID, tasks.QueueSend, err, tasks.QueueSendNext)
		}
	}
	if h, _ := b.env.Store.History(b.ctx, queued.AccountID); len(h) != 1 {
		t.Errorf("history of the member with its send on %s: %+v; want its admission alone (no repair)", tasks.QueueSendNext, h)
	}
}
