package reliability

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/logbuf"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redisconn"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/simworld"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// token is the bearer token of the workers' HTTP API in these tests.
const token = "reliability-token-7c1e94b2"

// rigOptions configures a rig.
type rigOptions struct {
	// Sandbox are extra flags of the sandbox binary.
	Sandbox []string
	// Env overrides the workers' settings (ONBOARD_…).
	Env map[string]string
	// RedisURL and RedisCAFile name a Redis the test started itself
	// (default: a redis-server of the rig's own).
	RedisURL, RedisCAFile string
}

// rig is rdonboard run from its binaries: a redis-server of its own (AOF,
// fsync on every write, so it can be restarted), a sandbox process, and
// worker processes started on demand.
type rig struct {
	t        *testing.T
	redis    *redistest.Server
	redisURL string
	rdb      redis.UniversalClient
	store    *member.Store
	insp     *asynq.Inspector
	cloud    *sandboxProc
	env      map[string]string

	mu   sync.Mutex
	logs []*logbuf.Buffer
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	r := &rig{t: t, redisURL: o.RedisURL}
	if r.redisURL == "" {
		r.redis = redistest.Start(t, redistest.Options{AppendOnly: true})
		r.redisURL = r.redis.URL(0)
	}
	r.rdb = openRedis(t, r.redisURL, o.RedisCAFile)
	t.Cleanup(r.keepLogs)
	r.store = member.New(r.rdb, member.Options{})
	r.insp = asynq.NewInspectorFromRedisClient(r.rdb)
	r.cloud = startSandbox(t, o.Sandbox...)
	r.track(r.cloud.logs)
	r.env = map[string]string{
		"REDIS_URL":                       r.redisURL,
		"ONBOARD_CLOUD_ENDPOINT":          r.cloud.URL,
		"ALIBABA_CLOUD_ACCESS_KEY_ID":     sandbox.DefaultAccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET": sandbox.DefaultAccessKeySecret,
		"ONBOARD_CALLBACK_TOKEN":          token,
		"ONBOARD_LOG_FORMAT":              "json",
		"ONBOARD_SEND_QPS":                "1000",
		"ONBOARD_BIND_QPS":                "1000",
		"ONBOARD_GET_QPS":                 "1000",
		"ONBOARD_CONCURRENCY":             "16",
		"ONBOARD_POLL_INTERVAL":           "20ms",
		"ONBOARD_CLOUD_TIMEOUT":           "5s",
	}
	if o.RedisCAFile != "" {
		r.env["ONBOARD_REDIS_CA_FILE"] = o.RedisCAFile
	}
	maps.Copy(r.env, o.Env)
	return r
}

func (r *rig) track(l *logbuf.Buffer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, l)
}

// keepLogs writes every process's log to $RELIABILITY_LOGS/<test>.log
// when that variable names a directory, for a look after the run.
func (r *rig) keepLogs() {
	dir := os.Getenv("RELIABILITY_LOGS")
	if dir == "" {
		return
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(r.t.Name()) + ".log"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(r.allLogs()), 0o600); err != nil {
		r.t.Logf("keep logs: %v", err)
	}
}

// allLogs returns the stderr of every process the rig ran, and the
// output of its enqueue runs.
func (r *rig) allLogs() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, l := range r.logs {
		b.WriteString(l.String())
	}
	return b.String()
}

// workerProc is a running `worker` binary.
type workerProc struct {
	*proc
	URL string
}

// startWorker starts one more worker process and waits until it answers.
func (r *rig) startWorker() *workerProc {
	r.t.Helper()
	for attempt := 0; attempt < 3; attempt++ {
		addr := freeAddr(r.t)
		env := maps.Clone(r.env)
		env["ONBOARD_HTTP_ADDR"] = addr
		p := startProc(r.t, "worker", bin.worker, childEnv(env))
		w := &workerProc{proc: p, URL: "http://" + addr}
		if p.waitHealthy(w.URL+"/readyz", 30*time.Second) {
			r.track(p.logs)
			return w
		}
		p.kill()
		if !strings.Contains(p.logs.String(), "address already in use") {
			r.t.Fatalf("worker did not start:\n%s", p.logs.Tail(20))
		}
	}
	r.t.Fatalf("worker did not start")
	return nil
}

// enqueue runs the enqueue binary with the workers' Redis settings.
func (r *rig) enqueue(args ...string) cli {
	r.t.Helper()
	run := runCLI(r.t, bin.enqueue, childEnv(r.producerEnv()), args...)
	l := &logbuf.Buffer{}
	_, _ = l.Write([]byte(run.stderr + run.stdout))
	r.track(l)
	return run
}

