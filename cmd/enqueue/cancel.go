package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/tasks"
)

func (a *app) cancelCmd() *cobra.Command {
	var batch string
	cmd := &cobra.Command{
		Use:   "cancel (--batch NAME | ACCOUNT_ID...)",
		Short: "Stop members that are not finished",
		Long: `Members that are not terminal become cancelled: their queued tasks are deleted
and no further SMS is sent to them (a send already in flight may finish; its
code is ignored). Their phones move on to the next member. A later
` + "`enqueue members`" + ` of the same row restarts them. Prints how many were
cancelled. Exit status: 0; 2 when nothing matched or Redis is unreachable.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if (batch == "") == (len(args) == 0) {
				return errors.New("give --batch NAME or account IDs, not both")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			defer a.close()
			return a.cancel(cmd.Context(), batch, args)
		},
	}
	cmd.Flags().StringVar(&batch, "batch", "", "cancel every unfinished member of this batch")
	return cmd
}

func (a *app) cancel(ctx context.Context, batch string, ids []string) error {
	if err := a.connect(ctx); err != nil {
		return err
	}
	store := a.store()
	if batch != "" {
		var err error
		if ids, err = store.LiveIDs(ctx, batch); err != nil {
			return err
		}
	}
	done, err := store.Cancel(ctx, ids, "cancelled by the operator (enqueue cancel)")
	if err != nil {
		return err
	}
	if err := a.dropTasks(ctx, done); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "%d members cancelled\n", len(done))
	if len(done) == 0 {
		return errors.New("no unfinished member matched")
	}
	return nil
}

// dropTasks deletes the queued, scheduled and retrying tasks of cancelled
// members (their handlers would drop them anyway) and enqueues the send of
// each member a phone's turn passed to.
func (a *app) dropTasks(ctx context.Context, done []member.Member) error {
	ins := asynq.NewInspectorFromRedisClient(a.rdb)
	client := a.client()
	for _, m := range done {
		for queue, id := range taskIDs(m) {
			err := ins.DeleteTask(queue, id)
			if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
				a.log.Warn("task of a cancelled member not deleted: its handler will drop it")
			}
		}
		if h := m.HandOn; h != nil {
			t, err := tasks.NewHandOnSend(h.AccountID, h.Step, h.At, a.now())
			if err != nil {
				return err
			}
			if _, err := client.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
				return fmt.Errorf("hand the phone on to %s: %w", h.AccountID, err)
			}
		}
	}
	return nil
}

// taskIDs names the tasks a member at its step may have, by queue.
func taskIDs(m member.Member) map[string]string {
	step := m.Step()
	ids := map[string]string{}
	for _, q := range tasks.SendQueues {
		ids[q] = tasks.SendTaskID(m.AccountID, step)
	}
	switch m.State {
	case member.CodeSent:
		ids[tasks.QueueControl] = tasks.ExpiryTaskID(m.AccountID, step)
	case member.CodeSubmitted:
		ids[tasks.QueueControl] = tasks.ExpiryTaskID(m.AccountID, step)
		ids[tasks.QueueBind] = tasks.BindTaskID(m.AccountID, step, m.CodeAttempts)
	}
	return ids
}
