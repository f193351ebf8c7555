// Package worker runs the long-lived parts of a worker process: the task
// servers of the flow, the HTTP server, and the components other packages
// add (scheduler, collectors), each started and shut down in order.
//
// The flow's queues are served by three lanes, each an asynq server with
// handlers of its own:
//
//	interactive  callback (first), control   codes handed in, expiries, reconciliation
//	bind         bind                        bind calls, waiting for the bind rate
//	send         send_next (first), send     the bulk: one send per code
//
// A backlog of sends, and sends waiting for their turn under the shared rate
// limit, occupy only the send lane: a code a person hands in is picked up by
// the interactive lane at once, and its bind by the bind lane.
package worker

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/flow"
	"github.com/rdonboard/rdonboard/internal/wake"
	"github.com/rdonboard/rdonboard/tasks"
)

// ShutdownTimeout is how long in-flight tasks get to finish on SIGTERM
// before asynq puts them back on their queue.
const ShutdownTimeout = 20 * time.Second

// Component is a long-running part started after the task servers and
// stopped before them.
type Component interface {
	Start(ctx context.Context) error
	Shutdown(ctx context.Context) error
}

// Params are the parts a Worker runs.
type Params struct {
	Redis redis.UniversalClient
	// Handler serves every task type (all lanes share it; each lane only
	// dequeues its own queues).
	Handler asynq.Handler
	// KeyPrefix is the prefix of the worker's own Redis keys (the member
	// store's).
	KeyPrefix string
	// Concurrency is the number of handlers of the process, split across the
	// lanes.
	Concurrency int
	// PollInterval is the longest an idle lane waits for a task to be
	// announced (internal/wake) before it looks at its queues anyway.
	PollInterval time.Duration
	Logger       *zap.Logger
	// HTTP is the HTTP server, or nil.
	HTTP *http.Server
	// TLSCert and TLSKey are PEM files (ONBOARD_TLS_CERT, ONBOARD_TLS_KEY):
	// when set, HTTP serves HTTPS only, TLS 1.2 or later.
	TLSCert, TLSKey string
	// Components are started after the lanes, in order.
	Components []Component
}

// Lane is one asynq server of the worker.
type Lane struct {
	Name        string
	Queues      map[string]int
	Concurrency int
	// DelayedCheck is how often the lane moves its tasks due by now (sends
	// held back for a phone's gap, snoozed or retried tasks) to their
	// queues.
	DelayedCheck time.Duration
}

// sendDelayedCheck is the send lane's DelayedCheck: a phone's next member
// is enqueued to run when the phone gap ends, and every second of a check
// would be lost on each turn of a phone with many members. The other lanes
// check every second.
const sendDelayedCheck = 100 * time.Millisecond

// Lanes splits concurrency across the three lanes: a quarter each (at
// least two, one) to the interactive and bind lanes, the rest to sends.
func Lanes(concurrency int) []Lane {
	interactive := max(2, concurrency/4)
	bind := max(1, concurrency/4)
	send := max(1, concurrency-interactive-bind)
	return []Lane{
		{Name: "interactive", Queues: map[string]int{tasks.QueueCallback: 10, tasks.QueueControl: 1}, Concurrency: interactive, DelayedCheck: time.Second},
		{Name: "bind", Queues: map[string]int{tasks.QueueBind: 1}, Concurrency: bind, DelayedCheck: time.Second},
		{Name: "send", Queues: sendLaneQueues, Concurrency: send, DelayedCheck: sendDelayedCheck},
		{Name: "notify", Queues: map[string]int{tasks.QueueNotify: 1}, Concurrency: max(1, concurrency/10), DelayedCheck: time.Second},
	}
}

// wakeSlack is asynq's pause after a look that found the queues empty,
// before the lane's next look, which the wake Hub holds until there is work:
// it bounds what an announced task waits on top of its announcement.
const wakeSlack = 2 * time.Millisecond

// janitorInterval is how often a lane deletes completed tasks kept for
// their retention (asynq's default: 8 s); the flow keeps none.
const janitorInterval = time.Minute

// Worker is a running worker process.
type Worker struct {
	p       Params
	hub     *wake.Hub
	servers []*asynq.Server
	byLane  []asynq.Handler // the handler of each server
	ready   chan struct{}
	addr    string // the HTTP server's address, once listening
}

// New returns a Worker.
func New(p Params) *Worker {
	if p.Logger == nil {
		p.Logger = zap.NewNop()
	}
	w := &Worker{p: p, ready: make(chan struct{})}
	w.hub = wake.NewHub(wake.Params{Redis: p.Redis, Lanes: laneQueues(Lanes(p.Concurrency)), Idle: p.PollInterval})
	for _, l := range Lanes(p.Concurrency) {
		w.servers = append(w.servers, asynq.NewServerFromRedisClient(p.Redis, w.config(l)))
		h := p.Handler
		if l.Name == "send" {
			h = newSendLane(p.Redis, p.KeyPrefix, h)
		}
		w.byLane = append(w.byLane, h)
	}
	return w
}

