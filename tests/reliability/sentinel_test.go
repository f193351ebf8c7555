package reliability

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// masterName is the name the sentinels know the primary by.
const masterName = "onboard"

// TestSentinelFailover runs two workers on redis-sentinel:// against a
// primary, one replica and three sentinels, and kills the primary with
// SIGKILL in the middle of a 300-member batch. A sentinel promotes the
// replica; the workers and their HTTP intake find it by themselves, the
// batch completes, no member is lost, the cloud binds each account once,
// and no more SMS go out than members plus the sends in flight at the kill.
func TestSentinelFailover(t *testing.T) {
	t.Parallel()
	primary := redistest.Start(t, redistest.Options{})
	replica := redistest.Start(t, redistest.Options{Args: replicaOf(primary.Addr)})
	waitReplicaSynced(t, replica.Addr)
	sentinels := startSentinels(t, primary.Addr, 3)

	url := fmt.Sprintf("redis-sentinel://%s/0?master=%s", strings.Join(sentinels, ","), masterName)
	r := newRig(t, rigOptions{RedisURL: url, Sandbox: []string{"--latency", "20ms"},
		Env: map[string]string{"ONBOARD_SEND_QPS": "40"}})
	a, b := r.startWorker(), r.startWorker()
	owners := r.startOwners(a)
	rows := members(0, 300)
	r.enqueueRows("failover", rows)
	waitSMS(t, r, 80)

	inFlight := activeSends(t, r.insp)
	primary.Stop(t)
	killed := time.Now()
	promoted := waitPromoted(t, sentinels[0], primary.Addr)
	t.Logf("sentinels promoted %s %s after the kill; sends in flight at the kill: %d", promoted, time.Since(killed).Round(time.Millisecond), inFlight)
	if promoted != replica.Addr {
		t.Fatalf("sentinels promoted %s, want the replica %s", promoted, replica.Addr)
	}
	for _, w := range []*workerProc{a, b} {
		waitStatus(t, w.URL+"/readyz", http.StatusOK)
	}

	// A task that was running at the kill and whose end the replica never
	// learnt of stays active until its lease (30 s) runs out and asynq's
	// recoverer (once a minute) puts it back: up to 90 s after the kill.
	exp := r.expiries()
	c := r.waitFor(150*time.Second, "every member terminal", terminal(int64(len(rows))), exp.run)
	t.Logf("every member terminal %s after the kill", time.Since(killed).Round(time.Second))
	requireAllPresent(t, c, len(rows))
	r.requireAllBound(rows, 2)
	sms := len(r.cloud.SMS(t))
	if sms > len(rows)+inFlight {
		t.Errorf("%d SMS for %d members with %d sends in flight at the kill", sms, len(rows), inFlight)
	}
	// Every SMS's code was handed in and answered: an answer held back
	// (say, waiting for a replica the new primary does not have) shows here.
	testwait.Until(t, 10*time.Second, "an answer to every code handed in", func() bool { return len(owners.Handed()) >= sms })
	final, retried := owners.Statuses()
	t.Logf("%d SMS; codes handed in: answers %v; tried again after %v; expired as never sent: %d", sms, final, retried, exp.count())
	if final[http.StatusAccepted] != len(owners.Handed()) {
		t.Errorf("codes handed in: answers %v, want every one 202 in the end", final)
	}
}

// replicaOf is the redis-server arguments of a replica of addr.
func replicaOf(addr string) []string {
	host, port, _ := net.SplitHostPort(addr)
	return []string{"--replicaof", host, port}
}

// waitReplicaSynced waits until the replica at addr holds the primary's
// data set and follows its stream.
func waitReplicaSynced(t *testing.T, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	testwait.Until(t, 20*time.Second, "replica in sync", func() bool {
		info, err := c.Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
}

// startSentinels starts n sentinels watching the primary at addr and
// waits until each knows the replica and the other sentinels, so that a
// failover can be voted on at once. It returns their addresses.
func startSentinels(t *testing.T, primary string, n int) []string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found: %v", err)
	}
	var addrs []string
	for i := 0; i < n; i++ {
		addrs = append(addrs, startSentinel(t, bin, primary, n/2+1))
	}
	for _, addr := range addrs {
		c := redis.NewSentinelClient(&redis.Options{Addr: addr})
		testwait.Until(t, 30*time.Second, "sentinel "+addr+" knows the replica and the other sentinels", func() bool {
			m, err := c.Master(context.Background(), masterName).Result()
			return err == nil && m["num-slaves"] == "1" && m["num-other-sentinels"] == strconv.Itoa(n-1)
		})
		_ = c.Close()
	}
	return addrs
}

// startSentinel runs one `redis-server --sentinel` on a free port with a
// configuration file of its own (a sentinel rewrites it), quick to judge
// the primary down (one second) and to fail over.
func startSentinel(t *testing.T, bin, primary string, quorum int) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(primary)
	for attempt := 0; attempt < 3; attempt++ {
		addr := freeAddr(t)
		_, own, _ := net.SplitHostPort(addr)
		dir := t.TempDir()
		conf := strings.Join([]string{
			"port " + own, "bind 127.0.0.1", "dir " + dir, "logfile " + filepath.Join(dir, "sentinel.log"),
			fmt.Sprintf("sentinel monitor %s %s %s %d", masterName, host, port, quorum),
			"sentinel down-after-milliseconds " + masterName + " 1000",
			"sentinel failover-timeout " + masterName + " 5000",
			"sentinel parallel-syncs " + masterName + " 1",
		}, "\n") + "\n"
		path := filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatalf("write sentinel config: %v", err)
		}
		cmd := exec.Command(bin, path, "--sentinel")
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start sentinel: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		c := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1})
		up := testwait.Poll(10*time.Second, func() bool { return c.Ping(context.Background()).Err() == nil })
		_ = c.Close()
		if up {
			return addr
		}
		_ = cmd.Process.Kill()
		if log, _ := os.ReadFile(filepath.Join(dir, "sentinel.log")); !strings.Contains(string(log), "Address already in use") {
			t.Fatalf("sentinel did not start:\n%s", log)
		}
	}
	t.Fatalf("sentinel did not start")
	return ""
}

// waitPromoted waits until the sentinel at addr names a primary other
// than old, and returns it.
func waitPromoted(t *testing.T, addr, old string) string {
	t.Helper()
	c := redis.NewSentinelClient(&redis.Options{Addr: addr})
	defer c.Close()
	var now string
	testwait.Until(t, 30*time.Second, "a replica promoted", func() bool {
		hp, err := c.GetMasterAddrByName(context.Background(), masterName).Result()
		if err == nil && len(hp) == 2 {
			now = net.JoinHostPort(hp[0], hp[1])
		}
		return now != "" && now != old
	})
	return now
}

// activeSends counts the sends being made now.
func activeSends(t *testing.T, insp *asynq.Inspector) int {
	t.Helper()
	list, err := insp.ListActiveTasks(tasks.QueueSend, asynq.PageSize(1000))
	if err != nil {
		t.Fatalf("active sends: %v", err)
	}
	return len(list)
}

// requireAllPresent checks that the store holds n members.
func requireAllPresent(t *testing.T, c map[member.State]int64, n int) {
	t.Helper()
	var total int64
	for _, k := range c {
		total += k
	}
	if total != int64(n) {
		t.Errorf("%d members in the store, want %d; counts %v", total, n, c)
	}
}
