package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/rdonboard/rdonboard/internal/ingest"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/phone"
	"github.com/rdonboard/rdonboard/internal/roster"
)

type membersFlags struct {
	batch, rejects, format   string
	dryRun, retry, revealing bool
}

func (a *app) membersCmd() *cobra.Command {
	var f membersFlags
	cmd := &cobra.Command{
		Use:   "members FILE.csv",
		Short: "Start the onboarding flow of every valid member of a CSV",
		Long: `Reads FILE.csv (columns account_id and mobile_phone, see the README's "The roster CSV"), validates every
row, and enqueues one onboarding flow per valid member not already in progress
or done. Rejected rows are reported on stderr and in a rejects CSV.

Exit status: 0 every row accepted or already known; 1 some rows rejected (the
valid rows were still enqueued); 2 nothing was enqueued.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			defer a.close()
			return a.members(cmd.Context(), args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.batch, "batch", "", "batch name of the new members: 1 to 64 of A-Z a-z 0-9 . _ - (default: the file's name without .csv, made to fit)")
	fl.StringVar(&f.rejects, "rejects", "", "path of the rejects CSV (default: FILE.rejects.csv; not written by --dry-run unless given)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "validate and report, touching nothing")
	fl.BoolVar(&f.retry, "retry-failed", false, "restart members in failed or expired")
	fl.BoolVar(&f.revealing, "reveal-phones", false, "write full phone numbers to the rejects CSV and stderr (default: masked)")
	fl.StringVar(&f.format, "format", "text", "summary format on stdout: text or json")
	return cmd
}

func (a *app) members(ctx context.Context, path string, f membersFlags) error {
	if err := checkFormat(f.format); err != nil {
		return err
	}
	if f.batch == "" {
		f.batch = member.BatchFrom(strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), "roster")
	} else if err := member.CheckBatch(f.batch); err != nil {
		return fmt.Errorf("--batch: %w", err)
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	rd, err := roster.NewReaderWith(file, roster.Options{Site: phone.Site(a.cfg.Site)})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := a.connect(ctx); err != nil {
		return err
	}
	out, err := a.openRejects(path, f)
	if err != nil {
		return err
	}
	sum, runErr := a.ingest(ctx, rd, file, out, f)
	if err := out.close(); err != nil && runErr == nil {
		runErr = err
	}
	if err := printSummary(os.Stdout, sum, f.format, out.path); err != nil && runErr == nil {
		runErr = err
	}
	return verdict(sum, runErr)
}

func (a *app) ingest(ctx context.Context, rd *roster.Reader, file *os.File, out *rejectSink, f membersFlags) (ingest.Summary, error) {
	bar := newBar(file)
	out.bar = bar
	hooks := ingest.Hooks{
		Reject: out.write,
		Progress: func(offset int64, s ingest.Summary) {
			if bar != nil {
				bar.Describe(fmt.Sprintf("%d rows, %d accepted, %d rejected", s.Rows, s.Accepted, s.Rejected))
				_ = bar.Set64(offset)
			}
		},
	}
	opts := ingest.Options{Batch: f.batch, RetryFailed: f.retry, DryRun: f.dryRun}
	sum, err := ingest.New(a.store(), ingest.NewClient(a.rdb)).Run(ctx, rd, opts, hooks)
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(os.Stderr)
	}
	return sum, err
}

// verdict turns a run into the exit status the README promises.
func verdict(s ingest.Summary, err error) error {
	switch {
	case err != nil && s.Accepted == 0:
		return fmt.Errorf("nothing enqueued: %w", err)
	case err != nil:
		return fmt.Errorf("stopped after %d rows (%d accepted); run the same command again to finish: %w", s.Rows, s.Accepted, err)
	case s.Rejected > 0:
		return &exitError{code: 1}
	}
	return nil
}

// newBar returns a progress bar over the file's size on a terminal, or nil.
func newBar(file *os.File) *progressbar.ProgressBar {
	if !isatty.IsTerminal(os.Stderr.Fd()) {
		return nil
	}
	info, err := file.Stat()
	if err != nil {
		return nil
	}
	return progressbar.NewOptions64(info.Size(),
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100e6),
		progressbar.OptionClearOnFinish(),
	)
}

// rejectSink reports rejected rows on stderr and in the rejects CSV.
type rejectSink struct {
	path   string
	file   *os.File
	csv    *roster.RejectsWriter
	stderr *bufio.Writer
	reveal bool
	bar    *progressbar.ProgressBar
}

func (a *app) openRejects(input string, f membersFlags) (*rejectSink, error) {
	s := &rejectSink{path: f.rejects, stderr: bufio.NewWriter(os.Stderr), reveal: f.revealing}
	if s.path == "" && !f.dryRun {
		s.path = strings.TrimSuffix(input, filepath.Ext(input)) + ".rejects.csv"
	}
	if s.path == "" {
		return s, nil
	}
	file, err := os.Create(s.path)
	if err != nil {
		return nil, fmt.Errorf("rejects file: %w", err)
	}
	s.file = file
	s.csv, err = roster.NewRejectsWriter(file, f.revealing)
	return s, err
}

func (s *rejectSink) write(r ingest.Reject) error {
	if s.bar != nil {
		_ = s.bar.Clear()
	}
	id, ph := roster.Shown(r.AccountID, r.RawPhone, s.reveal)
	fmt.Fprintf(s.stderr, "line %d: rejected: account_id=%q mobile_phone=%q: %s\n", r.Line, id, ph, r.Reason)
	if s.bar != nil {
		_ = s.stderr.Flush()
	}
	if s.csv == nil {
		return nil
	}
	return s.csv.Write(r.Line, r.AccountID, r.RawPhone, r.Reason)
}

func (s *rejectSink) close() error {
	err := s.stderr.Flush()
	if s.csv != nil {
		if ferr := s.csv.Flush(); ferr != nil && err == nil {
			err = ferr
		}
	}
	if s.file != nil {
		if cerr := s.file.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

func printSummary(w io.Writer, s ingest.Summary, format, rejectsPath string) error {
	if format == "json" {
		return json.NewEncoder(w).Encode(struct {
			ingest.Summary
			RejectsFile string `json:"rejects_file,omitempty"`
		}{s, rejectsPath})
	}
	return ingest.WriteSummary(w, s, rejectsPath)
}
