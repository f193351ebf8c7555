package reliability

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// TestRedisRestart kills Redis (AOF, fsync on every write) in the middle of
// a batch and starts it again. While it is down the worker reports itself
// not ready and the intake answers 503; afterwards both recover without a
// restart, the batch completes, and no member is lost or bound twice.
func TestRedisRestart(t *testing.T) {
	t.Parallel()
	long(t)
	r := newRig(t, rigOptions{Sandbox: []string{"--latency", "20ms"}, Env: map[string]string{"ONBOARD_SEND_QPS": "20"}})
	w := r.startWorker()
	owners := r.startOwners(w)
	rows := members(0, 200)
	r.enqueueRows("restart", rows)
	waitSMS(t, r, 50)

	r.redis.Stop(t)
	waitStatus(t, w.URL+"/readyz", http.StatusServiceUnavailable)
	status, body := postJSON(t, w.URL+"/v1/codes", token, map[string]string{"account_id": rows[0].id, "code": "000000"})
	if status != http.StatusServiceUnavailable {
		t.Errorf("code handed in while Redis is down: %s %s, want 503", describe(status), body)
	}
	time.Sleep(2 * time.Second)
	r.redis.Restart(t)
	waitStatus(t, w.URL+"/readyz", http.StatusOK)

	c := r.waitFor(3*time.Minute, "every member terminal", terminal(int64(len(rows))), nil)
	var total int64
	for _, n := range c {
		total += n
	}
	if total != int64(len(rows)) {
		t.Errorf("%d members in the store, want %d", total, len(rows))
	}
	r.requireAllBound(rows, 1)
	final, retried := owners.Statuses()
	t.Logf("codes handed in: answers %v; tried again after %v", final, retried)
	if final[http.StatusAccepted] != len(owners.Handed()) {
		t.Errorf("codes handed in: answers %v, want every one 202 in the end", final)
	}
}

// waitStatus polls url until it answers want.
func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	last := 0
	if testwait.Poll(time.Minute, func() bool {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		last, _ = do(client, req)
		return last == want
	}) {
		return
	}
	t.Fatalf("GET %s: %s after a minute, want %d", url, describe(last), want)
}

// TestRedisDownAtEnqueue runs `enqueue members` while Redis is down: it
// exits 2 naming the server (not its password), writes nothing to Redis
// and no rejects file. Once Redis is back the same command does its work.
func TestRedisDownAtEnqueue(t *testing.T) {
	t.Parallel()
	const password = "pw-for-reliability-9f3a"
	srv := redistest.Start(t, redistest.Options{AppendOnly: true, Password: password})
	env := childEnv(map[string]string{"REDIS_URL": srv.URL(0), "ONBOARD_LOG_FORMAT": "json"})
	rows := members(0, 20)
	path := writeRoster(t, "down", append(rows, row{id: "12x4", phone: "86-13700000000"}))
	rejects := strings.TrimSuffix(path, filepath.Ext(path)) + ".rejects.csv"

	srv.Stop(t)
	run := runCLI(t, bin.enqueue, env, "members", path)
	if run.code != 2 {
		t.Errorf("exit %d with Redis down, want 2", run.code)
	}
	if !strings.Contains(run.stderr, "Redis at redis://") || !strings.Contains(run.stderr, srv.Addr) {
		t.Errorf("stderr does not name the Redis server %s:\n%s", srv.Addr, run.stderr)
	}
	if strings.Contains(run.stderr+run.stdout, password) {
		t.Errorf("output shows the Redis password:\n%s", run.stderr)
	}
	if _, err := os.Stat(rejects); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("rejects file written though nothing was enqueued (stat: %v)", err)
	}

	srv.Restart(t)
	rdb := openRedis(t, srv.URL(0))
	if n, err := rdb.DBSize(context.Background()).Result(); err != nil || n != 0 {
		t.Errorf("Redis holds %d keys after the failed run (err %v), want none", n, err)
	}
	run = runCLI(t, bin.enqueue, env, "members", path)
	if run.code != 1 {
		t.Fatalf("exit %d with Redis back and one bad row, want 1\n%s%s", run.code, run.stdout, run.stderr)
	}
	store := member.New(rdb, member.Options{})
	counts, err := store.Counts(context.Background(), "")
	if err != nil || len(counts) != 1 || counts[0].States[member.Pending] != int64(len(rows)) {
		t.Errorf("after the second run: counts %v (err %v), want %d pending", counts, err, len(rows))
	}
	requireQueueSize(t, rdb, tasks.QueueSend, len(rows))
	requireLines(t, rejects, 2)
}
