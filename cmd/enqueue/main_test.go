package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/buildtest"
	"github.com/rdonboard/rdonboard/internal/cli/clitest"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/tasks"
)

func TestMain(m *testing.M) { clitest.Main(m) }

// run runs the enqueue binary with REDIS_URL=url.
func run(t *testing.T, url string, args ...string) buildtest.Result {
	t.Helper()
	return clitest.Run(t, "enqueue", url, nil, args...)
}

func writeCSV(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "roster.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const sampleRoster = "\ufeffAccountId,Phone,note\r\n" +
	"1000000000000001,+86 139 0000 0001,ok\r\n" +
	"1000000000000002,13900000002,ok\r\n" +
	"\r\n" +
	"12ab,13900000003,bad id\r\n" +
	"1000000000000004,+1 415 555 0100,foreign\r\n" +
	"1000000000000001,13900000009,duplicate\r\n" +
	"1000000000000006,86-13900000006,ok\r\n"

func queueSize(t *testing.T, url, queue string) int {
	t.Helper()
	opt, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(queue)
	if err != nil {
		return 0
	}
	return info.Size
}

func store(t *testing.T, url string) *member.Store {
	t.Helper()
	opt, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	return member.New(rdb, member.Options{})
}

func TestMembersEnqueuesValidRowsAndReportsTheRest(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	path := writeCSV(t, sampleRoster)

	r := run(t, url, "members", path, "--batch", "roster")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1 (rows rejected); stderr:\n%s", r.Code, r.Stderr)
	}
	if want := "6 rows: 3 accepted (0 restarted), 0 unchanged, 3 rejected\n"; !strings.HasPrefix(r.Stdout, want) {
		t.Errorf("stdout = %q, want it to start with %q", r.Stdout, want)
	}
	rejects, err := os.ReadFile(strings.TrimSuffix(path, ".csv") + ".rejects.csv")
	if err != nil {
		t.Fatalf("rejects file: %v", err)
	}
	want := "line,account_id,mobile_phone,reason\n" +
		"5,12ab,86-139****0003,\"account_id \"\"12ab\"\" must contain digits only\"\n" +
		"6,1000000000000004,***********0100,mobile_phone: only mainland China numbers (+86) are accepted\n" +
		"7,1000000000000001,86-139****0009,duplicate account_id: first seen on line 2\n"
	if string(rejects) != want {
		t.Errorf("rejects file:\n%s\nwant:\n%s", rejects, want)
	}
	for _, line := range []string{"line 5: rejected", "line 6: rejected", "line 7: rejected"} {
		if !strings.Contains(r.Stderr, line) {
			t.Errorf("stderr lacks %q:\n%s", line, r.Stderr)
		}
	}
	if strings.Contains(r.Stderr+string(rejects), "13900000009") {
		t.Error("a full phone number reached a report")
	}
	s := store(t, url)
	m, err := s.Get(context.Background(), "1000000000000001")
	if err != nil || m.State != member.Pending || m.Phone != "86-13900000001" || m.Batch != "roster" {
		t.Errorf("member 1 = %+v, %v; want pending 86-13900000001 in roster", m, err)
	}
	if n := queueSize(t, url, tasks.QueueSend); n != 3 {
		t.Errorf("send queue holds %d tasks, want 3", n)
	}
}

func TestMembersSecondRunEnqueuesNothing(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	path := writeCSV(t, sampleRoster)
	run(t, url, "members", path)
	r := run(t, url, "members", path, "--format", "json")
	if !strings.Contains(r.Stdout, `"accepted":0`) || !strings.Contains(r.Stdout, `"unchanged":3`) {
		t.Errorf("second run summary = %s, want 0 accepted, 3 unchanged", r.Stdout)
	}
	if n := queueSize(t, url, tasks.QueueSend); n != 3 {
		t.Errorf("send queue holds %d tasks after two runs, want 3", n)
	}
}

func TestMembersDryRunTouchesNothing(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	path := writeCSV(t, sampleRoster)
	r := run(t, url, "members", path, "--dry-run")
	if r.Code != 1 || !strings.Contains(r.Stdout, "3 would be accepted") {
		t.Errorf("dry run: exit %d, stdout %q", r.Code, r.Stdout)
	}
	opt, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if n, _ := rdb.DBSize(context.Background()).Result(); n != 0 {
		t.Errorf("dry run wrote %d keys", n)
	}
	if _, err := os.Stat(strings.TrimSuffix(path, ".csv") + ".rejects.csv"); err == nil {
		t.Error("dry run wrote a rejects file")
	}
}

func TestMembersRedisDownExits2AndWritesNothing(t *testing.T) {
	t.Parallel()
	addr := redistest.DownAddr(t)
	path := writeCSV(t, sampleRoster)
	r := run(t, "redis://:s3cret@"+addr+"/0", "members", path)
	if r.Code != 2 {
		t.Fatalf("exit %d, want 2", r.Code)
	}
	if !strings.Contains(r.Stderr, addr) || !strings.Contains(r.Stderr, "does not answer") || strings.Contains(r.Stderr, "s3cret") {
		t.Errorf("stderr should name %s, say Redis does not answer, and hide the password:\n%s", addr, r.Stderr)
	}
	if _, err := os.Stat(strings.TrimSuffix(path, ".csv") + ".rejects.csv"); err == nil {
		t.Error("a rejects file was written although nothing was enqueued")
	}
}

