// Command idleasynq serves the worker's lanes (the same queues and
// concurrency) with asynq servers left at asynq's own defaults, and nothing
// else: BenchmarkIdleCost measures it idle beside a real worker.
//
//	REDIS_URL=redis://127.0.0.1:6379/0 idleasynq
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/worker"
)

func main() {
	opt, err := asynq.ParseRedisURI(os.Getenv("REDIS_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "idleasynq: REDIS_URL:", err)
		os.Exit(2)
	}
	var servers []*asynq.Server
	for _, l := range worker.Lanes(config.Defaults().Concurrency) {
		srv := asynq.NewServer(opt, asynq.Config{Concurrency: l.Concurrency, Queues: l.Queues, StrictPriority: true, LogLevel: asynq.WarnLevel})
		if err := srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })); err != nil {
			fmt.Fprintln(os.Stderr, "idleasynq:", err)
			os.Exit(1)
		}
		servers = append(servers, srv)
	}
	fmt.Fprintln(os.Stderr, "idleasynq: running")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	for _, s := range servers {
		s.Shutdown()
	}
}
