package bench

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// clientPool is the connection pool `enqueue` opens.
const clientPool = 64

// newClient returns a client on url with pool connections.
func newClient(b *testing.B, url string, pool int) *redis.Client {
	b.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		b.Fatalf("parse %s: %v", url, err)
	}
	opt.PoolSize = pool
	c := redis.NewClient(opt)
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// callLog keeps every call the sandbox answered (sandbox.Options.OnCall).
type callLog struct {
	mu    sync.Mutex
	calls []sandbox.Call
}

func (l *callLog) add(c sandbox.Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// ok returns the arrival times of action's successful calls, in order.
func (l *callLog) ok(action string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Time
	for _, c := range l.calls {
		if c.Action == action && c.Outcome == "ok" {
			out = append(out, c.At)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// firstOK returns, per account, the arrival of action's first successful
// call.
func (l *callLog) firstOK(action string) map[string]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]time.Time{}
	for _, c := range l.calls {
		if c.Action != action || c.Outcome != "ok" {
			continue
		}
		if t, seen := out[c.AccountID]; !seen || c.At.Before(t) {
			out[c.AccountID] = c.At
		}
	}
	return out
}

// rate is events per second over the window from the first event to the
// last (times sorted).
func rate(ts []time.Time) float64 {
	if len(ts) < 2 {
		return 0
	}
	return float64(len(ts)-1) / ts[len(ts)-1].Sub(ts[0]).Seconds()
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// median returns the median of vs (the mean of the middle two when even).
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ms expresses d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// usedMemory returns the server's INFO memory used_memory, in bytes.
func usedMemory(b *testing.B, rdb redis.UniversalClient) int64 {
	return infoField(b, rdb, "memory", "used_memory")
}

// commandsProcessed is INFO stats total_commands_processed.
func commandsProcessed(b *testing.B, rdb redis.UniversalClient) int64 {
	return infoField(b, rdb, "stats", "total_commands_processed")
}

// infoField returns the number field of the server's INFO section.
func infoField(b *testing.B, rdb redis.UniversalClient, section, field string) int64 {
	b.Helper()
	info, err := rdb.Info(context.Background(), section).Result()
	if err != nil {
		b.Fatalf("INFO %s: %v", section, err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatalf("%s %q: %v", field, v, err)
			}
			return n
		}
	}
	b.Fatalf("INFO %s has no %s", section, field)
	return 0
}

// redisCPU returns the CPU time the server has used (INFO cpu, user plus
// system), to tell the server's share of a run from the client's.
func redisCPU(b *testing.B, rdb redis.UniversalClient) time.Duration {
	b.Helper()
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatalf("INFO cpu: %v", err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, _ := strings.Cut(line, ":")
		if k == "used_cpu_user" || k == "used_cpu_sys" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("INFO cpu %s %q: %v", k, v, err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// selfCPU returns the CPU time this process has used (user plus system).
func selfCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadMeter measures the CPU that other processes on the machine used
// during a run (everything busy but this process, its children and the
// Redis server measured), so that a figure taken while others' tests ran
// can be told apart.
type loadMeter struct {
	rdb                  redis.UniversalClient
	start                time.Time
	busy, self, redisCPU time.Duration
}

// startLoad starts measuring; rdb is the server the run uses.
func startLoad(b *testing.B, rdb redis.UniversalClient) *loadMeter {
	b.Helper()
	return &loadMeter{rdb: rdb, start: time.Now(), busy: machineBusy(b), self: ownCPU(b), redisCPU: redisCPU(b, rdb)}
}

// others returns the cores other processes kept busy on average since the
// start.
func (m *loadMeter) others(b *testing.B) float64 {
	b.Helper()
	other := machineBusy(b) - m.busy - (ownCPU(b) - m.self) - (redisCPU(b, m.rdb) - m.redisCPU)
	return max(0, other.Seconds()/time.Since(m.start).Seconds())
}

// ownCPU is the CPU time of this process and its waited-for children.
func ownCPU(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return selfCPU(b) + time.Duration(ru.Utime.Nano()+ru.Stime.Nano())
}

// machineBusy is the CPU time all cores spent busy since boot (/proc/stat).
func machineBusy(b *testing.B) time.Duration {
	b.Helper()
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		b.Fatalf("read /proc/stat: %v", err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	var ticks int64
	for i, f := range fields[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i > 7 { // guest time is counted in user already
			break
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
