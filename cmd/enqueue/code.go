package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/rdonboard/rdonboard/internal/intake"
	"github.com/rdonboard/rdonboard/internal/member"
)

func (a *app) codeCmd() *cobra.Command {
	var byPhone string
	cmd := &cobra.Command{
		Use:   "code (ACCOUNT_ID | --phone PHONE) CODE",
		Short: "Hand in the verification code a member's phone received",
		Long: `Puts a code on the callback queue exactly as POST /v1/codes does, after the same
checks. Exit status: 0 accepted; 1 refused (unknown member, not waiting for a
code, too many attempts); 2 malformed or Redis unreachable. With --phone the
code goes to the member of that phone whose code is live.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if byPhone != "" {
				return cobra.ExactArgs(1)(cmd, args)
			}
			return cobra.ExactArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			defer a.close()
			if byPhone != "" {
				return a.codeByPhone(cmd.Context(), byPhone, args[0])
			}
			return a.code(cmd.Context(), args[0], args[1])
		},
	}
	cmd.Flags().StringVar(&byPhone, "phone", "", "the phone the code came to, instead of the account")
	return cmd
}

// codeByPhone hands in a code naming the phone.
func (a *app) codeByPhone(ctx context.Context, phone, code string) error {
	if err := a.connect(ctx); err != nil {
		return err
	}
	id, state, err := a.intake().SubmitByPhone(ctx, phone, code)
	return a.codeOutcome(id, state, err)
}

func (a *app) code(ctx context.Context, accountID, code string) error {
	if err := a.connect(ctx); err != nil {
		return err
	}
	state, err := a.intake().Submit(ctx, accountID, code)
	return a.codeOutcome(accountID, state, err)
}

// codeOutcome prints an accepted code and maps a refusal to exit 1.
func (a *app) codeOutcome(accountID string, state member.State, err error) error {
	switch {
	case err == nil:
		fmt.Fprintf(os.Stdout, "code for %s handed in: %s\n", accountID, state)
		return nil
	case errors.Is(err, member.ErrNotFound), errors.Is(err, member.ErrNoSuchPhone), errors.Is(err, member.ErrNotWaiting), errors.Is(err, member.ErrTooManyAttempts):
		return &exitError{code: 1, err: err}
	}
	return err
}

// intake is the code intake of `enqueue code`, waiting for a replica as the
// worker's does.
func (a *app) intake() *intake.Intake {
	return intake.New(a.store(), a.client(), a.cfg.MaxCodeAttempts).ForRedis(a.cfg.RedisURL, a.rdb)
}
