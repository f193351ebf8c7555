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
	return &cobra.Command{
		Use:   "code ACCOUNT_ID CODE",
		Short: "Hand in the verification code a member's phone received",
		Long: `Puts a code on the callback queue exactly as POST /v1/codes does, after the same
checks. Exit status: 0 accepted; 1 refused (unknown member, not waiting for a
code, too many attempts); 2 malformed or Redis unreachable.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer a.close()
			return a.code(cmd.Context(), args[0], args[1])
		},
	}
}

func (a *app) code(ctx context.Context, accountID, code string) error {
	if err := a.connect(ctx); err != nil {
		return err
	}
	state, err := intake.New(a.store(), a.client(), a.cfg.MaxCodeAttempts).Submit(ctx, accountID, code)
	switch {
	case err == nil:
		fmt.Fprintf(os.Stdout, "code for %s handed in: %s\n", accountID, state)
		return nil
	case errors.Is(err, member.ErrNotFound), errors.Is(err, member.ErrNotWaiting), errors.Is(err, member.ErrTooManyAttempts):
		return &exitError{code: 1, err: err}
	}
	return err
}
