package worker

import (
	"context"
	"net/http"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/flow"
	"github.com/rdonboard/rdonboard/internal/httpapi"
	"github.com/rdonboard/rdonboard/internal/intake"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/internal/redisconn"
	"github.com/rdonboard/rdonboard/tasks"
)

// Deps are what a worker process is assembled from.
type Deps struct {
	Config config.Config
	Redis  redis.UniversalClient
	Cloud  cloud.Client
	Logger *zap.Logger
	// Now is the one clock of the process, handed to every part that reads
	// the time; default clock.Real.
	Now clock.Func
	// NotifyRates overrides the chat robots' documented rates (messages
	// per second per channel), for trials and tests that send many
	// messages; default notify.Rates.
	NotifyRates map[string]float64
}

// parts are the shared pieces of a worker process, built once and handed to
// each feature that adds handlers, routes or components.
type parts struct {
	d       Deps
	reg     *prometheus.Registry
	metrics *metrics.Metrics
	store   *member.Store
	client  *asynq.Client
	pauser  *pause.Controller
	limiter *ratelimit.Limiter
	flow    *flow.Flow
	events  flow.Events
	intake  *intake.Intake
	// replicated waits for a replica on a Sentinel primary; nil otherwise.
	replicated func(context.Context) error
	mux        *asynq.ServeMux
	mounts     map[string]http.Handler
	// guard guards /v1/ and /metrics: the web site's bearer check, which
	// counts wrong tokens per address.
	guard      func(http.Handler) http.Handler
	components []Component
}

func newParts(d Deps) *parts {
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	d.Now = d.Now.Or()
	p := &parts{d: d, reg: prometheus.NewRegistry(), mux: asynq.NewServeMux(), mounts: map[string]http.Handler{}}
	p.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p.metrics = metrics.New(p.reg)
	p.store = member.New(d.Redis, member.Options{Now: d.Now, PhoneGap: d.Config.PhoneGap})
	p.client = asynq.NewClientFromRedisClient(d.Redis)
	p.pauser = pause.New(d.Redis, p.store.Prefix(), tasks.CloudQueues)
	p.limiter = newLimiter(d, p.store.Prefix(), p.metrics)
	p.intake = intake.New(p.store, p.client, d.Config.MaxCodeAttempts).ForRedis(d.Config.RedisURL, d.Redis)
	if redisconn.IsSentinel(d.Config.RedisURL) {
		p.replicated = redisconn.NewReplicas(d.Redis, p.store.Prefix()+"replicated", intake.ReplicaWait, nil).Wait
	}
	return p
}

func newLimiter(d Deps, prefix string, m *metrics.Metrics) *ratelimit.Limiter {
	cfg := d.Config
	return ratelimit.New(d.Redis, ratelimit.Options{
		Prefix: prefix,
		Rates: map[string]float64{cloud.ActionSendCode: cfg.SendQPS, cloud.ActionBind: cfg.BindQPS, cloud.ActionGetAccount: cfg.GetQPS,
			cloud.ActionListAccounts: cfg.ListQPS, cloud.ActionListAccountsForParent: cfg.ListQPS},
		OnWait: m.LimiterWait,
		Now:    d.Now,
	})
}

func (p *parts) addFlow() {
	cfg := p.d.Config
	p.flow = flow.New(flow.Params{
		Store: p.store, Cloud: p.d.Cloud, Limiter: p.limiter, Client: p.client, Logger: p.d.Logger.Named("flow"),
		Metrics: p.metrics, Pauser: p.pauser, Now: p.d.Now, Events: p.events, Replicated: p.replicated,
		Config: flow.Config{MaxSends: cfg.MaxSends, MaxCodeAttempts: cfg.MaxCodeAttempts, Window: cfg.Window()},
	})
	p.flow.Register(p.mux)
}

// BuildFlow builds the flow's handlers from d, for calling them directly.
func BuildFlow(d Deps) *flow.Flow {
	p := newParts(d)
	p.addFlow()
	return p.flow
}

// Assemble builds a worker process from its settings: store, limiter,
// flow, lanes, HTTP API and metrics. The binary, the tests and the demo
// all build workers this way.
func Assemble(d Deps) *Worker {
	p := newParts(d)
	p.addNotify()
	p.addFlow()
	p.addReconcile()
	p.addWeb()
	cfg := p.d.Config
	var srv *http.Server
	if cfg.HTTPAddr != "" {
		api := httpapi.New(httpapi.Params{
			Store: p.store, Intake: p.intake, Redis: p.d.Redis, Logger: p.d.Logger.Named("http"),
			Metrics: p.metrics, Token: cfg.CallbackToken, Guard: p.guard, Mounts: p.mounts,
		})
		srv = httpapi.Server(cfg.HTTPAddr, api)
	}
	return New(Params{
		Redis: p.d.Redis, KeyPrefix: p.store.Prefix(), Handler: p.mux, Concurrency: cfg.Concurrency, PollInterval: cfg.PollInterval,
		Logger: p.d.Logger, HTTP: srv, TLSCert: cfg.TLSCert, TLSKey: cfg.TLSKey, Components: p.components,
	})
}
