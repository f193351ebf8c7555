package worker

import (
	"context"
	"maps"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/i18n"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/ownermsg"
	"github.com/rdonboard/rdonboard/internal/redisconn"
	"github.com/rdonboard/rdonboard/internal/status"
	"github.com/rdonboard/rdonboard/internal/web"
)

// addWeb adds the web surface: the queue dashboard, the status page, the
// self-service code page and the collectors behind /metrics.
func (p *parts) addWeb() {
	cfg := p.d.Config
	insp := asynq.NewInspectorFromRedisClient(p.d.Redis)
	p.reg.MustRegister(metrics.Cached(metrics.NewQueueCollector(insp), p.d.Now), metrics.Cached(metrics.NewStateCollector(p.stateSource()), p.d.Now))
	site := web.New(web.Params{
		Store: p.store, Intake: p.intake, Token: cfg.CallbackToken,
		Status:    status.NewSource(p.d.Redis, p.store, p.d.Now),
		Messages:  ownermsg.New(p.d.Redis, p.store.Prefix()),
		Links:     web.NewLinks(cfg.LinkSecret, p.d.Now),
		PublicURL: web.BaseURLFor(cfg.PublicURL, cfg.HTTPAddr, cfg.TLSCert != ""), Locale: i18n.Parse(cfg.Locale), Zone: cfg.Location(),
		Dashboard: p.dashboardConn(), DashboardWritable: cfg.DashboardWritable,
		MaxCodeAttempts: cfg.MaxCodeAttempts, Redis: p.d.Redis, Prefix: p.store.Prefix(),
		Logger: p.d.Logger.Named("web"), Now: p.d.Now,
	})
	maps.Copy(p.mounts, site.Routes())
	p.guard = site.RequireToken
	// The figures name batches and counts: behind the token like /v1/.
	p.mounts["GET /metrics"] = site.RequireToken(promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{}))
	p.components = append(p.components, site)
}

// stateSource is what /metrics reads of the job at each scrape.
func (p *parts) stateSource() metrics.StateSource {
	return metrics.StateSource{
		Counts:  func(ctx context.Context) ([]member.BatchCounts, error) { return p.store.Counts(ctx, "") },
		Rate:    p.limiter.Rate,
		Actions: []string{cloud.ActionSendCode, cloud.ActionBind, cloud.ActionGetAccount},
		Paused: func(ctx context.Context) (bool, error) {
			r, err := p.pauser.Current(ctx)
			return r != nil, err
		},
	}
}

// dashboardConn is asynqmon's connection (it opens its own), or nil when
// REDIS_URL does not parse; the worker's own connection parsed it already.
func (p *parts) dashboardConn() asynq.RedisConnOpt {
	cfg := p.d.Config
	opt, err := redisconn.Parse(cfg.RedisURL, redisconn.Options{CAFile: cfg.RedisCAFile})
	if err != nil {
		p.d.Logger.Error("queue dashboard off", zap.Error(err))
		return nil
	}
	return opt
}