func (w *Worker) config(l Lane) asynq.Config {
	log := w.p.Logger.Named("asynq").With(zap.String("lane", l.Name))
	return asynq.Config{
		Concurrency:              l.Concurrency,
		Queues:                   l.Queues,
		StrictPriority:           true,
		IsFailure:                flow.IsFailure,
		RetryDelayFunc:           flow.RetryDelay,
		TaskCheckInterval:        wakeSlack,
		DelayedTaskCheckInterval: l.DelayedCheck,
		JanitorInterval:          janitorInterval,
		ShutdownTimeout:          ShutdownTimeout,
		Logger:                   log.Sugar(),
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler:             asynq.ErrorHandlerFunc(w.taskError),
	}
}

// laneQueues lists each lane's queues, highest priority first, as its
// server looks at them.
func laneQueues(lanes []Lane) [][]string {
	var out [][]string
	for _, l := range lanes {
		qs := slices.Collect(maps.Keys(l.Queues))
		slices.SortFunc(qs, func(a, b string) int { return cmp.Compare(l.Queues[b], l.Queues[a]) })
		out = append(out, qs)
	}
	return out
}

// taskError logs a handler's error: a snooze quietly, a failure loudly.
func (w *Worker) taskError(ctx context.Context, t *asynq.Task, err error) {
	id, _ := asynq.GetTaskID(ctx)
	retried, _ := asynq.GetRetryCount(ctx)
	fields := []zap.Field{zap.String("task_type", t.Type()), zap.String("task_id", id), zap.Int("retried", retried), zap.Error(err)}
	if flow.IsSnooze(err) {
		w.p.Logger.Debug("task put back for later", fields...)
		return
	}
	w.p.Logger.Warn("task failed", fields...)
}

// Run starts everything, blocks until ctx is done, then shuts down: the HTTP
// server first (no new codes), then the components, then the lanes (in-flight
// tasks finish or go back to their queue).
func (w *Worker) Run(ctx context.Context) error {
	_ = w.hub.Start(ctx)
	for i, s := range w.servers {
		if err := s.Start(w.byLane[i]); err != nil {
			w.stopServers(i)
			return fmt.Errorf("start task server: %w", err)
		}
	}
	httpErr := w.serveHTTP()
	started := 0
	var err error
	for _, c := range w.p.Components {
		if err = c.Start(ctx); err != nil {
			break
		}
		started++
	}
	if err == nil {
		w.p.Logger.Info("worker running", zap.Int("concurrency", w.p.Concurrency))
		close(w.ready)
		select {
		case <-ctx.Done():
		case err = <-httpErr:
		}
	}
	w.shutdown(started)
	return err
}

// Ready is closed once the worker runs.
func (w *Worker) Ready() <-chan struct{} { return w.ready }

// HTTPAddr is the address the HTTP server listens on (useful with port 0),
// valid once Ready is closed; empty without an HTTP server.
func (w *Worker) HTTPAddr() string { return w.addr }

func (w *Worker) serveHTTP() <-chan error {
	errc := make(chan error, 1)
	if w.p.HTTP == nil {
		return errc
	}
	ln, err := w.listen()
	if err != nil {
		errc <- fmt.Errorf("HTTP server: %w", err)
		return errc
	}
	w.addr = ln.Addr().String()
	w.p.Logger.Info("HTTP server listening", zap.String("addr", w.addr), zap.Bool("tls", w.p.TLSCert != ""))
	go func() {
		if err := w.p.HTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("HTTP server: %w", err)
		}
	}()
	return errc
}

// listen opens the HTTP server's socket, wrapped in TLS when a certificate
// is configured. The key pair is loaded here so that a bad file stops the
// worker at start, not at the first handshake.
func (w *Worker) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", w.p.HTTP.Addr)
	if err != nil || w.p.TLSCert == "" {
		return ln, err
	}
	cert, err := tls.LoadX509KeyPair(w.p.TLSCert, w.p.TLSKey)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("ONBOARD_TLS_CERT/ONBOARD_TLS_KEY: %w", err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	w.p.HTTP.TLSConfig = cfg
	return tls.NewListener(ln, cfg), nil
}

func (w *Worker) shutdown(components int) {
	w.p.Logger.Info("shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if w.p.HTTP != nil {
		_ = w.p.HTTP.Shutdown(ctx)
	}
	for i := components - 1; i >= 0; i-- {
		if err := w.p.Components[i].Shutdown(ctx); err != nil {
			w.p.Logger.Warn("component shutdown", zap.Error(err))
		}
	}
	w.stopServers(len(w.servers))
}

func (w *Worker) stopServers(n int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = w.hub.Shutdown(ctx)
	for _, s := range w.servers[:n] {
		s.Shutdown()
	}
}
