package main

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/status"
)

type statusFlags struct {
	batch, state, format string
	reveal               bool
	links                bool
}

func (a *app) statusCmd() *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print member states: counts per batch and state (table), or every member (json, csv)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.status(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.batch, "batch", "", "only this batch")
	fl.StringVar(&f.state, "state", "", "only members in this state (json, csv)")
	fl.StringVar(&f.format, "format", "table", "table, json or csv")
	fl.BoolVar(&f.reveal, "reveal-phones", false, "print full phone numbers (default: masked)")
	fl.BoolVar(&f.links, "links", false, "print the self-service code link of each member waiting for a code (CSV)")
	return cmd
}

func (a *app) status(ctx context.Context, f statusFlags) error {
	if f.links {
		return a.printLinks(ctx, f.batch)
	}
	format, err := status.ParseFormat(f.format)
	if err != nil {
		return err
	}
	filter := member.Filter{Batch: f.batch}
	if f.state != "" {
		if filter.State, err = member.ParseState(f.state); err != nil {
			return err
		}
	}
	if err := a.connect(ctx, 10); err != nil {
		return err
	}
	defer a.rdb.Close()
	store := member.New(a.rdb, member.Options{})
	if format == status.Table {
		src := status.NewSource(a.rdb, store, nil)
		snap, err := src.Snapshot(ctx, f.batch)
		if err != nil {
			return err
		}
		return status.WriteTable(os.Stdout, snap)
	}
	return listMembers(ctx, store, filter, format, f.reveal)
}

func listMembers(ctx context.Context, store *member.Store, filter member.Filter, format status.Format, reveal bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	return status.WriteMembers(ctx, os.Stdout, format, store, reveal, filter)
}