func TestMembersUnusableFileExits2(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	for name, content := range map[string]string{
		"missing column": "account_id,name\n1000000000000001,x\n",
		"empty file":     "",
	} {
		r := run(t, url, "members", writeCSV(t, content))
		if r.Code != 2 {
			t.Errorf("%s: exit %d, want 2", name, r.Code)
		}
		if name == "missing column" && !strings.Contains(r.Stderr, "mobile_phone") {
			t.Errorf("%s: stderr does not name the column:\n%s", name, r.Stderr)
		}
	}
	if r := run(t, url, "members", filepath.Join(t.TempDir(), "nope.csv")); r.Code != 2 {
		t.Errorf("missing file: exit %d, want 2", r.Code)
	}
	if r := run(t, url, "members"); r.Code != 2 {
		t.Errorf("no file argument: exit %d, want 2", r.Code)
	}
}

func TestMembersRetryFailedAndChangedPhones(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	run(t, url, "members", writeCSV(t, "account_id,mobile_phone\n1000000000000001,13900000001\n1000000000000002,13900000002\n"))
	s := store(t, url)
	ctx := context.Background()
	for id, to := range map[string]member.State{"1000000000000001": member.Failed, "1000000000000002": member.Bound} {
		if _, err := s.Transition(ctx, id, member.Move{From: []member.State{member.Pending}, To: to, Reason: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	path := writeCSV(t, "account_id,mobile_phone\n1000000000000001,13900000001\n1000000000000002,13900000099\n")
	r := run(t, url, "members", path, "--retry-failed")
	if r.Code != 1 || !strings.Contains(r.Stdout, "1 accepted (1 restarted)") {
		t.Errorf("exit %d, stdout %q; want 1 restarted and the bound member's new phone rejected", r.Code, r.Stdout)
	}
	rejects, _ := os.ReadFile(strings.TrimSuffix(path, ".csv") + ".rejects.csv")
	if !strings.Contains(string(rejects), "3,1000000000000002,86-139****0099,mobile_phone differs from the phone already bound") {
		t.Errorf("rejects file:\n%s", rejects)
	}
	if m, _ := s.Get(ctx, "1000000000000001"); m.State != member.Pending || m.Generation != 2 {
		t.Errorf("retried member: %s generation %d, want pending generation 2", m.State, m.Generation)
	}
}

func TestCodeCommand(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	run(t, url, "members", writeCSV(t, "account_id,mobile_phone\n1000000000000001,13900000001\n"))
	if r := run(t, url, "code", "1000000000000001", "12345"); r.Code != 2 || !strings.Contains(r.Stderr, "6 digits") {
		t.Errorf("5-digit code: exit %d, stderr %q; want 2 naming the 6-digit rule", r.Code, r.Stderr)
	}
	if r := run(t, url, "code", "1000000000000009", "123456"); r.Code != 1 || !strings.Contains(r.Stderr, "not found") {
		t.Errorf("unknown member: exit %d, stderr %q; want 1", r.Code, r.Stderr)
	}
	if r := run(t, url, "code", "1000000000000001", "123456"); r.Code != 1 || !strings.Contains(r.Stderr, "not waiting") {
		t.Errorf("member still pending: exit %d, stderr %q; want 1 (not waiting)", r.Code, r.Stderr)
	}
	s := store(t, url)
	if _, err := s.Transition(context.Background(), "1000000000000001", member.Move{From: []member.State{member.Pending}, To: member.CodeSent, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	r := run(t, url, "code", "1000000000000001", "123456")
	if r.Code != 0 || queueSize(t, url, tasks.QueueCallback) != 1 {
		t.Errorf("waiting member: exit %d (stderr %q), callback queue %d; want 0 and 1", r.Code, r.Stderr, queueSize(t, url, tasks.QueueCallback))
	}
	if strings.Contains(r.Stdout+r.Stderr, "123456") {
		t.Error("the code was echoed")
	}
}

func TestResumeCommand(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	if r := run(t, url, "resume"); r.Code != 0 || !strings.Contains(r.Stdout, "not paused") {
		t.Errorf("resume without a pause: exit %d, stdout %q", r.Code, r.Stdout)
	}
	opt, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctl := pause.New(rdb, member.DefaultPrefix, tasks.CloudQueues)
	if _, err := ctl.Pause(context.Background(), pause.Reason{Action: "BindSecureMobilePhone", Code: "Forbidden.RAM"}); err != nil {
		t.Fatal(err)
	}
	r := run(t, url, "resume")
	if r.Code != 0 || !strings.Contains(r.Stdout, "Forbidden.RAM") {
		t.Errorf("resume: exit %d, stdout %q", r.Code, r.Stdout)
	}
	for _, q := range tasks.CloudQueues {
		if info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(q); err == nil && info.Paused {
			t.Errorf("queue %s still paused", q)
		}
	}
	if cur, _ := ctl.Current(context.Background()); cur != nil {
		t.Errorf("pause still recorded: %+v", cur)
	}
}

func TestReconcileCommandRunsAPassAndPrintsItsSummary(t *testing.T) {
	t.Parallel()
	env := harness.Start(t, harness.Options{})
	env.Enqueue("r", harness.Members(0, 3), ingest.Options{})
	r := run(t, env.RedisURL, "reconcile", "--format", "json", "--timeout", "60s")
	if r.Code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.Code, r.Stderr)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, r.Stdout)
	}
	if sum["members_scanned"] == nil || sum["finished_at"] == nil {
		t.Errorf("summary lacks members_scanned or finished_at: %s", r.Stdout)
	}
}

func TestReconcileCommandWithoutWorkerTimesOut(t *testing.T) {
	t.Parallel()
	r := run(t, redistest.URL(t), "reconcile", "--timeout", "1s")
	if r.Code != 2 {
		t.Errorf("no worker to run it: exit %d, want 2; stderr %q", r.Code, r.Stderr)
	}
}
