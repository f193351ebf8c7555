// Command demo runs the whole rdonboard job end to end on this machine:
// an embedded Redis (or REDIS_URL), the sandbox cloud, a worker, the example
// roster and simulated phone owners. `make demo` runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rdonboard/rdonboard/internal/demo"
)

func main() {
	o := demo.Options{Out: os.Stdout, Progress: os.Stderr, RedisURL: os.Getenv("REDIS_URL")}
	flag.StringVar(&o.Roster, "roster", "deploy/examples/members.csv", "members CSV")
	flag.StringVar(&o.Faults, "faults", "deploy/examples/faults.json", "sandbox faults file")
	flag.StringVar(&o.OutDir, "out", "out/demo", "folder for the worker log and the rejects file")
	flag.DurationVar(&o.Timeout, "timeout", 90*time.Second, "time limit")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := demo.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
