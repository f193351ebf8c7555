package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/phone"
	"github.com/rdonboard/rdonboard/tasks"
)

func (a *app) notifyCmd() *cobra.Command {
	var byPhone, batch string
	cmd := &cobra.Command{
		Use:   "notify (--phone PHONE | --batch NAME)",
		Short: "Send the owner link again now",
		Long: `Tells the owner of a phone again, now, on every channel the workers have
(email, webhook, DingTalk, Feishu, WeCom), with the phone's owner link: the
same message the owner got when the phone's first code was sent. --batch
does so for every phone with members of the batch still to bind. Each run is
a message of its own; the same command twice within one second sends once.
Prints how many phones were nudged. Exit status: 0; 2 when no phone with
members to bind matched, or Redis is unreachable.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if (byPhone == "") == (batch == "") || len(args) > 0 {
				return errors.New("give --phone PHONE or --batch NAME, one of them")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer a.close()
			return a.nudge(cmd.Context(), byPhone, batch)
		},
	}
	cmd.Flags().StringVar(&byPhone, "phone", "", "the phone whose owner is told again (any accepted form)")
	cmd.Flags().StringVar(&batch, "batch", "", "tell the owner of every phone of this batch with members still to bind")
	return cmd
}

// nudge enqueues one nudge task per matching phone; the worker turns each
// into the owner link's message on each of its channels.
func (a *app) nudge(ctx context.Context, rawPhone, batch string) error {
	site, err := phone.ParseSite(a.cfg.Site)
	if err != nil {
		return err
	}
	var number string
	if rawPhone != "" {
		if number, err = site.Normalize(rawPhone); err != nil {
			return fmt.Errorf("--phone: %w", err)
		}
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	targets, err := a.nudgeTargets(ctx, number, batch)
	if err != nil {
		return err
	}
	at, client := a.now(), a.client()
	for _, m := range targets {
		t, err := tasks.NewNudge(m.AccountID, at)
		if err != nil {
			return err
		}
		if _, err := client.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("nudge the owner of %s: %w", phone.Mask(m.Phone), err)
		}
	}
	fmt.Fprintf(os.Stdout, "owner link sent again to %d phones\n", len(targets))
	if len(targets) == 0 {
		return errors.New("no phone with members to bind matched")
	}
	return nil
}

// nudgeTargets returns one member per phone to nudge: the phone given, or
// each phone of the batch, while it has members to bind.
func (a *app) nudgeTargets(ctx context.Context, number, batch string) ([]member.Member, error) {
	store := a.store()
	if number != "" {
		sum, err := store.PhoneSummary(ctx, number)
		if err != nil || sum.Accounts == 0 || sum.Done() {
			return nil, err
		}
		ms, err := store.PhoneMembers(ctx, number)
		return ms[:min(1, len(ms))], err
	}
	ids, err := store.LiveIDs(ctx, batch)
	if err != nil {
		return nil, err
	}
	ms, err := store.GetMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	seen, out := map[string]bool{}, []member.Member{}
	for _, m := range ms {
		if !seen[m.Phone] {
			seen[m.Phone] = true
			out = append(out, m)
		}
	}
	return out, nil
}
