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
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/cli"
	"github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/config"
	"github.com/rdonboard/rdonboard/internal/member"
)

func main() {
	os.Exit(exitCode(cli.Execute(newRoot())))
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

// init checks every producer setting before a subcommand runs.
func (a *app) init(cmd *cobra.Command) error {
	var err error
	a.log, err = cli.Setup(cmd, &a.cfg, config.Producer, true)
	return err
}

// connect opens Redis and checks that it answers.
func (a *app) connect(ctx context.Context) error {
	var err error
	a.rdb, err = cli.Connect(ctx, a.cfg, 64) // close closes it, also after a failed check
	return err
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

// checkFormat refuses a --format of members or discover other than text
// and json, before anything is read or opened.
func checkFormat(format string) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("--format %q: want text or json", format)
	}
	return nil
}
