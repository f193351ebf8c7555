package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rdonboard/rdonboard/internal/cli"
	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/cloudcall"
	"github.com/rdonboard/rdonboard/internal/discover"
	"github.com/rdonboard/rdonboard/internal/ratelimit"
)

type discoverFlags struct {
	out, folder, format string
}

func (a *app) discoverCmd() *cobra.Command {
	var f discoverFlags
	cmd := &cobra.Command{
		Use:   "discover",
		Short: "Find the members of the Resource Directory that still need a secure phone",
		Long: `Pages through the directory's members (ListAccounts, or with --folder the
members directly in that folder), asks GetAccount about each ResourceAccount
whether a secure phone is bound, under the shared rates ONBOARD_LIST_QPS and
ONBOARD_GET_QPS, and writes a roster template of the members without one:
columns account_id,display_name,folder_path,mobile_phone,email, the last two
for you to fill in before "enqueue members". Answers are remembered in Redis
for an hour: run again after an interruption, it asks only about the rest.
See docs/discover.md.

Exit status: 0 the template was written; 2 the cloud refused the caller (the
remedy is printed), the cloud or Redis is unreachable, or the run was
interrupted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defer a.close()
			return a.discover(cmd.Context(), f, os.Stdout)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.out, "out", "discovered.csv", "path of the roster template written")
	fl.StringVar(&f.folder, "folder", "", "only the members directly in this folder (its ID, fd-…)")
	fl.StringVar(&f.format, "format", "text", "counts on stdout: text or json")
	return cmd
}

func (a *app) discover(ctx context.Context, f discoverFlags, stdout io.Writer) error {
	if err := checkFormat(f.format); err != nil {
		return err
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	sdk, err := cloud.New(cli.CloudConfig(a.cfg, a.log))
	if err != nil {
		return err
	}
	defer sdk.Close()
	prefix := a.store().Prefix()
	limiter := ratelimit.New(a.rdb, ratelimit.Options{Prefix: prefix, Rates: map[string]float64{
		cloud.ActionGetAccount: a.cfg.GetQPS, cloud.ActionListAccounts: a.cfg.ListQPS, cloud.ActionListAccountsForParent: a.cfg.ListQPS}})
	caller := cloudcall.New(cloudcall.Params{Client: sdk, Limiter: limiter, Mode: cloudcall.Wait})
	bar := newDiscoverBar()
	res, err := discover.Run(ctx, discover.Params{Caller: caller, Redis: a.rdb, Prefix: prefix, Logger: a.log.Named("discover")},
		discover.Options{Folder: f.folder, Progress: bar.show})
	bar.finish()
	if err != nil {
		return fmt.Errorf("discover: %w (after %d members and %d cloud calls; run again to go on: answers of the last hour are kept)",
			err, res.Summary.Members, res.Summary.TotalCalls())
	}
	if err := writeTemplate(f.out, res.Found); err != nil {
		return err
	}
	return printDiscovered(stdout, res.Summary, f)
}

// writeTemplate writes the template whole or not at all: a half-written
// file would pass for the full list.
func writeTemplate(path string, found []discover.Found) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".discovered-*.csv")
	if err != nil {
		return fmt.Errorf("template: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := discover.WriteTemplate(tmp, found); err != nil {
		tmp.Close()
		return fmt.Errorf("template %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("template %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

func printDiscovered(w io.Writer, s discover.Summary, f discoverFlags) error {
	if f.format == "json" {
		return json.NewEncoder(w).Encode(struct {
			discover.Summary
			TotalCalls int    `json:"total_calls"`
			Template   string `json:"template"`
		}{s, s.TotalCalls(), f.out})
	}
	_, err := fmt.Fprintf(w, "%d members: %d resource accounts, %d already bound, %d without a phone (written to %s)\n"+
		"%d cloud calls: %d listing pages, %d GetAccount; %d answers of the last hour reused, %d members not checked\n",
		s.Members, s.ResourceAccounts, s.AlreadyBound, s.WithoutPhone, f.out, s.TotalCalls(),
		s.Calls[cloud.ActionListAccounts]+s.Calls[cloud.ActionListAccountsForParent], s.Calls[cloud.ActionGetAccount],
		s.Remembered, s.Unchecked)
	return err
}

// discoverBar is the progress bar on a terminal; its methods do nothing
// on a nil one.
type discoverBar struct{ bar *progressbar.ProgressBar }

func newDiscoverBar() *discoverBar {
	if !isatty.IsTerminal(os.Stderr.Fd()) {
		return nil
	}
	return &discoverBar{bar: progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100e6),
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
	)}
}

// show moves the bar to the members sorted out of total.
func (b *discoverBar) show(s discover.Summary, total int) {
	if b == nil {
		return
	}
	if total > 0 && b.bar.GetMax() != total {
		b.bar.ChangeMax(total)
	}
	b.bar.Describe(fmt.Sprintf("%d without a phone, %d calls", s.WithoutPhone, s.TotalCalls()))
	_ = b.bar.Set(s.Members)
}

func (b *discoverBar) finish() {
	if b == nil {
		return
	}
	_ = b.bar.Finish()
	fmt.Fprintln(os.Stderr)
}
