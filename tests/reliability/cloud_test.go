package reliability

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

// outage is how long the cloud is down in TestCloudOutage.
const outage = 30 * time.Second

// TestCloudOutage takes the cloud away for 30 s in the middle of a batch,
// answering every call 503 ServiceUnavailable, or closing every connection
// unanswered. Members wait and complete afterwards; none fails for it. A
// failed call is retried after a backoff from about a second, doubling: 30 s
// of outage costs a task at most six of its ten retries. A send whose
// connection was dropped may have reached the cloud, so it is treated as
// sent (the person may hold a code) and resent once that code would have
// expired, never at once.
func TestCloudOutage(t *testing.T) {
	t.Parallel()
	long(t)
	for _, mode := range []string{sandbox.Outage503, sandbox.OutageDrop} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, rigOptions{Sandbox: []string{"--latency", "20ms"}, Env: map[string]string{"ONBOARD_SEND_QPS": "5"}})
			w := r.startWorker()
			r.startOwners(w)
			rows := members(0, 100)
			r.enqueueRows("outage", rows)
			waitSMS(t, r, 20)

			r.cloud.Outage(t, mode, outage)
			over := time.Now().Add(outage)
			exp := r.expiries()
			r.waitFor(3*time.Minute, "every member terminal", terminal(int64(len(rows))), func() {
				if time.Now().After(over) {
					exp.run()
				}
			})

			r.requireAllBound(rows, 1)
			failures := failuresPerTask(t, w.logs.String())
			if len(failures) == 0 {
				t.Errorf("no call failed: the outage missed the batch")
			}
			most := 0
			for id, n := range failures {
				most = max(most, n)
				if n > 6 {
					t.Errorf("task %s failed %d times in a %s outage, want at most 6 of its %d retries", id, n, outage, tasks.RetryBudget)
				}
			}
			dropped := r.cloud.Stats(t).Calls[cloud.ActionSendCode]["dropped"]
			t.Logf("%d tasks failed at least once, at most %d times; %d sends dropped", len(failures), most, dropped)
			if unsent := len(r.treatedAsSent(rows)); unsent != dropped || exp.count() != dropped {
				t.Errorf("%d sends dropped; %d members treated a send as sent and %d waited for its expiry: want all equal",
					dropped, unsent, exp.count())
			}
		})
	}
}

// failuresPerTask reads a worker's JSON log and counts, per task, the
// handler runs that failed (snoozes are not failures).
func failuresPerTask(t *testing.T, log string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		var e struct {
			Msg     string `json:"msg"`
			TaskID  string `json:"task_id"`
			Retried int    `json:"retried"`
		}
		if json.Unmarshal([]byte(line), &e) != nil || e.Msg != "task failed" {
			continue
		}
		out[e.TaskID] = max(out[e.TaskID], e.Retried+1)
	}
	return out
}

