// Package metricstest reads gathered Prometheus samples for tests: the
// samples of a family whose labels include the ones a test names.
package metricstest

import dto "github.com/prometheus/client_model/go"

// Matching returns the samples of f whose labels include every one of
// want (all of them when want is empty).
func Matching(f *dto.MetricFamily, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			if labels[k] != v {
				match = false
				break
			}
		}
		if match {
			out = append(out, m)
		}
	}
	return out
}
