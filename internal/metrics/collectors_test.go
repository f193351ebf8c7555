package metrics_test

import (
	"context"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/metrics/metricstest"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/tasks"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// scrape reads a worker's /metrics.
func scrape(t *testing.T, p *harness.Proc) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+harness.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value is the value of the sample of family name whose labels include
// want, or -1.
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := families[name]
	if !ok {
		return -1
	}
	for _, m := range metricstest.Matching(f, want) {
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// secretish matches a label value that could be an account ID, a phone or
// a code: six digits or more in a row.
var secretish = regexp.MustCompile(`\d{6,}`)

// TestMetricsAfterASmallRun scrapes /metrics after a few members ran: the
// queue metrics of asynq and the project's own are there, with the values
// the run implies, and no label carries an account ID, phone or code.
func TestMetricsAfterASmallRun(t *testing.T) {
	t.Parallel()
	rows := harness.Members(0, 6)
	env := harness.Start(t, harness.Options{Sandbox: sandbox.Options{Faults: sandbox.Faults{Accounts: map[string]sandbox.AccountFault{
		rows[5].AccountID: {Type: sandbox.TypeCloudAccount}}}}})
	proc := env.Worker(0)
	env.StartOwners(proc, harness.Correct)
	env.Enqueue("trial", rows, ingest.Options{})
	env.WaitTerminal(6, 60*time.Second)

	got := scrape(t, proc)
	checks := []struct {
		name   string
		labels map[string]string
		want   func(float64) bool
	}{
		{"rdonboard_members", map[string]string{"batch": "trial", "state": "bound"}, eq(5)},
		{"rdonboard_members", map[string]string{"batch": "trial", "state": "failed"}, eq(1)},
		{"rdonboard_ratelimit_rate", map[string]string{"action": cloud.ActionSendCode}, eq(env.Config.SendQPS)},
		{"rdonboard_ratelimit_rate", map[string]string{"action": cloud.ActionBind}, eq(env.Config.BindQPS)},
		{"rdonboard_paused", nil, eq(0)},
		{"rdonboard_state_up", nil, eq(1)},
		{"rdonboard_cloud_calls_total", map[string]string{"action": cloud.ActionBind, "outcome": "ok"}, eq(5)},
		{"rdonboard_cloud_call_duration_seconds", map[string]string{"action": cloud.ActionSendCode}, eq(5)},
		{"rdonboard_codes_total", map[string]string{"result": "bound"}, eq(5)},
		{"rdonboard_member_transitions_total", map[string]string{"to": "bound"}, eq(5)},
		{"asynq_queue_size", map[string]string{"queue": tasks.QueueSend}, atLeast(0)},
		{"asynq_queue_latency_seconds", map[string]string{"queue": tasks.QueueSend}, atLeast(0)},
		{"asynq_tasks_processed_total", map[string]string{"queue": tasks.QueueSend}, atLeast(6)},
		{"asynq_tasks_failed_total", map[string]string{"queue": tasks.QueueSend}, atLeast(0)},
		{"asynq_queue_paused_total", map[string]string{"queue": tasks.QueueSend}, eq(0)},
		{"asynq_tasks_enqueued_total", map[string]string{"queue": tasks.QueueCallback, "state": "pending"}, atLeast(0)},
	}
	for _, c := range checks {
		if v := value(got, c.name, c.labels); !c.want(v) {
			t.Errorf("%s%v = %v (-1: missing)", c.name, c.labels, v)
		}
	}
	for name, f := range got {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if secretish.MatchString(l.GetValue()) {
					t.Errorf("%s has label %s=%q: looks like an account ID, phone or code", name, l.GetName(), l.GetValue())
				}
			}
		}
	}

	deployedNamesExist(t, got)

	p := pause.New(env.Redis, env.Store.Prefix(), tasks.CloudQueues)
	if _, err := p.Pause(context.Background(), pause.Reason{Code: "Forbidden.RAM", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// The figures read from Redis are cached for metrics.CacheFor; the pause
	// shows once that has passed.
	got = scrapeUntil(t, proc, 2*metrics.CacheFor, func(fams map[string]*dto.MetricFamily) bool {
		return value(fams, "rdonboard_paused", nil) == 1
	})
	if v := value(got, "rdonboard_paused", nil); v != 1 {
		t.Errorf("rdonboard_paused = %v while paused, want 1", v)
	}
	if v := value(got, "asynq_queue_paused_total", map[string]string{"queue": tasks.QueueBind}); v != 1 {
		t.Errorf("asynq_queue_paused_total{queue=bind} = %v while paused, want 1", v)
	}
	cancelShows(t, env, proc)
}

// cancelShows cancels a batch admitted while sends are paused (its members
// still pending) and checks that the per-state gauge counts them.
func cancelShows(t *testing.T, env *harness.Env, proc *harness.Proc) {
	t.Helper()
	rows := harness.Members(100, 3)
	env.Enqueue("halted", rows, ingest.Options{})
	done, err := env.Store.Cancel(context.Background(), []string{rows[0].AccountID, rows[1].AccountID}, "test cancel")
	if err != nil || len(done) != 2 {
		t.Fatalf("cancel: %v, %d cancelled, want 2", err, len(done))
	}
	// The per-state figures are cached for metrics.CacheFor.
	got := scrapeUntil(t, proc, 2*metrics.CacheFor, func(fams map[string]*dto.MetricFamily) bool {
		return value(fams, "rdonboard_members", map[string]string{"batch": "halted", "state": "cancelled"}) == 2
	})
	for state, want := range map[string]float64{"cancelled": 2, "pending": 1} {
		if v := value(got, "rdonboard_members", map[string]string{"batch": "halted", "state": state}); v != want {
			t.Errorf("rdonboard_members{batch=halted,state=%s} = %v, want %v", state, v, want)
		}
	}
}

// scrapeUntil scrapes p until cond holds of the answer or limit passes,
// and returns the last answer.
func scrapeUntil(t *testing.T, p *harness.Proc, limit time.Duration, cond func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	var got map[string]*dto.MetricFamily
	testwait.Poll(limit, func() bool {
		got = scrape(t, p)
		return cond(got)
	})
	return got
}

func eq(want float64) func(float64) bool     { return func(v float64) bool { return v == want } }
func atLeast(min float64) func(float64) bool { return func(v float64) bool { return v >= min } }

// metricName matches a metric name of the project or of asynq.
var metricName = regexp.MustCompile(`\b(?:rdonboard|asynq)_[a-z_]+\b`)

// deployedNamesExist checks that every metric the alert rules and the
// Grafana dashboard use is exported: seen in the scrape, or declared in
// the source (series that appear only after their first event).
func deployedNamesExist(t *testing.T, scraped map[string]*dto.MetricFamily) {
	t.Helper()
	known := map[string]bool{}
	for name := range scraped {
		known[name] = true
	}
	for _, name := range declaredNames(t) {
		known[name] = true
	}
	for _, file := range []string{"../../deploy/prometheus/alerts.yml", "../../deploy/grafana/rdonboard.json"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricName.FindAllString(string(raw), -1) {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
			if !known[name] && !known[base] {
				t.Errorf("%s uses %s, which no worker exports", filepath.Base(file), name)
			}
		}
	}
}

// declaredNames returns the rdonboard_ names quoted in the Go source under
// internal/.
func declaredNames(t *testing.T) []string {
	t.Helper()
	quoted := regexp.MustCompile(`"(rdonboard_[a-z_]+)"`)
	var names []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		raw, err := os.ReadFile(path)
		for _, m := range quoted.FindAllStringSubmatch(string(raw), -1) {
			names = append(names, m[1])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
