package bench

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/buildtest"
	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/testwait"
)

// An idle process is left to settle (its first heartbeats and recoverer
// run) and then measured over a window.
const (
	idleSettle = 3 * time.Second
	idleWindow = 10 * time.Second
	// clockTicks is the unit of /proc/<pid>/stat's CPU times (USER_HZ).
	clockTicks = 100
)

// BenchmarkIdleCost runs a real worker process, default settings, nothing
// to do, on a redis-server of its own, and beside it, in the same run and
// window, the same lanes (queues, concurrency) served by asynq servers at
// asynq's own defaults (bench/idleasynq) on another. It reports each one's
// Redis commands per second (INFO total_commands_processed, which counts
// the commands inside scripts too) and its CPU as a share of one core
// (/proc/<pid>/stat). Target for the worker: ≤ 50 commands/s, ≤ 1 %.
func BenchmarkIdleCost(b *testing.B) {
	dir := b.TempDir()
	if err := buildtest.Build(dir, "github.com/rdonboard/rdonboard/cmd/worker", "github.com/rdonboard/rdonboard/bench/idleasynq"); err != nil {
		b.Fatal(err)
	}
	var ours, plain idleCost
	var others float64
	b.ResetTimer()
	for range b.N {
		w := startIdle(b, filepath.Join(dir, "worker"), workerEnv(b))
		a := startIdle(b, filepath.Join(dir, "idleasynq"), nil)
		load := startLoad(b, w.rdb)
		time.Sleep(idleSettle)
		w.begin(b)
		a.begin(b)
		time.Sleep(idleWindow)
		ours, plain = w.end(b), a.end(b)
		others = load.others(b)
	}
	b.ReportMetric(ours.commands, "cmd/s")
	b.ReportMetric(ours.cpu, "cpu-%")
	b.ReportMetric(plain.commands, "asynq-defaults-cmd/s")
	b.ReportMetric(plain.cpu, "asynq-defaults-cpu-%")
	b.ReportMetric(others, "others-cores")
}

// idleCost is what an idle process costs: Redis commands per second and
// percent of one core.
type idleCost struct{ commands, cpu float64 }

// idleProc is a process measured idle, alone on its redis-server.
type idleProc struct {
	cmd   *exec.Cmd
	rdb   *redis.Client
	start time.Time
	cmds  int64
	ticks int64
}

// startIdle starts bin on a redis-server of its own and waits until its
// four lanes have registered with Redis.
func startIdle(b *testing.B, bin string, env map[string]string) *idleProc {
	b.Helper()
	srv := redistest.Start(b, redistest.Options{})
	url := srv.URL(0)
	p := &idleProc{rdb: newClient(b, url, 2)}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(idleEnv(), "REDIS_URL="+url)
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		b.Fatalf("start %s: %v", bin, err)
	}
	b.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	up := testwait.Poll(30*time.Second, func() bool {
		n, err := p.rdb.ZCard(context.Background(), "asynq:servers").Result()
		return err == nil && n >= 4
	})
	if !up {
		b.Fatalf("%s: its lanes did not register within 30 s", filepath.Base(bin))
	}
	return p
}

func (p *idleProc) begin(b *testing.B) {
	b.Helper()
	p.start, p.cmds, p.ticks = time.Now(), commandsProcessed(b, p.rdb), cpuTicks(b, p.cmd.Process.Pid)
}

// end returns the cost since begin; the INFO that reads the count is one
// command of its own, not the process's.
func (p *idleProc) end(b *testing.B) idleCost {
	b.Helper()
	secs := time.Since(p.start).Seconds()
	cmds := commandsProcessed(b, p.rdb) - p.cmds - 1
	ticks := cpuTicks(b, p.cmd.Process.Pid) - p.ticks
	return idleCost{commands: float64(cmds) / secs, cpu: 100 * float64(ticks) / clockTicks / secs}
}

// workerEnv is a worker's environment with its defaults: a cloud it never
// calls while idle, and a free HTTP port.
func workerEnv(b *testing.B) map[string]string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return map[string]string{
		"ONBOARD_HTTP_ADDR": addr, "ONBOARD_CALLBACK_TOKEN": "idle-benchmark-token-0123",
		"ONBOARD_CLOUD_ENDPOINT": "http://127.0.0.1:9", "ONBOARD_LOG_FORMAT": "json",
		"ALIBABA_CLOUD_ACCESS_KEY_ID": sandbox.DefaultAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": sandbox.DefaultAccessKeySecret,
	}
}

// idleEnv is this process's environment without settings of rdonboard or
// the cloud SDK, so that the defaults are measured.
func idleEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name == "REDIS_URL" || strings.HasPrefix(name, "ONBOARD_") || strings.HasPrefix(name, "ALIBABA_CLOUD_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// cpuTicks is the user plus system CPU time of process pid, in clock
// ticks (/proc/<pid>/stat fields 14 and 15).
func cpuTicks(b *testing.B, pid int) int64 {
	b.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatalf("read /proc/%d/stat: %v", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	if len(fields) < 13 {
		b.Fatalf("/proc/%d/stat: %d fields after the name", pid, len(fields))
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: utime %q stime %q", pid, fields[11], fields[12])
	}
	return utime + stime
}

// memberCostMembers is the batch BenchmarkMemberCost runs.
const memberCostMembers = 2_000

// BenchmarkMemberCost runs a batch from ingest to bound, owners answering
// every SMS at once through the HTTP intake, one worker process with the
// default settings on a redis-server of its own, and reports the Redis
// commands the whole job took per member (ingest, send, code, bind, the
// history, the idle lanes' share of the run) and the memory a bound member
// keeps in Redis (used_memory growth ÷ members).
func BenchmarkMemberCost(b *testing.B) {
	var perMember, bytesPerMember, others float64
	for range b.N {
		srv := redistest.Start(b, redistest.Options{})
		url := srv.URL(0)
		rdb := newClient(b, url, 2)
		env := harness.Start(b, harness.Options{RedisURL: url, Configure: func(c *config.Config) {
			d := config.Defaults()
			c.Concurrency, c.PollInterval = d.Concurrency, d.PollInterval
			c.SendQPS, c.BindQPS, c.GetQPS = unlimited, unlimited, unlimited
		}})
		env.StartOwners(env.Worker(0), harness.Correct)
		load := startLoad(b, rdb)
		mem, cmds := usedMemory(b, rdb), commandsProcessed(b, rdb)
		env.Enqueue("cost", harness.Members(0, memberCostMembers), ingest.Options{})
		env.WaitFor(5*time.Minute, func(c map[member.State]int64) bool { return c[member.Bound] == memberCostMembers })
		perMember = float64(commandsProcessed(b, rdb)-cmds) / memberCostMembers
		bytesPerMember = float64(usedMemory(b, rdb)-mem) / memberCostMembers
		others = load.others(b)
	}
	b.ReportMetric(perMember, "cmd/member")
	b.ReportMetric(bytesPerMember, "B/bound-member")
	b.ReportMetric(others, "others-cores")
}
