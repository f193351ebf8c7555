package metrics

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	queuemetrics "github.com/hibiken/asynq/x/metrics"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rdonboard/rdonboard/internal/member"
)

// DefaultScrapeTimeout bounds the Redis reads of one scrape.
const DefaultScrapeTimeout = 5 * time.Second

// NewQueueCollector returns asynq's queue metrics, read through insp at
// each scrape: asynq_queue_size, asynq_queue_latency_seconds,
// asynq_tasks_enqueued_total{state}, asynq_tasks_processed_total,
// asynq_tasks_failed_total, asynq_queue_paused_total (0/1) and
// asynq_queue_memory_usage_approx_bytes, each by queue.
func NewQueueCollector(insp *asynq.Inspector) prometheus.Collector {
	return unchecked{queuemetrics.NewQueueMetricsCollector(insp)}
}

// unchecked hides a collector's descriptions from the registry, so that
// registering it does not read Redis (asynq's collector describes itself by
// collecting).
type unchecked struct{ prometheus.Collector }

func (unchecked) Describe(chan<- *prometheus.Desc) {}

// StateSource is what the state collector reads at each scrape.
type StateSource struct {
	// Counts returns the members of every batch per state.
	Counts func(ctx context.Context) ([]member.BatchCounts, error)
	// Rate returns the calls per second allowed now for an action, across
	// all workers.
	Rate func(ctx context.Context, action string) (float64, error)
	// Actions are the actions whose rate is reported.
	Actions []string
	// Paused reports whether the cloud queues are paused.
	Paused func(ctx context.Context) (bool, error)
	// Timeout bounds the reads of one scrape; default DefaultScrapeTimeout.
	Timeout time.Duration
}

var (
	membersDesc = prometheus.NewDesc("rdonboard_members",
		"Members by batch and state (the whole store: every worker reports the same numbers).",
		[]string{"batch", "state"}, nil)
	rateDesc = prometheus.NewDesc("rdonboard_ratelimit_rate",
		"Cloud calls per second allowed now across all workers, by action (below the setting while throttled).",
		[]string{"action"}, nil)
	pausedDesc = prometheus.NewDesc("rdonboard_paused",
		"1 while the cloud queues are paused for a caller-wide error, else 0.", nil, nil)
	stateUpDesc = prometheus.NewDesc("rdonboard_state_up",
		"1 when the last scrape read the member store, rates and pause, else 0.", nil, nil)
)

// StateCollector reports the job's state read from Redis at each scrape:
// members per batch and state, the shared rate in force, the pause.
type StateCollector struct{ src StateSource }

// NewStateCollector returns a collector over src.
func NewStateCollector(src StateSource) *StateCollector {
	if src.Timeout <= 0 {
		src.Timeout = DefaultScrapeTimeout
	}
	return &StateCollector{src: src}
}

// Describe sends the descriptions of every metric of the collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{membersDesc, rateDesc, pausedDesc, stateUpDesc} {
		ch <- d
	}
}

// Collect reads the state and sends it. A part that cannot be read is left
// out and rdonboard_state_up drops to 0.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.src.Timeout)
	defer cancel()
	ok := c.members(ctx, ch)
	ok = c.rates(ctx, ch) && ok
	ok = c.paused(ctx, ch) && ok
	ch <- prometheus.MustNewConstMetric(stateUpDesc, prometheus.GaugeValue, flag(ok))
}

func (c *StateCollector) members(ctx context.Context, ch chan<- prometheus.Metric) bool {
	if c.src.Counts == nil {
		return true
	}
	counts, err := c.src.Counts(ctx)
	for _, b := range counts {
		for _, st := range member.States {
			ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(b.States[st]), b.Batch, string(st))
		}
	}
	return err == nil
}

func (c *StateCollector) rates(ctx context.Context, ch chan<- prometheus.Metric) bool {
	if c.src.Rate == nil {
		return true
	}
	ok := true
	for _, action := range c.src.Actions {
		r, err := c.src.Rate(ctx, action)
		if err != nil {
			ok = false
			continue
		}
		ch <- prometheus.MustNewConstMetric(rateDesc, prometheus.GaugeValue, r, action)
	}
	return ok
}

func (c *StateCollector) paused(ctx context.Context, ch chan<- prometheus.Metric) bool {
	if c.src.Paused == nil {
		return true
	}
	p, err := c.src.Paused(ctx)
	if err != nil {
		return false
	}
	ch <- prometheus.MustNewConstMetric(pausedDesc, prometheus.GaugeValue, flag(p))
	return true
}

func flag(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
