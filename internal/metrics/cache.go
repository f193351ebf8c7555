package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CacheFor is how long the figures a cached collector read stay served:
// the collectors over Redis cost about 120 commands a scrape, and several
// scrapers (or one caller in a loop) must not multiply that.
const CacheFor = 5 * time.Second

// cached serves the metrics its collector last collected for CacheFor.
// Scrapes that arrive together wait for one collection.
type cached struct {
	prometheus.Collector
	now func() time.Time

	mu      sync.Mutex
	at      time.Time
	metrics []prometheus.Metric
}

// Cached returns c collected at most once per CacheFor, by the clock now
// (time.Now when nil). Its descriptions are c's.
func Cached(c prometheus.Collector, now func() time.Time) prometheus.Collector {
	if now == nil {
		now = time.Now
	}
	return &cached{Collector: c, now: now}
}

// Collect sends the cached metrics, collecting them anew once they are
// CacheFor old.
func (c *cached) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.now(); c.metrics == nil || t.Sub(c.at) >= CacheFor || t.Before(c.at) {
		c.metrics, c.at = collect(c.Collector), t
	}
	for _, m := range c.metrics {
		ch <- m
	}
}

// collect gathers what c sends into a slice.
func collect(c prometheus.Collector) []prometheus.Metric {
	ch := make(chan prometheus.Metric)
	out := []prometheus.Metric{}
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	for m := range ch {
		out = append(out, m)
	}
	return out
}
