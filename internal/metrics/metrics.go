// Package metrics owns the project's Prometheus metrics. Labels name
// actions, outcomes, states, queues and batches: never an account ID, a
// phone or a code. A nil *Metrics records nothing, so components work
// without it.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the project's own metrics.
type Metrics struct {
	cloudCalls    *prometheus.CounterVec
	cloudLatency  *prometheus.HistogramVec
	limiterWait   *prometheus.HistogramVec
	limiterDelays *prometheus.CounterVec
	throttles     *prometheus.CounterVec
	codes         *prometheus.CounterVec
	transitions   *prometheus.CounterVec
	pauses        prometheus.Counter
	notifications *prometheus.CounterVec
}

// New registers the metrics with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		cloudCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdonboard_cloud_calls_total",
			Help: "Cloud API calls by action and outcome (ok, or the error class).",
		}, []string{"action", "outcome"}),
		cloudLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rdonboard_cloud_call_duration_seconds",
			Help:    "Duration of cloud API calls by action.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 13),
		}, []string{"action"}),
		limiterWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rdonboard_ratelimit_wait_seconds",
			Help:    "Time a granted cloud call waited for the shared rate limit, by action.",
			Buckets: prometheus.ExponentialBuckets(0.001, 3, 10),
		}, []string{"action"}),
		limiterDelays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdonboard_ratelimit_delays_total",
			Help: "Tasks put back because their turn under the shared rate limit was too far away, by action.",
		}, []string{"action"}),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdonboard_cloud_throttles_total",
			Help: "Throttling answers from the cloud, each halving the shared rate, by action.",
		}, []string{"action"}),
		codes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdonboard_codes_total",
			Help: "Codes handed in, by result (accepted, wrong, bound, not_waiting, too_many, malformed, unknown_member).",
		}, []string{"result"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdonboard_member_transitions_total",
			Help: "Member state changes made by this process, by state left and state reached.",
		}, []string{"from", "to"}),
		pauses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rdonboard_queue_pauses_total",
			Help: "Times this process paused the cloud queues for a caller-wide error.",
		}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rdonboard_notifications_total",
			Help: "Messages to phone owners by channel, event and outcome (delivered, skipped, throttled, error, failed).",
		}, []string{"channel", "event", "outcome"}),
	}
	reg.MustRegister(m.notifications)
	reg.MustRegister(m.cloudCalls, m.cloudLatency, m.limiterWait, m.limiterDelays, m.throttles, m.codes, m.transitions, m.pauses)
	return m
}

// CloudCall records one cloud call.
func (m *Metrics) CloudCall(action, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.cloudCalls.WithLabelValues(action, outcome).Inc()
	m.cloudLatency.WithLabelValues(action).Observe(d.Seconds())
}

// LimiterWait records the wait of a granted call. It is a valid callback
// on a nil *Metrics.
func (m *Metrics) LimiterWait(action string, d time.Duration) {
	if m == nil {
		return
	}
	m.limiterWait.WithLabelValues(action).Observe(d.Seconds())
}

// LimiterDelay records a task put back by the rate limiter.
func (m *Metrics) LimiterDelay(action string) {
	if m == nil {
		return
	}
	m.limiterDelays.WithLabelValues(action).Inc()
}

// Throttle records a throttling answer.
func (m *Metrics) Throttle(action string) {
	if m == nil {
		return
	}
	m.throttles.WithLabelValues(action).Inc()
}

// Code records a code handed in.
func (m *Metrics) Code(result string) {
	if m == nil {
		return
	}
	m.codes.WithLabelValues(result).Inc()
}

// Transition records a member state change.
func (m *Metrics) Transition(from, to string) {
	if m == nil {
		return
	}
	m.transitions.WithLabelValues(from, to).Inc()
}

// Pause records a pause of the cloud queues.
func (m *Metrics) Pause() {
	if m == nil {
		return
	}
	m.pauses.Inc()
}

// Notification records one delivery attempt of a message to a phone's
// owner.
func (m *Metrics) Notification(channel, event, outcome string) {
	if m == nil {
		return
	}
	m.notifications.WithLabelValues(channel, event, outcome).Inc()
}
