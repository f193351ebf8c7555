package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/tasks"
)

// bin is the enqueue binary built for these tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "enqueue-bin-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "enqueue")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build enqueue: %v\n%s", err, out)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	redistest.Main(m)
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs the binary with REDIS_URL=url.
func run(t *testing.T, url string, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "REDIS_URL="+url, "ONBOARD_LOG_FORMAT=json")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
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
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (rows rejected); stderr:\n%s", r.code, r.stderr)
	}
	if want := "6 rows: 3 accepted (0 restarted), 0 unchanged, 3 rejected\n"; !strings.HasPrefix(r.stdout, want) {
		t.Errorf("stdout = %q, want it to start with %q", r.stdout, want)
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
		if !strings.Contains(r.stderr, line) {
			t.Errorf("stderr lacks %q:\n%s", line, r.stderr)
		}
	}
	if strings.Contains(r.stderr+string(rejects), "13900000009") {
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
	if !strings.Contains(r.stdout, `"accepted":0`) || !strings.Contains(r.stdout, `"unchanged":3`) {
		t.Errorf("second run summary = %s, want 0 accepted, 3 unchanged", r.stdout)
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
	if r.code != 1 || !strings.Contains(r.stdout, "3 would be accepted") {
		t.Errorf("dry run: exit %d, stdout %q", r.code, r.stdout)
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	path := writeCSV(t, sampleRoster)
	r := run(t, "redis://:s3cret@"+addr+"/0", "members", path)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2", r.code)
	}
	if !strings.Contains(r.stderr, addr) || !strings.Contains(r.stderr, "does not answer") || strings.Contains(r.stderr, "s3cret") {
		t.Errorf("stderr should name %s, say Redis does not answer, and hide the password:\n%s", addr, r.stderr)
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
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2", name, r.code)
		}
		if name == "missing column" && !strings.Contains(r.stderr, "mobile_phone") {
			t.Errorf("%s: stderr does not name the column:\n%s", name, r.stderr)
		}
	}
	if r := run(t, url, "members", filepath.Join(t.TempDir(), "nope.csv")); r.code != 2 {
		t.Errorf("missing file: exit %d, want 2", r.code)
	}
	if r := run(t, url, "members"); r.code != 2 {
		t.Errorf("no file argument: exit %d, want 2", r.code)
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
	if r.code != 1 || !strings.Contains(r.stdout, "1 accepted (1 restarted)") {
		t.Errorf("exit %d, stdout %q; want 1 restarted and the bound member's new phone rejected", r.code, r.stdout)
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
	if r := run(t, url, "code", "1000000000000001", "12345"); r.code != 2 || !strings.Contains(r.stderr, "6 digits") {
		t.Errorf("5-digit code: exit %d, stderr %q; want 2 naming the 6-digit rule", r.code, r.stderr)
	}
	if r := run(t, url, "code", "1000000000000009", "123456"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("unknown member: exit %d, stderr %q; want 1", r.code, r.stderr)
	}
	if r := run(t, url, "code", "1000000000000001", "123456"); r.code != 1 || !strings.Contains(r.stderr, "not waiting") {
		t.Errorf("member still pending: exit %d, stderr %q; want 1 (not waiting)", r.code, r.stderr)
	}
	s := store(t, url)
	if _, err := s.Transition(context.Background(), "1000000000000001", member.Move{From: []member.State{member.Pending}, To: member.CodeSent, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	r := run(t, url, "code", "1000000000000001", "123456")
	if r.code != 0 || queueSize(t, url, tasks.QueueCallback) != 1 {
		t.Errorf("waiting member: exit %d (stderr %q), callback queue %d; want 0 and 1", r.code, r.stderr, queueSize(t, url, tasks.QueueCallback))
	}
	if strings.Contains(r.stdout+r.stderr, "123456") {
		t.Error("the code was echoed")
	}
}

func TestResumeCommand(t *testing.T) {
	t.Parallel()
	url := redistest.URL(t)
	if r := run(t, url, "resume"); r.code != 0 || !strings.Contains(r.stdout, "not paused") {
		t.Errorf("resume without a pause: exit %d, stdout %q", r.code, r.stdout)
	}
	opt, _ := redis.ParseURL(url)
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctl := pause.New(rdb, member.DefaultPrefix, tasks.CloudQueues)
	if _, err := ctl.Pause(context.Background(), pause.Reason{Action: "BindSecureMobilePhone", Code: "Forbidden.RAM"}); err != nil {
		t.Fatal(err)
	}
	r := run(t, url, "resume")
	if r.code != 0 || !strings.Contains(r.stdout, "Forbidden.RAM") {
		t.Errorf("resume: exit %d, stdout %q", r.code, r.stdout)
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
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, r.stdout)
	}
	if sum["members_scanned"] == nil || sum["finished_at"] == nil {
		t.Errorf("summary lacks members_scanned or finished_at: %s", r.stdout)
	}
}

func TestReconcileCommandWithoutWorkerTimesOut(t *testing.T) {
	t.Parallel()
	r := run(t, redistest.URL(t), "reconcile", "--timeout", "1s")
	if r.code != 2 {
		t.Errorf("no worker to run it: exit %d, want 2; stderr %q", r.code, r.stderr)
	}
}
