// Command worker runs rdonboard's task servers, scheduler and HTTP server;
// `worker status` prints member states.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/cli"
	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/worker"
)

func main() {
	if err := cli.Execute(newRoot()); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		if errors.Is(err, errSettings) {
			// A setting the worker cannot run with: nothing was started.
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// errSettings marks a refused setting, which exits 2.
var errSettings = errors.New("refused settings")

// app is what the subcommands share.
type app struct {
	cfg config.Config
	log *zap.Logger
	rdb redis.UniversalClient
}

func newRoot() *cobra.Command {
	a := &app{}
	run := func(cmd *cobra.Command, _ []string) error { return a.run(cmd.Context()) }
	root := &cobra.Command{
		Use:           "worker",
		Short:         "Run the rdonboard task servers, scheduler and HTTP server",
		Args:          cobra.NoArgs,
		RunE:          run,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	a.cfg.Register(root.PersistentFlags(), config.Worker)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return a.init(cmd) }
	root.AddCommand(
		&cobra.Command{Use: "run", Short: "Run the worker (the default)", Args: cobra.NoArgs, RunE: run},
		a.statusCmd(),
	)
	return root
}

// init resolves the settings; run checks them, as status needs fewer.
func (a *app) init(cmd *cobra.Command) error {
	var err error
	a.log, err = cli.Setup(cmd, &a.cfg, config.Worker, false)
	return err
}

// connect opens Redis and checks that it answers.
func (a *app) connect(ctx context.Context, poolSize int) error {
	var err error
	a.rdb, err = cli.Connect(ctx, a.cfg, poolSize)
	return err
}

func (a *app) run(ctx context.Context) error {
	if err := a.cfg.Validate(config.Worker); err != nil {
		return fmt.Errorf("%w: %w", errSettings, err)
	}
	defer a.log.Sync() //nolint:errcheck // stderr
	if err := a.connect(ctx, 4*a.cfg.Concurrency+20); err != nil {
		return err
	}
	defer a.rdb.Close()
	cc := cli.CloudConfig(a.cfg, a.log)
	cc.Pool = a.cfg.Concurrency
	sdk, err := cloud.New(cc)
	if err != nil {
		return err
	}
	defer sdk.Close()
	return worker.Assemble(worker.Deps{Config: a.cfg, Redis: a.rdb, Cloud: sdk, Logger: a.log}).Run(ctx)
}
