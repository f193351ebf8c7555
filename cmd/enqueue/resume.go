package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/tasks"
)

func (a *app) resumeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "resume",
		Short: "Resume the queues a caller-wide cloud error paused, once its cause is fixed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer a.close()
			return a.resume(cmd.Context())
		},
	}
}

func (a *app) resume(ctx context.Context) error {
	if err := a.connect(ctx); err != nil {
		return err
	}
	r, err := pause.New(a.rdb, a.store().Prefix(), tasks.CloudQueues).Resume(ctx)
	if err != nil {
		return err
	}
	if r == nil {
		fmt.Fprintln(os.Stdout, "queues were not paused; nothing to resume")
		return nil
	}
	fmt.Fprintf(os.Stdout, "resumed queues %v, paused %s ago by %s %s\n",
		tasks.CloudQueues, time.Since(r.At).Round(time.Second), r.Action, r.Code)
	return nil
}
