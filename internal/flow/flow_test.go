package flow_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/flow"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// TestEveryMemberEndsAsPredicted runs a few hundred members through two
// worker processes: bound, already bound (no SMS), CloudAccount and unknown
// accounts failed (no SMS), nobody bound twice.
func TestEveryMemberEndsAsPredicted(t *testing.T) {
	t.Parallel()
	rows := harness.Members(0, 300)
	faults := sandbox.Faults{Accounts: map[string]sandbox.AccountFault{}}
	for i := 0; i < 25; i++ {
		switch {
		case i < 10:
			faults.Accounts[rows[i].AccountID] = sandbox.AccountFault{HasPhone: true}
		case i < 20:
			faults.Accounts[rows[i].AccountID] = sandbox.AccountFault{Type: sandbox.TypeCloudAccount}
		default:
			faults.Accounts[rows[i].AccountID] = sandbox.AccountFault{Missing: true}
		}
	}
	env := harness.Start(t, harness.Options{Workers: 2, Sandbox: sandbox.Options{Faults: faults}})
	env.StartOwners(env.Worker(1), harness.Correct)

	if sum := env.Enqueue("roster", rows, ingest.Options{}); sum.Accepted != 300 {
		t.Fatalf("accepted %d, want 300", sum.Accepted)
	}
	got := env.WaitTerminal(300, 90*time.Second)

	want := map[member.State]int64{member.Bound: 275, member.AlreadyBound: 10, member.Failed: 15}
	for st, n := range want {
		if got[st] != n {
			t.Errorf("%s: %d members, want %d (all counts %v)", st, got[st], n, got)
		}
	}
	stats := env.Sandbox.Stats()
	if len(stats.Binds) != 275 {
		t.Errorf("sandbox bound %d accounts, want 275", len(stats.Binds))
	}
	for id, n := range stats.Binds {
		if n != 1 {
			t.Errorf("account %s bound %d times", id, n)
		}
	}
	smsPer := map[string]int{}
	for _, s := range env.Sandbox.SMS("") {
		smsPer[s.AccountID]++
	}
	for i, r := range rows {
		switch {
		case i < 25 && smsPer[r.AccountID] != 0:
			t.Errorf("member %d (%s) got %d SMS, want none", i, r.AccountID, smsPer[r.AccountID])
		case i >= 25 && smsPer[r.AccountID] != 1:
			t.Errorf("member %d got %d SMS, want 1", i, smsPer[r.AccountID])
		}
	}
	assertMember(t, env, rows[12].AccountID, member.Failed, "AccountTypeMismatch")
	assertMember(t, env, rows[22].AccountID, member.Failed, "EntityNotExists.Account")
	assertMember(t, env, rows[3].AccountID, member.AlreadyBound, "")
}

func assertMember(t *testing.T, env *harness.Env, id string, state member.State, code string) member.Member {
	t.Helper()
	m, err := env.Store.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	if m.State != state || m.LastErrorCode != code {
		t.Errorf("member %s: state %s, last_error_code %q; want %s, %q", id, m.State, m.LastErrorCode, state, code)
	}
	return m
}

