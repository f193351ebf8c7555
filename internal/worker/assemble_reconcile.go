package worker

import (
	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/reconcile"
	"github.com/rdonboard/rdonboard/internal/runlog"
)

// addReconcile adds scheduled reconciliation runs: the reconcile task
// handler, the scheduler component, and their metrics.
func (p *parts) addReconcile() {
	runs := runlog.NewRuns(p.d.Redis, p.store.Prefix())
	log := p.d.Logger.Named("reconcile")
	reconcile.New(reconcile.Params{
		Store: p.store, Flow: p.flow, Client: p.client, Inspector: asynq.NewInspectorFromRedisClient(p.d.Redis),
		Cloud: p.d.Cloud, Limiter: p.limiter, Pauser: p.pauser, Runs: runs,
		Metrics: metrics.NewReconcile(p.reg, runs.LastRun), CloudMetrics: p.metrics, Logger: log, Now: p.d.Now,
	}).Register(p.mux)
	p.components = append(p.components, reconcile.NewScheduler(reconcile.SchedulerParams{
		Spec: p.d.Config.ReconcileCron, Client: p.client, Runs: runs, Logger: log, Now: p.d.Now,
	}))
}
