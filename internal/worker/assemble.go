package worker

import (
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/flow"
	"github.com/rdonboard/rdonboard/internal/httpapi"
	"github.com/rdonboard/rdonboard/internal/intake"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/metrics"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
	"github.com/rdonboard/rdonboard/tasks"
)

// Deps are what a worker process is assembled from.
type Deps struct {
	Config config.Config
	Redis  redis.UniversalClient
	Cloud  cloud.Client
	Logger *zap.Logger
	// Now is the clock of the flow; default time.Now.
	Now func() time.Time
}

// BuildFlow builds the flow's handlers from d, recording into m (may be
// nil).
func BuildFlow(d Deps, m *metrics.Metrics) *flow.Flow {
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	cfg := d.Config
	store := member.New(d.Redis, member.Options{})
	limiter := ratelimit.New(d.Redis, ratelimit.Options{
		Prefix: store.Prefix(),
		Rates:  map[string]float64{cloud.ActionSendCode: cfg.SendQPS, cloud.ActionBind: cfg.BindQPS, cloud.ActionGetAccount: cfg.GetQPS},
		OnWait: m.LimiterWait,
	})
	return flow.New(flow.Params{
		Store: store, Cloud: d.Cloud, Limiter: limiter, Client: asynq.NewClientFromRedisClient(d.Redis),
		Logger: d.Logger.Named("flow"), Metrics: m, Pauser: pause.New(d.Redis, store.Prefix(), tasks.CloudQueues),
		Now: d.Now, Config: flow.Config{MaxSends: cfg.MaxSends, MaxCodeAttempts: cfg.MaxCodeAttempts},
	})
}

// Assemble builds a worker process from its settings: store, limiter,
// flow, lanes, HTTP API and metrics. The binary, the tests and the demo
// all build workers this way.
func Assemble(d Deps) *Worker {
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	cfg := d.Config
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	store := member.New(d.Redis, member.Options{})
	client := asynq.NewClientFromRedisClient(d.Redis)
	mux := asynq.NewServeMux()
	BuildFlow(d, m).Register(mux)
	api := httpapi.New(httpapi.Params{
		Store: store, Intake: intake.New(store, client, cfg.MaxCodeAttempts), Redis: d.Redis,
		Logger: d.Logger.Named("http"), Metrics: m, Token: cfg.CallbackToken,
		Mounts: map[string]http.Handler{"GET /metrics": promhttp.HandlerFor(reg, promhttp.HandlerOpts{})},
	})
	var srv *http.Server
	if cfg.HTTPAddr != "" {
		srv = httpapi.Server(cfg.HTTPAddr, api)
	}
	return New(Params{
		Redis: d.Redis, Handler: mux, Concurrency: cfg.Concurrency, PollInterval: cfg.PollInterval,
		Logger: d.Logger, HTTP: srv,
	})
}