// TestCloudErrorTable drives each row of the README's error table through the
// sandbox and checks the member's outcome.
func TestCloudErrorTable(t *testing.T) {
	t.Parallel()
	send, bind := cloud.ActionSendCode, cloud.ActionBind
	cases := []struct {
		name  string
		fault sandbox.AccountFault
		state member.State
		code  string
	}{
		{"bind AccountSecureMobileAlreadyExists is already_bound", errFault(bind, "AccountSecureMobileAlreadyExists", 409), member.AlreadyBound, ""},
		{"send AccountTypeMismatch fails", errFault(send, "AccountTypeMismatch", 409), member.Failed, "AccountTypeMismatch"},
		{"send EntityNotExists.Account fails", errFault(send, "EntityNotExists.Account", 404), member.Failed, "EntityNotExists.Account"},
		{"send NotSupport.AccountInAnotherResourceDirectory fails", errFault(send, "NotSupport.AccountInAnotherResourceDirectory", 409), member.Failed, "NotSupport.AccountInAnotherResourceDirectory"},
		{"send InvalidParameter.MobileCountryCode fails", errFault(send, "InvalidParameter.MobileCountryCode", 409), member.Failed, "InvalidParameter.MobileCountryCode"},
		{"bind other 4xx fails", errFault(bind, "IllegalOperation.Unexpected", 400), member.Failed, "IllegalOperation.Unexpected"},
		{"two 503s then success", sandbox.AccountFault{Transient: 2}, member.Bound, ""},
		{"bind InternalError once then success", sandbox.AccountFault{Errors: []sandbox.ErrorFault{{Action: bind, Code: "InternalError", Status: 500, Times: 1}}}, member.Bound, ""},
		{"send throttled twice then success", sandbox.AccountFault{Errors: []sandbox.ErrorFault{{Action: send, Code: "Throttling.User", Status: 400, Times: 2}}}, member.Bound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			row := harness.Members(0, 1)[0]
			env := harness.Start(t, harness.Options{Sandbox: sandbox.Options{
				Faults: sandbox.Faults{Accounts: map[string]sandbox.AccountFault{row.AccountID: tc.fault}}}})
			env.StartOwners(env.Worker(0), harness.Correct)
			env.Enqueue("errors", []harness.Row{row}, ingest.Options{})
			env.WaitTerminal(1, 30*time.Second)
			m := assertMember(t, env, row.AccountID, tc.state, tc.code)
			if m.Sends > 1 {
				t.Errorf("sends = %d, want at most 1", m.Sends)
			}
		})
	}
}

func errFault(action, code string, status int) sandbox.AccountFault {
	return sandbox.AccountFault{Errors: []sandbox.ErrorFault{{Action: action, Code: code, Status: status}}}
}

func TestThrottlingIsNeitherAttemptNorFailure(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Workers: 2, Sandbox: sandbox.Options{Faults: sandbox.Faults{ThrottleRate: 0.3}}})
	env.StartOwners(env.Worker(0), harness.Correct)
	env.Enqueue("throttled", harness.Members(0, 40), ingest.Options{})
	got := env.WaitTerminal(40, 90*time.Second)
	if got[member.Bound] != 40 {
		t.Errorf("counts %v, want 40 bound", got)
	}
	throttled := 0
	for _, byCode := range env.Sandbox.Stats().Calls {
		throttled += byCode["Throttling.User"]
	}
	if throttled == 0 {
		t.Fatal("the sandbox throttled nothing: the test proves nothing")
	}
	retried := 0
	for _, q := range []string{tasks.QueueSend, tasks.QueueBind} {
		archived, _ := asynq.NewInspectorFromRedisClient(env.Redis).ListArchivedTasks(q)
		retried += len(archived)
	}
	if retried != 0 {
		t.Errorf("%d tasks archived after %d throttles, want none", retried, throttled)
	}
}