// TestThrottleStorm answers half of all calls Throttling.User for a
// minute. The batch completes with no member failed; the shared rate falls
// while the cloud pushes back and climbs back to the setting after, as the
// worker's /metrics shows (rdonboard_cloud_throttles_total,
// rdonboard_ratelimit_rate).
func TestThrottleStorm(t *testing.T) {
	t.Parallel()
	long(t)
	const sendQPS = 10
	r := newRig(t, rigOptions{Env: map[string]string{"ONBOARD_SEND_QPS": "10", "ONBOARD_BIND_QPS": "10", "ONBOARD_GET_QPS": "20"}})
	w := r.startWorker()
	r.startOwners(w)
	rows := members(0, 100)
	r.cloud.Throttle(t, 0.5)
	r.enqueueRows("storm", rows)
	rates := watchRate(t, r, w, sendQPS)
	// The storm lasts until the worker has shown that it pushes back (the
	// shared rate and its gauge both seen below half the setting) and the
	// cloud has throttled as many calls as the batch has members; a minute
	// at most, after which the checks below say what was missing.
	testwait.Poll(time.Minute, func() bool {
		gauge, shared := rates.lowest()
		return gauge < sendQPS/2 && shared < sendQPS/2 && throttled(r.cloud.Stats(t)) >= len(rows)
	})
	r.cloud.Throttle(t, 0)
	stormGauge, stormShared := rates.lowest()

	c := r.waitFor(3*time.Minute, "every member terminal", terminal(int64(len(rows))), nil)
	if c[member.Failed] != 0 {
		t.Errorf("%d members failed in a throttle storm", c[member.Failed])
	}
	r.requireAllBound(rows, 1)
	throttles, _ := sum(metrics(t, w.URL+"/metrics"), "rdonboard_cloud_throttles_total")
	if throttles == 0 {
		t.Errorf("rdonboard_cloud_throttles_total is 0 after a throttle storm")
	}
	t.Logf("%v throttles; lowest send rate during the storm: %v/s in Redis, %v/s by rdonboard_ratelimit_rate",
		throttles, stormShared, stormGauge)
	if !(stormShared < sendQPS/2) {
		t.Errorf("the shared send rate never fell below %v/s during the storm (lowest %v/s)", sendQPS/2, stormShared)
	}
	gaugeFull := func() bool { g, _ := rates.last(); return g == sendQPS }
	sharedFull := func() bool { _, s := rates.last(); return s == sendQPS }
	if !eventually(time.Minute, sharedFull) {
		_, s := rates.last()
		t.Errorf("the shared send rate is %v/s a minute after the storm, want back at %v/s", s, float64(sendQPS))
	}
	if !rates.sawGauge() {
		t.Fatalf("the worker's /metrics has no rdonboard_ratelimit_rate{action=%q}", cloud.ActionSendCode)
	}
	if !(stormGauge < sendQPS/2) {
		t.Errorf("rdonboard_ratelimit_rate never fell below %v during the storm (lowest %v)", sendQPS/2, stormGauge)
	}
	if !eventually(time.Minute, gaugeFull) {
		g, _ := rates.last()
		t.Errorf("rdonboard_ratelimit_rate is %v a minute after the storm, want back at %v", g, float64(sendQPS))
	}
}

// eventually polls cond until it holds or limit passes.
func eventually(limit time.Duration, cond func() bool) bool {
	return testwait.Poll(limit, cond)
}

// throttled counts the calls the sandbox answered Throttling.User.
func throttled(st sandbox.Stats) int {
	n := 0
	for _, outcomes := range st.Calls {
		n += outcomes["Throttling.User"]
	}
	return n
}

// rateWatch samples the shared send rate every 200 ms: the worker's
// rdonboard_ratelimit_rate gauge when it is exported, and the rate in Redis
// through ratelimit.Limiter.Rate, the number the gauge reports.
type rateWatch struct {
	url     string
	limiter *ratelimit.Limiter

	mu     sync.Mutex
	gauge  []float64
	shared []float64
}

// watchRate samples until the test ends.
func watchRate(t *testing.T, r *rig, w *workerProc, qps float64) *rateWatch {
	rw := &rateWatch{url: w.URL + "/metrics",
		limiter: ratelimit.New(r.rdb, ratelimit.Options{Prefix: r.store.Prefix(), Rates: map[string]float64{cloud.ActionSendCode: qps}})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		rw.run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return rw
}

// run takes a sample every 200 ms until ctx ends.
func (rw *rateWatch) run(ctx context.Context) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-tick.C:
			rw.sample()
		case <-ctx.Done():
		}
	}
}

func (rw *rateWatch) sample() {
	shared, err := rw.limiter.Rate(context.Background(), cloud.ActionSendCode)
	page, _ := scrape(rw.url)
	gauge, found := sum(page, "rdonboard_ratelimit_rate", `action="`+cloud.ActionSendCode+`"`)
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if err == nil {
		rw.shared = append(rw.shared, shared)
	}
	if found {
		rw.gauge = append(rw.gauge, gauge)
	}
}

// lowest returns the lowest rate seen so far by each source (0 samples:
// NaN).
func (rw *rateWatch) lowest() (gauge, shared float64) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return minOf(rw.gauge), minOf(rw.shared)
}

// last returns the latest rate of each source (0 samples: NaN).
func (rw *rateWatch) last() (gauge, shared float64) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return lastOf(rw.gauge), lastOf(rw.shared)
}

// sawGauge reports whether the worker exports rdonboard_ratelimit_rate.
func (rw *rateWatch) sawGauge() bool {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return len(rw.gauge) > 0
}

func minOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return slices.Min(xs)
}

func lastOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return xs[len(xs)-1]
}
