package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rdonboard/rdonboard/internal/reconcile"
	"github.com/rdonboard/rdonboard/internal/runlog"
)

type reconcileFlags struct {
	verifyAll, wait bool
	format          string
	timeout         time.Duration
}

func (a *app) reconcileCmd() *cobra.Command {
	var f reconcileFlags
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Run a reconciliation pass now and print its summary",
		Long: `Enqueues a reconciliation run (the task the scheduler enqueues) and waits for a
worker to run it: members whose task was lost or archived are put back on
their path, members in doubt are checked against the cloud (every member
with --verify-all, which also flags members bound here but unknown to the
cloud as drift). With no worker running it says so at once, unless --wait.
Exit status: 0 the run finished; 2 it failed, no worker is running, Redis is
unreachable, or no summary came within --timeout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer a.close()
			return a.reconcile(cmd.Context(), f, os.Stdout)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.verifyAll, "verify-all", false, "ask the cloud (GetAccount) about every member, not only those in doubt")
	fl.StringVar(&f.format, "format", "text", "text or json")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "how long to wait for the run's summary")
	fl.BoolVar(&f.wait, "wait", false, "enqueue the run even when no worker is running, and wait for one (up to --timeout)")
	return cmd
}

func (a *app) reconcile(ctx context.Context, f reconcileFlags, out io.Writer) error {
	if f.format != "text" && f.format != "json" {
		return fmt.Errorf("unknown format %q (want text or json)", f.format)
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	if !f.wait {
		if err := reconcile.CheckWorkers(a.rdb); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	runs := runlog.NewRuns(a.rdb, a.store().Prefix())
	sum, err := reconcile.Request(ctx, a.client(), runs, reconcile.RequestOptions{VerifyAll: f.verifyAll})
	if err != nil {
		return err
	}
	if err := writeSummary(out, sum, f.format); err != nil {
		return err
	}
	if sum.Failed != "" {
		return &exitError{code: 2, err: fmt.Errorf("reconciliation run %s failed: %s", sum.Slot, sum.Failed)}
	}
	return nil
}

func writeSummary(w io.Writer, s runlog.Summary, format string) error {
	if format == "text" {
		return runlog.WriteText(w, s)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}