func TestTransientFailureAfterRetryBudgetFails(t *testing.T) {
	t.Parallel()
	row := harness.Members(0, 1)[0]
	env := harness.Start(t, harness.Options{Sandbox: sandbox.Options{
		Faults: sandbox.Faults{Accounts: map[string]sandbox.AccountFault{row.AccountID: {Transient: 1000}}}}})
	ctx := context.Background()
	adm, err := env.Store.Admit(ctx, []member.Candidate{{AccountID: row.AccountID, Phone: row.Phone, Batch: "b"}}, member.AdmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	task, _ := tasks.NewSendCode(row.AccountID, adm[0].Step, asynq.MaxRetry(1))
	if _, err := env.Client.Enqueue(task); err != nil {
		t.Fatal(err)
	}
	env.WaitTerminal(1, 30*time.Second)
	assertMember(t, env, row.AccountID, member.Failed, "ServiceUnavailable")
}

func TestDailyLimitDefersUntilReset(t *testing.T) {
	t.Parallel()
	row := harness.Members(0, 1)[0]
	env := harness.Start(t, harness.Options{Sandbox: sandbox.Options{Faults: sandbox.Faults{Accounts: map[string]sandbox.AccountFault{
		row.AccountID: errFault(cloud.ActionSendCode, "SendValidateCodeExceedsLimitForAccount", 409)}}}})
	env.Enqueue("limited", []harness.Row{row}, ingest.Options{})
	insp := asynq.NewInspectorFromRedisClient(env.Redis)
	var retry []*asynq.TaskInfo
	testwait.Poll(20*time.Second, func() bool {
		retry, _ = insp.ListRetryTasks(tasks.QueueSend)
		return len(retry) > 0
	})
	if len(retry) != 1 {
		t.Fatalf("send task not waiting for retry (retry tasks %d)", len(retry))
	}
	reset := cloud.NextDailyReset(time.Now())
	if retry[0].NextProcessAt.Before(reset) {
		t.Errorf("deferred to %s, before the daily reset %s", retry[0].NextProcessAt, reset)
	}
	if retry[0].Retried != 0 {
		t.Errorf("deferral used %d retries, want 0", retry[0].Retried)
	}
	assertMember(t, env, row.AccountID, member.Pending, "")
}

// TestCallerWideErrorPausesUntilResumed: a caller-wide error pauses the
// cloud queues once, keeps every member's state, and `enqueue resume`
// (pause.Resume) lets the batch complete once the cause is fixed.
func TestCallerWideErrorPausesUntilResumed(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Sandbox: sandbox.Options{Faults: sandbox.Faults{
		Errors: []sandbox.ErrorFault{{Action: cloud.ActionBind, Code: "CallerIdentityError", Status: 409}}}}})
	env.StartOwners(env.Worker(0), harness.Correct)
	env.Enqueue("paused", harness.Members(0, 20), ingest.Options{})

	ctl := pause.New(env.Redis, env.Store.Prefix(), tasks.CloudQueues)
	var reason *pause.Reason
	testwait.Until(t, 20*time.Second, "the pause recorded", func() bool {
		reason, _ = ctl.Current(context.Background())
		return reason != nil
	})
	if reason.Code != "CallerIdentityError" || reason.Remedy == "" {
		t.Fatalf("pause = %+v; want CallerIdentityError with a remedy", reason)
	}
	// The pause is recorded first, then each queue paused.
	insp := asynq.NewInspectorFromRedisClient(env.Redis)
	var notPaused []string
	testwait.Poll(5*time.Second, func() bool {
		notPaused = nil
		for _, q := range tasks.CloudQueues {
			info, err := insp.GetQueueInfo(q)
			if err != nil && strings.Contains(err.Error(), "does not exist") {
				// Nothing was enqueued to it yet: the pause must still
				// hold back what comes later.
				if n, _ := env.Redis.Exists(context.Background(), "asynq:{"+q+"}:paused").Result(); n != 1 {
					notPaused = append(notPaused, q+" (empty)")
				}
				continue
			}
			if err != nil || !info.Paused {
				notPaused = append(notPaused, fmt.Sprintf("%s (%v)", q, err))
			}
		}
		return len(notPaused) == 0
	})
	if len(notPaused) > 0 {
		t.Errorf("queues not paused: %v", notPaused)
	}
	// While paused nobody is bound, failed or expired, and a member waiting
	// for its bind keeps waiting (a send in flight at the pause may still
	// land, so pending members may move to code_sent).
	// Once no task is active in a paused queue, nothing more can move.
	testwait.Until(t, 10*time.Second, "the tasks in flight at the pause done", func() bool {
		for _, q := range tasks.CloudQueues {
			if info, err := insp.GetQueueInfo(q); err == nil && info.Active > 0 {
				return false
			}
		}
		return true
	})
	waiting := membersIn(t, env, member.CodeSubmitted)
	c := env.Counts()
	if c[member.Bound]+c[member.Failed]+c[member.Expired]+c[member.AlreadyBound] != 0 {
		t.Errorf("members ended while paused: %v", c)
	}
	for _, id := range waiting {
		if m, _ := env.Store.Get(context.Background(), id); m.State != member.CodeSubmitted {
			t.Errorf("member %s moved from code_submitted to %s while paused", id, m.State)
		}
	}
	if n := countLines(env.Logs(), "PAUSED"); n != 1 {
		t.Errorf("operator told %d times, want once", n)
	}

	env.Sandbox.SetFaults(sandbox.Faults{})
	if _, err := ctl.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := env.WaitTerminal(20, 30*time.Second); got[member.Bound] != 20 {
		t.Errorf("after resume: %v, want 20 bound", got)
	}
}

