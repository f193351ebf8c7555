// Package harness runs rdonboard for tests and benchmarks out of real parts:
// a real redis-server database (internal/redistest), the sandbox cloud over
// HTTP through the real SDK client, and worker processes assembled exactly
// as cmd/worker assembles them, any number at once on the same Redis.
package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/flow"
	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/logbuf"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/phone"
	"github.com/rdonboard/rdonboard/internal/redisconn"
	"github.com/rdonboard/rdonboard/internal/redistest"
	"github.com/rdonboard/rdonboard/internal/roster"
	"github.com/rdonboard/rdonboard/internal/sandbox"
	"github.com/rdonboard/rdonboard/internal/simworld"
	"github.com/rdonboard/rdonboard/internal/testwait"
	"github.com/rdonboard/rdonboard/internal/worker"
)

// Token is the bearer token of the workers' HTTP API.
const Token = "harness-token-5d2f8a61"

// Options configures an Env.
type Options struct {
	// Sandbox configures the sandbox cloud.
	Sandbox sandbox.Options
	// Workers is the number of worker processes started; default 1, and 0
	// is taken as 1 (use -1 for none).
	Workers int
	// Configure adjusts the workers' settings after the harness defaults.
	Configure func(*config.Config)
	// RedisURL is the Redis to use; default a database of its own on the
	// package's redis-server.
	RedisURL string
	// Now is the one clock of the workers, their cloud clients and Store;
	// default clock.Real.
	Now clock.Func
	// Site is the cloud site of the sandbox, the workers and Enqueue's
	// roster rule (config.SiteChina or config.SiteInternational); default
	// china.
	Site string
	// NotifyRates overrides the chat robots' rates in the workers (see
	// worker.Deps); default their documented rates.
	NotifyRates map[string]float64
}

// Env is a running rdonboard.
type Env struct {
	t        testing.TB
	RedisURL string
	Redis    redis.UniversalClient
	Store    *member.Store
	Sandbox  *sandbox.Server
	CloudURL string
	now      clock.Func
	rates    map[string]float64
	Client   *asynq.Client
	Config   config.Config
	logs     *logbuf.Buffer
	Logger   *zap.Logger

	mu      sync.Mutex
	workers []*Proc
}

// Start starts an Env; everything stops when the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	e := &Env{t: t, RedisURL: opts.RedisURL, logs: &logbuf.Buffer{}, now: opts.Now.Or(), rates: opts.NotifyRates}
	if e.RedisURL == "" {
		e.RedisURL = redistest.URL(t)
	}
	ropt, err := redisconn.Parse(e.RedisURL, redisconn.Options{})
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	e.Redis = redisconn.Open(ropt)
	e.Store = member.New(e.Redis, member.Options{Now: e.now})
	e.Client = asynq.NewClientFromRedisClient(e.Redis)
	e.Logger = zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(e.logs), zap.DebugLevel))
	if opts.Site != "" {
		opts.Sandbox.Site = opts.Site
	}
	e.startSandbox(opts.Sandbox)
	e.Config = e.defaults()
	if opts.Site != "" {
		e.Config.Site = opts.Site
	}
	if opts.Configure != nil {
		opts.Configure(&e.Config)
	}
	t.Cleanup(e.stop)
	n := opts.Workers
	if n == 0 {
		n = 1
	}
	for i := 0; i < n; i++ {
		e.StartWorker()
	}
	return e
}

func (e *Env) startSandbox(o sandbox.Options) {
	sb, err := sandbox.New(o)
	if err != nil {
		e.t.Fatalf("harness: sandbox: %v", err)
	}
	srv := httptest.NewServer(sb)
	e.t.Cleanup(srv.Close)
	e.Sandbox, e.CloudURL = sb, srv.URL
}

func (e *Env) defaults() config.Config {
	c := config.Defaults()
	c.RedisURL = e.RedisURL
	c.CloudEndpoint = e.CloudURL
	c.SendQPS, c.BindQPS, c.GetQPS = 1000, 1000, 1000
	c.Concurrency = 8
	c.PollInterval = 5 * time.Millisecond
	c.HTTPAddr = "127.0.0.1:0"
	c.CallbackToken = Token
	c.CloudTimeout = 5 * time.Second
	return c
}

// Proc is one running worker process.
type Proc struct {
	W      *worker.Worker
	URL    string
	cancel context.CancelFunc
	done   chan error
	rdb    redis.UniversalClient
	sdk    *cloud.SDK
}

// StartWorker starts one more worker process and waits until it runs.
func (e *Env) StartWorker() *Proc {
	e.t.Helper()
	sdk, err := cloud.New(cloud.Config{Endpoint: e.CloudURL, AccessKeyID: sandbox.DefaultAccessKeyID,
		AccessKeySecret: sandbox.DefaultAccessKeySecret, ReadTimeout: e.Config.CloudTimeout, Pool: e.Config.Concurrency, Now: e.now})
	if err != nil {
		e.t.Fatalf("harness: cloud client: %v", err)
	}
	// Parsed as the worker binary parses REDIS_URL, so a harness on a
	// redis-sentinel:// URL follows a failover as a real worker does.
	ropt, _ := redisconn.Parse(e.RedisURL, redisconn.Options{})
	rdb := redisconn.Open(ropt)
	cfg := e.Config
	cfg.HTTPAddr = e.listenAddr(cfg.HTTPAddr)
	w := worker.Assemble(worker.Deps{Config: cfg, Redis: rdb, Cloud: sdk, Now: e.now, NotifyRates: e.rates,
		Logger: e.Logger.With(zap.Int("proc", len(e.workers)))})
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proc{W: w, cancel: cancel, done: make(chan error, 1), rdb: rdb, sdk: sdk}
	go func() { p.done <- w.Run(ctx) }()
	select {
	case <-w.Ready():
	case err := <-p.done:
		e.t.Fatalf("harness: worker did not start: %v", err)
	case <-time.After(10 * time.Second):
		e.t.Fatalf("harness: worker not ready after 10s")
	}
	p.URL = "http://" + w.HTTPAddr()
	e.mu.Lock()
	e.workers = append(e.workers, p)
	e.mu.Unlock()
	return p
}

