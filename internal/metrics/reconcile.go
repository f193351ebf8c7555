package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LastRun is what the reconciliation gauges show: the latest stored run,
// whichever worker process ran it.
type LastRun struct {
	// FinishedAt is when the newest finished run ended.
	FinishedAt time.Time
	// Drift is the number of members bound here but without a phone in the
	// cloud, found by the newest run that looked at every bound member;
	// DriftKnown is false before such a run.
	Drift      int
	DriftKnown bool
}

// LastRunFunc reads the latest stored run; ok is false before the first.
type LastRunFunc func(ctx context.Context) (run LastRun, ok bool, err error)

// Reconcile are the metrics of reconciliation runs. Counters count the runs
// of this process; the gauges read the latest run of any process from
// Redis at each scrape, so every worker reports the same drift. A nil
// *Reconcile records nothing.
type Reconcile struct {
	runs    *prometheus.CounterVec
	repairs *prometheus.CounterVec
}

var (
	reconcileDriftDesc = prometheus.NewDesc("rdonboard_reconcile_drift_members",
		"Members bound here whose phone the cloud does not report, found by the latest verify-all reconciliation run (any process).",
		nil, nil)
	reconcileLastDesc = prometheus.NewDesc("rdonboard_reconcile_last_finished_timestamp_seconds",
		"When the latest finished reconciliation run (any process) ended, as a Unix time.", nil, nil)
)

// NewReconcile registers the reconciliation metrics with reg; last feeds
// the gauges (nil: no gauges).
func NewReconcile(reg prometheus.Registerer, last LastRunFunc) *Reconcile {
	m := &Reconcile{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdonboard_reconcile_runs_total",
			Help: "Reconciliation runs of this process by outcome (finished, failed, skipped).",
		}, []string{"outcome"}),
		repairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdonboard_reconcile_repairs_total",
			Help: "Members put right by reconciliation runs of this process, by kind of repair.",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.runs, m.repairs)
	for _, outcome := range []string{"finished", "failed", "skipped"} {
		m.runs.WithLabelValues(outcome)
	}
	if last != nil {
		reg.MustRegister(&lastRunCollector{last: last, timeout: DefaultScrapeTimeout})
	}
	return m
}

// Kinds makes the repair counters of kinds exist at zero, so a rate over
// them has a series before the first repair.
func (m *Reconcile) Kinds(kinds ...string) {
	if m == nil {
		return
	}
	for _, k := range kinds {
		m.repairs.WithLabelValues(k)
	}
}

// Run records one run that ended with outcome and made repairs (by kind).
func (m *Reconcile) Run(outcome string, repairs map[string]int) {
	if m == nil {
		return
	}
	m.runs.WithLabelValues(outcome).Inc()
	for kind, n := range repairs {
		m.repairs.WithLabelValues(kind).Add(float64(n))
	}
}

// lastRunCollector reports the latest stored run.
type lastRunCollector struct {
	last    LastRunFunc
	timeout time.Duration
}

// Describe sends the descriptions of the gauges.
func (c *lastRunCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- reconcileDriftDesc
	ch <- reconcileLastDesc
}

// Collect reads the latest run; before the first run, or when Redis does
// not answer, the gauges are left out.
func (c *lastRunCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	run, ok, err := c.last(ctx)
	if err != nil || !ok {
		return
	}
	if run.DriftKnown {
		ch <- prometheus.MustNewConstMetric(reconcileDriftDesc, prometheus.GaugeValue, float64(run.Drift))
	}
	ch <- prometheus.MustNewConstMetric(reconcileLastDesc, prometheus.GaugeValue, float64(run.FinishedAt.UnixMilli())/1000)
}
