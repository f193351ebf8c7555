// Command enqueue is the producer CLI of rdonboard: members from a CSV,
// codes, reconciliation runs and resuming paused queues.
//
// Exit status: 0 success; 1 some input refused (rows rejected, a code not
// accepted); 2 nothing done (bad flags, unreadable file, Redis unreachable).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/logging"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/redisconn"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRoot().ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err))
}

// exitError carries an exit status other than 2 for a failed command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "enqueue:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(os.Stderr, "enqueue:", err)
	return 2
}

// app is what every subcommand shares: settings, and the connections
// opened on first use.
type app struct {
	cfg   config.Config
	group config.Group
	log   *zap.Logger
	rdb   redis.UniversalClient
	opt   asynq.RedisConnOpt
	// now is the clock of the store and the tasks; clock.Real.
	now func() time.Time
}

func newRoot() *cobra.Command {
	a := &app{now: clock.Real}
	root := &cobra.Command{
		Use:           "enqueue",
		Short:         "Put onboarding work on the rdonboard queues",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	a.cfg.Register(root.PersistentFlags(), config.Producer)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return a.init(cmd) }
	root.AddCommand(a.membersCmd(), a.codeCmd(), a.reconcileCmd(), a.resumeCmd(), a.discoverCmd(), a.cancelCmd(), a.notifyCmd())
	return root
}

func (a *app) init(cmd *cobra.Command) error {
	fs := cmd.Root().PersistentFlags()
	if err := a.cfg.Resolve(fs, config.Producer); err != nil {
		return err
	}
	if err := a.cfg.Validate(config.Producer); err != nil {
		return err
	}
	log, err := logging.New(a.cfg.LogFormat, a.cfg.LogLevel)
	if err != nil {
		return err
	}
	a.log = log
	redisconn.LogTo(log)
	return nil
}

// connect opens Redis and checks that it answers.
func (a *app) connect(ctx context.Context) error {
	opt, err := redisconn.Parse(a.cfg.RedisURL, redisconn.Options{CAFile: a.cfg.RedisCAFile, PoolSize: 64})
	if err != nil {
		return err
	}
	a.opt, a.rdb = opt, redisconn.Open(opt)
	return redisconn.Ping(ctx, a.rdb, a.cfg.RedisURL, 5*time.Second)
}

func (a *app) close() {
	if a.rdb != nil {
		_ = a.rdb.Close()
	}
	if a.log != nil {
		_ = a.log.Sync()
	}
}

func (a *app) store() *member.Store { return member.New(a.rdb, member.Options{Now: a.now}) }

func (a *app) client() *asynq.Client { return asynq.NewClientFromRedisClient(a.rdb) }