func (r *rig) producerEnv() map[string]string {
	env := map[string]string{}
	for _, k := range []string{"REDIS_URL", "ONBOARD_REDIS_CA_FILE", "ONBOARD_LOG_FORMAT", "ONBOARD_MAX_CODE_ATTEMPTS"} {
		if v, ok := r.env[k]; ok {
			env[k] = v
		}
	}
	return env
}

// row is one roster row.
type row struct{ id, phone string }

// members returns n rows with distinct account IDs and phones from first
// (simworld.Members).
func members(first, n int) []row {
	ms := simworld.Members(first, n)
	rows := make([]row, n)
	for i, m := range ms {
		rows[i] = row{id: m.AccountID, phone: m.Phone}
	}
	return rows
}

// writeRoster writes rows as a roster CSV and returns its path.
func writeRoster(t testing.TB, name string, rows []row) string {
	t.Helper()
	ms := make([]simworld.Member, len(rows))
	for i, r := range rows {
		ms[i] = simworld.Member{AccountID: r.id, Phone: r.phone}
	}
	path := filepath.Join(t.TempDir(), name+".csv")
	if err := os.WriteFile(path, []byte(simworld.RosterCSV(ms)), 0o600); err != nil {
		t.Fatalf("write roster: %v", err)
	}
	return path
}

// enqueueRows runs `enqueue members` on rows and requires every row
// accepted.
func (r *rig) enqueueRows(batch string, rows []row) {
	r.t.Helper()
	run := r.enqueue("members", writeRoster(r.t, batch, rows), "--batch", batch)
	if run.code != 0 {
		r.t.Fatalf("enqueue members: exit %d\n%s%s", run.code, run.stdout, run.stderr)
	}
}

// counts returns the number of members per state.
func (r *rig) counts() (map[member.State]int64, error) {
	batches, err := r.store.Counts(context.Background(), "")
	if err != nil {
		return nil, err
	}
	out := map[member.State]int64{}
	for _, b := range batches {
		for st, n := range b.States {
			out[st] += n
		}
	}
	return out, nil
}

// waitFor polls the counts until cond holds, running tick (if any) at
// most every 250 ms, as each run may read every waiting member; it fails
// the test after limit, a safety net only.
func (r *rig) waitFor(limit time.Duration, what string, cond func(map[member.State]int64) bool, tick func()) map[member.State]int64 {
	r.t.Helper()
	pace := time.NewTicker(250 * time.Millisecond)
	defer pace.Stop()
	var last map[member.State]int64
	met := testwait.Poll(limit, func() bool {
		if c, err := r.counts(); err == nil {
			if last = c; cond(c) {
				return true
			}
		}
		select {
		case <-pace.C:
			if tick != nil {
				tick()
			}
		default:
		}
		return false
	})
	if !met {
		r.t.Fatalf("%s: not reached after %s; member counts %v; tasks %s", what, limit, last, r.queueReport())
	}
	return last
}

// queueReport says how many tasks each queue holds in each state, for a
// test that gave up waiting.
func (r *rig) queueReport() string {
	qs, err := r.insp.Queues()
	if err != nil {
		return "unknown: " + err.Error()
	}
	var b strings.Builder
	for _, q := range qs {
		info, err := r.insp.GetQueueInfo(q)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "[%s: active %d pending %d scheduled %d retry %d archived %d] ",
			q, info.Active, info.Pending, info.Scheduled, info.Retry, info.Archived)
	}
	return b.String()
}

// terminal reports whether n members are in a terminal state.
func terminal(n int64) func(map[member.State]int64) bool {
	return func(c map[member.State]int64) bool {
		return c[member.Bound]+c[member.AlreadyBound]+c[member.Failed]+c[member.Expired] >= n
	}
}

// smsPerAccount counts the SMS the sandbox sent to each account.
func (r *rig) smsPerAccount() map[string]int {
	out := map[string]int{}
	for _, s := range r.cloud.SMS(r.t) {
		out[s.AccountID]++
	}
	return out
}

// expiries runs at once the expiry of each member waiting for a code that
// never left: a send marked in flight when its worker died before the
// request went out, or whose connection the cloud dropped. The flow treats
// such a send as sent (the person may hold a code) and resends only when
// the assumed code lifetime (ten minutes) has passed; the test stands in
// for that wait. It counts the members it expired.
type expiries struct {
	r    *rig
	done map[string]bool
}

