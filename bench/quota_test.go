package bench

import (
	"testing"
	"time"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/harness"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// Quota use: the cloud's quota per action, the members run through it, and
// the worker processes sharing it.
const (
	quotaQPS     = 50
	quotaMembers = 2000
	quotaWorkers = 2
)

// BenchmarkQuotaUse runs 2,000 members through two worker processes
// against a sandbox whose quota is Q = 50 calls/s per action, with every
// rate configured at Q and owners handing in codes at once. It reports the
// achieved rate of successful sends, binds and GetAccount calls over their
// busy window (first to last call, from the sandbox's arrival times), as a
// share of Q, and the quota rejections. Target: send and bind ≥ 0.95 of Q,
// no rejection.
func BenchmarkQuotaUse(b *testing.B) {
	var send, bind, get float64
	var rejections int
	var others float64
	for range b.N {
		var calls callLog
		env := harness.Start(b, harness.Options{
			Workers: quotaWorkers,
			Sandbox: sandbox.Options{SendQPS: quotaQPS, BindQPS: quotaQPS, GetQPS: quotaQPS, OnCall: calls.add},
			Configure: func(c *config.Config) {
				defaults := config.Defaults()
				c.Concurrency, c.PollInterval = defaults.Concurrency, defaults.PollInterval
				c.SendQPS, c.BindQPS, c.GetQPS = quotaQPS, quotaQPS, quotaQPS
			},
		})
		load := startLoad(b, env.Redis)
		env.StartOwners(env.Worker(0), harness.Correct)
		env.Enqueue("quota", harness.Members(0, quotaMembers), ingest.Options{})
		counts := env.WaitTerminal(quotaMembers, 5*time.Minute)
		if counts["bound"] != quotaMembers {
			b.Fatalf("counts %v, want %d bound", counts, quotaMembers)
		}
		send = rate(calls.ok(sandbox.ActionSendCode)) / quotaQPS
		bind = rate(calls.ok(sandbox.ActionBind)) / quotaQPS
		get = rate(calls.ok(sandbox.ActionGetAccount)) / quotaQPS
		others = load.others(b)
		rejections = 0
		for _, n := range env.Sandbox.Stats().QuotaRejections {
			rejections += n
		}
	}
	b.ReportMetric(send, "send/Q")
	b.ReportMetric(bind, "bind/Q")
	b.ReportMetric(get, "get/Q")
	b.ReportMetric(float64(rejections), "quota-rejections")
	b.ReportMetric(others, "others-cores")
}