// listenAddr turns a port 0 into a free port, so that the worker's links
// (built from its configured address, never from a request) name the
// address it serves.
func (e *Env) listenAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port != "0" {
		return addr
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		e.t.Fatalf("harness: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Stop shuts the process down gracefully and waits for it.
func (p *Proc) Stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	<-p.done
	p.cancel = nil
	_ = p.rdb.Close()
	p.sdk.Close()
}

func (e *Env) stop() {
	e.mu.Lock()
	ws := e.workers
	e.mu.Unlock()
	for _, p := range ws {
		p.Stop()
	}
	if e.t.Failed() {
		e.t.Logf("harness: last log lines:\n%s", e.logs.Tail(60))
	}
	_ = e.Client.Close()
	_ = e.Redis.Close()
}

// Logs returns every log line written so far.
func (e *Env) Logs() string { return e.logs.String() }

// Worker returns the i-th worker process started.
func (e *Env) Worker(i int) *Proc {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.workers[i]
}

// Row is one roster row (simworld.Member); Name is its display_name and
// Email its owner's address (either may be empty).
type Row = simworld.Member

// Enqueue runs `enqueue members` on rows (through the real CSV reader and
// ingest) into batch.
func (e *Env) Enqueue(batch string, rows []Row, opts ingest.Options) ingest.Summary {
	e.t.Helper()
	rd, err := roster.NewReaderWith(strings.NewReader(simworld.RosterCSV(rows)), roster.Options{Site: phone.Site(e.Config.Site)})
	if err != nil {
		e.t.Fatalf("harness: roster: %v", err)
	}
	opts.Batch = batch
	sum, err := ingest.New(e.Store, e.Client).Run(context.Background(), rd, opts, ingest.Hooks{})
	if err != nil {
		e.t.Fatalf("harness: ingest: %v", err)
	}
	return sum
}

// Members returns n rows with distinct account IDs and phones, starting at
// first (simworld.Members).
func Members(first, n int) []Row { return simworld.Members(first, n) }

// httpClient keeps enough idle connections for many owners answering at
// once.
var httpClient = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxIdleConns: 64},
}

// PostCode posts a code to a worker's HTTP intake and returns the status.
func (e *Env) PostCode(p *Proc, accountID, code string) int {
	e.t.Helper()
	return e.postCode(p, map[string]string{"account_id": accountID, "code": code})
}

// postCode posts a code request body to a worker's HTTP intake.
func (e *Env) postCode(p *Proc, fields map[string]string) int {
	body, _ := json.Marshal(fields)
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/v1/codes", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+Token)
	resp, err := httpClient.Do(req)
	if err != nil {
		e.t.Errorf("harness: post code: %v", err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Counts returns the number of members per state.
func (e *Env) Counts() map[member.State]int64 {
	counts, err := e.Store.Counts(context.Background(), "")
	if err != nil {
		e.t.Fatalf("harness: counts: %v", err)
	}
	out := map[member.State]int64{}
	for _, b := range counts {
		for st, n := range b.States {
			out[st] += n
		}
	}
	return out
}

// WaitTerminal waits until n members are in a terminal state and returns
// the counts; it fails the test after timeout.
func (e *Env) WaitTerminal(n int64, timeout time.Duration) map[member.State]int64 {
	e.t.Helper()
	return e.WaitFor(timeout, func(c map[member.State]int64) bool {
		return c[member.Bound]+c[member.AlreadyBound]+c[member.Failed]+c[member.Expired] >= n
	})
}

// WaitFor polls the counts until cond holds, failing the test after timeout.
func (e *Env) WaitFor(timeout time.Duration, cond func(map[member.State]int64) bool) map[member.State]int64 {
	e.t.Helper()
	var c map[member.State]int64
	if !testwait.Poll(timeout, func() bool { c = e.Counts(); return cond(c) }) {
		e.t.Fatalf("harness: condition not met after %s; counts %v", timeout, c)
	}
	return c
}

// Flow returns the flow's handlers over the Env's parts, for calling them
// directly (with its own cloud client).
func (e *Env) Flow() *flow.Flow {
	e.t.Helper()
	return e.FlowOn(e.Redis)
}

// FlowOn is Flow over the Redis connection rdb (one with a test's hooks).
func (e *Env) FlowOn(rdb redis.UniversalClient) *flow.Flow {
	e.t.Helper()
	sdk, err := cloud.New(cloud.Config{Endpoint: e.CloudURL, AccessKeyID: sandbox.DefaultAccessKeyID,
		AccessKeySecret: sandbox.DefaultAccessKeySecret, ReadTimeout: e.Config.CloudTimeout, Now: e.now})
	if err != nil {
		e.t.Fatalf("harness: cloud client: %v", err)
	}
	e.t.Cleanup(sdk.Close)
	return worker.BuildFlow(worker.Deps{Config: e.Config, Redis: rdb, Cloud: sdk, Logger: e.Logger, Now: e.now})
}