func membersIn(t *testing.T, env *harness.Env, st member.State) []string {
	t.Helper()
	var ids []string
	err := env.Store.Scan(context.Background(), member.Filter{State: st}, func(ms []member.Member) error {
		for _, m := range ms {
			ids = append(ids, m.AccountID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func countLines(logs, substr string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

// TestWrongCodeThenRightCode: a wrong code sends the member back to wait,
// the right one binds it.
func TestWrongCodeThenRightCode(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{})
	row := harness.Members(0, 1)[0]
	env.Enqueue("typo", []harness.Row{row}, ingest.Options{})
	sms := waitSMS(t, env, row.Phone, 1)
	handIn(t, env, row.AccountID, wrong(sms.Code), "wrong code")
	m := waitMember(t, env, row.AccountID, func(m member.Member) bool {
		return m.State == member.CodeSent && m.LastErrorCode == "Invalid.VerificationCode"
	})
	if m.CodeAttempts != 1 {
		t.Errorf("code_attempts = %d, want 1", m.CodeAttempts)
	}
	handIn(t, env, row.AccountID, sms.Code, "right code")
	m = waitBound(t, env, row.AccountID)
	if m.Sends != 1 || m.CodeAttempts != 2 {
		t.Errorf("sends=%d code_attempts=%d, want 1 and 2", m.Sends, m.CodeAttempts)
	}
}

// TestTooManyWrongCodesSendsANewCode: after MAX_CODE_ATTEMPTS wrong codes a
// new code is sent, and the intake refuses more codes for the old one.
func TestTooManyWrongCodesSendsANewCode(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Configure: func(c *config.Config) { c.MaxCodeAttempts = 2 }})
	row := harness.Members(0, 1)[0]
	env.Enqueue("typos", []harness.Row{row}, ingest.Options{})
	first := waitSMS(t, env, row.Phone, 1)
	handIn(t, env, row.AccountID, wrong(first.Code), "first wrong code")
	waitMember(t, env, row.AccountID, func(m member.Member) bool { return m.State == member.CodeSent && m.CodeAttempts == 1 })
	handIn(t, env, row.AccountID, wrong(first.Code), "second wrong code")
	waitMember(t, env, row.AccountID, func(m member.Member) bool { return m.State == member.CodeSent && m.Sends == 2 })
	if st := env.PostCode(env.Worker(0), row.AccountID, first.Code); st != 409 && st != 202 {
		t.Errorf("code of the first SMS after the second was sent: HTTP %d", st)
	}
	second := waitSMS(t, env, row.Phone, 2)
	handIn(t, env, row.AccountID, second.Code, "code of the second SMS")
	m := waitBound(t, env, row.AccountID)
	if m.Sends != 2 {
		t.Errorf("sends = %d, want 2", m.Sends)
	}
}

// TestIntakeRefusesCodesBeyondAttempts: someone guessing codes gets 429
// once the attempts for the SMS are used.
func TestIntakeRefusesCodesBeyondAttempts(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{Configure: func(c *config.Config) { c.MaxCodeAttempts = 3 }})
	row := harness.Members(0, 1)[0]
	env.Enqueue("guess", []harness.Row{row}, ingest.Options{})
	sms := waitSMS(t, env, row.Phone, 1)
	var statuses []int
	sent, _ := strconv.Atoi(sms.Code)
	for i := 1; i <= 5; i++ {
		guess := fmt.Sprintf("%06d", (sent+i)%1000000) // each a different wrong code
		statuses = append(statuses, env.PostCode(env.Worker(0), row.AccountID, guess))
	}
	if fmt.Sprint(statuses) != "[202 202 202 429 429]" {
		t.Errorf("statuses of 5 quick guesses = %v, want [202 202 202 429 429]", statuses)
	}
}

// TestNoCodeUntilExpiryResendsThenExpires: a member whose owner never
// answers gets MAX_SENDS codes, one per expiry, then is expired.
func TestNoCodeUntilExpiryResendsThenExpires(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{
		Sandbox:   sandbox.Options{CodeTTL: time.Second},
		Configure: func(c *config.Config) { c.MaxSends = 2 },
	})
	row := harness.Members(0, 1)[0]
	env.Enqueue("silent", []harness.Row{row}, ingest.Options{})
	env.WaitTerminal(1, 30*time.Second)
	m := assertMember(t, env, row.AccountID, member.Expired, "")
	if m.Sends != 2 || len(env.Sandbox.SMS(row.Phone)) != 2 {
		t.Errorf("sends=%d SMS=%d, want 2 and 2", m.Sends, len(env.Sandbox.SMS(row.Phone)))
	}
	h, _ := env.Store.History(context.Background(), row.AccountID)
	var path []string
	for _, e := range h {
		path = append(path, string(e.To))
	}
	if fmt.Sprint(path) != "[pending code_sent pending code_sent expired]" {
		t.Errorf("history %v", path)
	}
}

// TestSharedRateKeepsUnderQuota: with the sandbox quota equal to the
// configured rate, two workers together cause no quota rejection.
func TestSharedRateKeepsUnderQuota(t *testing.T) {
	t.Parallel()
	const qps = 20
	env := harness.Start(t, harness.Options{
		Workers: 2,
		Sandbox: sandbox.Options{SendQPS: qps, BindQPS: qps, GetQPS: qps},
		Configure: func(c *config.Config) {
			c.SendQPS, c.BindQPS, c.GetQPS = qps, qps, qps
		},
	})
	env.StartOwners(env.Worker(1), harness.Correct)
	env.Enqueue("quota", harness.Members(0, 100), ingest.Options{})
	got := env.WaitTerminal(100, 60*time.Second)
	if got[member.Bound] != 100 {
		t.Errorf("counts %v, want 100 bound", got)
	}
	for action, n := range env.Sandbox.Stats().QuotaRejections {
		if n != 0 {
			t.Errorf("%s: %d quota rejections, want 0", action, n)
		}
	}
}

func waitSMS(t *testing.T, env *harness.Env, phone string, n int) sandbox.SMS {
	t.Helper()
	var all []sandbox.SMS
	testwait.Until(t, 20*time.Second, fmt.Sprintf("SMS %d to %s", n, phone), func() bool {
		all = env.Sandbox.SMS(phone)
		return len(all) >= n
	})
	return all[n-1]
}

func waitMember(t *testing.T, env *harness.Env, id string, cond func(member.Member) bool) member.Member {
	t.Helper()
	var m member.Member
	var err error
	if !testwait.Poll(20*time.Second, func() bool {
		m, err = env.Store.Get(context.Background(), id)
		return err == nil && cond(m)
	}) {
		t.Fatalf("member %s never reached the expected state; last %+v (%v)", id, m.View(false), err)
	}
	return m
}

// wrong returns a code that is not c.
// handIn posts code for member id on the worker's intake, failing the test
// unless it is accepted (202); what names the code in the failure.
func handIn(t *testing.T, env *harness.Env, id, code, what string) {
	t.Helper()
	if st := env.PostCode(env.Worker(0), id, code); st != 202 {
		t.Fatalf("%s: HTTP %d, want 202", what, st)
	}
}

// waitBound waits until the only member of env ends and checks it is
// bound with no error.
func waitBound(t *testing.T, env *harness.Env, id string) member.Member {
	t.Helper()
	env.WaitTerminal(1, 20*time.Second)
	return assertMember(t, env, id, member.Bound, "")
}

// sendFirst admits row alone to batch and runs its first send in this
// process, returning the code the sandbox texted.
func sendFirst(t *testing.T, env *harness.Env, f *flow.Flow, batch string, row harness.Row) string {
	t.Helper()
	env.Enqueue(batch, []harness.Row{row}, ingest.Options{})
	send, _ := tasks.NewSendCode(row.AccountID, tasks.Step{Generation: 1})
	if err := f.HandleSend(context.Background(), send); err != nil {
		t.Fatal(err)
	}
	return env.Sandbox.SMS(row.Phone)[0].Code
}

func wrong(c string) string {
	if c == "000000" {
		return "000001"
	}
	return "000000"
}