func (r *rig) expiries() *expiries { return &expiries{r: r, done: map[string]bool{}} }

// run expires the members found now; call it repeatedly.
func (e *expiries) run() {
	var waiting []member.Member
	err := e.r.store.Scan(context.Background(), member.Filter{State: member.CodeSent}, func(ms []member.Member) error {
		waiting = append(waiting, ms...)
		return nil
	})
	if err != nil || len(waiting) == 0 {
		return
	}
	// Read after the members: an SMS is recorded before its send is.
	sms := e.r.cloud.SMS(e.r.t)
	for _, m := range waiting {
		key := m.AccountID + ":" + m.Step().String()
		if e.done[key] || !e.neverLeft(m, sms) {
			continue
		}
		if e.r.insp.RunTask(tasks.QueueControl, tasks.ExpiryTaskID(m.AccountID, m.Step())) == nil {
			e.done[key] = true
		}
	}
}

// neverLeft reports whether m waits for a code treated as sent that the
// cloud never sent: no SMS since the member last became pending.
func (e *expiries) neverLeft(m member.Member, sms []sandbox.SMS) bool {
	events, err := e.r.store.History(context.Background(), m.AccountID)
	if err != nil || len(events) == 0 {
		return false
	}
	last := events[len(events)-1]
	if last.To != member.CodeSent || !strings.Contains(last.Reason, "treated as sent") {
		return false
	}
	var since time.Time
	for _, ev := range events {
		if ev.To == member.Pending {
			since = ev.At
		}
	}
	for _, s := range sms {
		if s.AccountID == m.AccountID && !s.SentAt.Before(since) {
			return false
		}
	}
	return true
}

// count is the number of members expired.
func (e *expiries) count() int { return len(e.done) }

// treatedAsSent returns the members whose history shows a send with no
// answer treated as sent.
func (r *rig) treatedAsSent(rows []row) []string {
	r.t.Helper()
	var out []string
	for _, row := range rows {
		events, err := r.store.History(context.Background(), row.id)
		if err != nil {
			r.t.Fatalf("history of %s: %v", row.id, err)
		}
		for _, e := range events {
			if strings.Contains(e.Reason, "treated as sent") {
				out = append(out, row.id)
				break
			}
		}
	}
	return out
}

// requireAllBound checks that every row's member is bound, bound once in
// the cloud, and got at most maxSMS SMS.
func (r *rig) requireAllBound(rows []row, maxSMS int) {
	r.t.Helper()
	c, err := r.counts()
	if err != nil {
		r.t.Fatalf("counts: %v", err)
	}
	if c[member.Bound] != int64(len(rows)) {
		r.t.Errorf("%d members bound, want all %d; counts %v", c[member.Bound], len(rows), c)
	}
	stats := r.cloud.Stats(r.t)
	sms := r.smsPerAccount()
	for _, row := range rows {
		if n := stats.Binds[row.id]; n != 1 {
			r.t.Errorf("account %s bound %d times in the cloud, want once", row.id, n)
		}
		if n := sms[row.id]; n > maxSMS {
			r.t.Errorf("account %s got %d SMS, want at most %d", row.id, n, maxSMS)
		}
	}
	if len(stats.Binds) != len(rows) {
		r.t.Errorf("cloud bound %d accounts, want %d", len(stats.Binds), len(rows))
	}
}

// openRedis returns a client of url (trusting caFile for rediss://, when
// given), closed when the test ends.
func openRedis(t testing.TB, url string, caFile ...string) redis.UniversalClient {
	t.Helper()
	opts := redisconn.Options{}
	if len(caFile) > 0 {
		opts.CAFile = caFile[0]
	}
	opt, err := redisconn.Parse(url, opts)
	if err != nil {
		t.Fatalf("redis url: %v", err)
	}
	c := redisconn.Open(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// requireQueueSize checks the number of tasks waiting in queue.
func requireQueueSize(t testing.TB, rdb redis.UniversalClient, queue string, want int) {
	t.Helper()
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo(queue)
	if err != nil {
		t.Errorf("queue %s: %v", queue, err)
		return
	}
	if info.Size != want {
		t.Errorf("queue %s holds %d tasks (%d pending, %d scheduled), want %d", queue, info.Size, info.Pending, info.Scheduled, want)
	}
}

// requireLines checks the number of lines of a file.
func requireLines(t testing.TB, path string, want int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s: %v", path, err)
		return
	}
	if n := bytes.Count(b, []byte("\n")); n != want {
		t.Errorf("%s has %d lines, want %d", filepath.Base(path), n, want)
	}
}
