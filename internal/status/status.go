// Package status gathers what an operator looks at (members per batch and
// state, the queues, a pause and why) into one snapshot, and renders member
// lists and snapshots as a table, JSON or CSV.
package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/clock"
	"github.com/rdonboard/rdonboard/internal/csvsafe"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/pause"
	"github.com/rdonboard/rdonboard/internal/runlog"
	"github.com/rdonboard/rdonboard/tasks"
)

// Queue is the state of one asynq queue.
type Queue struct {
	Name      string `json:"name"`
	Paused    bool   `json:"paused"`
	Pending   int    `json:"pending"`
	Active    int    `json:"active"`
	Scheduled int    `json:"scheduled"`
	Retry     int    `json:"retry"`
	Archived  int    `json:"archived"`
}

// Snapshot is the state of the whole job at one moment.
type Snapshot struct {
	At      time.Time              `json:"at"`
	Batches []member.BatchCounts   `json:"batches"`
	Queues  []Queue                `json:"queues"`
	Pause   *pause.Reason          `json:"pause,omitempty"`
	Totals  map[member.State]int64 `json:"totals"`
	// Waiting counts pending members by what they wait for (waiting_for:
	// phone, send_window, rate_limit, pause); members waiting for nothing
	// are not counted.
	Waiting map[string]int64 `json:"waiting"`
	// Reconcile holds the last reconciliation runs, newest first (empty
	// without Source.Runs, or before the first run).
	Reconcile []runlog.Summary `json:"reconcile,omitempty"`
	// ReconcileVerifyAll is the newest finished verify-all run, whose drift
	// stands until the next one (nil without Source.Runs, or before one).
	ReconcileVerifyAll *runlog.Summary `json:"reconcile_verify_all,omitempty"`
}

// Source reads snapshots.
type Source struct {
	Store *member.Store
	Insp  *asynq.Inspector
	Pause *pause.Controller
	// Runs, if set, adds the last reconciliation runs to snapshots.
	Runs *runlog.Runs
	// Now stamps each snapshot; default clock.Real.
	Now clock.Func
}

// NewSource is the Source of the member store over rdb: its queues, its
// pause and its reconciliation runs; now stamps snapshots (nil: the wall
// clock). worker status, the status page and the demo all read through
// one.
func NewSource(rdb redis.UniversalClient, store *member.Store, now clock.Func) Source {
	return Source{Store: store, Insp: asynq.NewInspectorFromRedisClient(rdb),
		Pause: pause.New(rdb, store.Prefix(), tasks.CloudQueues), Runs: runlog.NewRuns(rdb, store.Prefix()), Now: now}
}

// ReconcileRuns is how many reconciliation runs a snapshot holds.
const ReconcileRuns = 10

// Snapshot reads the counts of batch (all when empty), the queues and the
// pause.
func (s Source) Snapshot(ctx context.Context, batch string) (Snapshot, error) {
	counts, err := s.Store.Counts(ctx, batch)
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{At: s.Now.Or()().UTC(), Batches: counts, Totals: totals(counts)}
	if snap.Pause, err = s.Pause.Current(ctx); err != nil {
		return Snapshot{}, err
	}
	if err := s.addRuns(ctx, &snap); err != nil {
		return Snapshot{}, err
	}
	if snap.Waiting, err = s.waiting(ctx, batch); err != nil {
		return Snapshot{}, err
	}
	snap.Queues, err = s.queues()
	return snap, err
}

// waiting counts the pending members of batch (all when empty) by what
// they wait for.
func (s Source) waiting(ctx context.Context, batch string) (map[string]int64, error) {
	out := map[string]int64{}
	err := s.Store.Scan(ctx, member.Filter{Batch: batch, State: member.Pending}, func(ms []member.Member) error {
		for _, m := range ms {
			if m.WaitingFor != "" {
				out[m.WaitingFor]++
			}
		}
		return nil
	})
	return out, err
}

func (s Source) addRuns(ctx context.Context, snap *Snapshot) error {
	if s.Runs == nil {
		return nil
	}
	var err error
	if snap.Reconcile, err = s.Runs.Last(ctx, ReconcileRuns); err != nil {
		return err
	}
	v, ok, err := s.Runs.LastVerifyAll(ctx)
	if ok {
		snap.ReconcileVerifyAll = &v
	}
	return err
}

func totals(counts []member.BatchCounts) map[member.State]int64 {
	t := map[member.State]int64{}
	for _, b := range counts {
		for st, n := range b.States {
			t[st] += n
		}
	}
	return t
}

func (s Source) queues() ([]Queue, error) {
	var out []Queue
	for _, name := range tasks.Queues {
		info, err := s.Insp.GetQueueInfo(name)
		if err != nil {
			// A queue nothing was ever enqueued to does not exist yet.
			out = append(out, Queue{Name: name})
			continue
		}
		out = append(out, Queue{Name: name, Paused: info.Paused, Pending: info.Pending, Active: info.Active,
			Scheduled: info.Scheduled, Retry: info.Retry, Archived: info.Archived})
	}
	return out, nil
}

// WriteTable renders a snapshot for a person: members per batch and state,
// the queues, and the pause with what to fix.
func WriteTable(w io.Writer, s Snapshot) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := []string{"batch"}
	for _, st := range member.States {
		header = append(header, string(st))
	}
	header = append(header, "total", "done")
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, b := range s.Batches {
		fmt.Fprintln(tw, row(b.Batch, b.States)+"\t")
	}
	if len(s.Batches) != 1 {
		fmt.Fprintln(tw, row("all", s.Totals)+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	writeWaiting(w, s.Waiting)
	writeQueues(w, s.Queues)
	if s.Pause != nil {
		fmt.Fprintf(w, "\nPAUSED since %s: %s answered %s: %s\n  fix: %s\n  then: enqueue resume\n",
			s.Pause.At.Format(time.RFC3339), s.Pause.Action, s.Pause.Code, s.Pause.Message, s.Pause.Remedy)
	}
	writeReconcile(w, s.Reconcile, s.ReconcileVerifyAll)
	return nil
}

// writeReconcile renders the last reconciliation run, and the drift the
// last verify-all run found.
func writeReconcile(w io.Writer, runs []runlog.Summary, verified *runlog.Summary) {
	if len(runs) == 0 {
		return
	}
	r := runs[0]
	fmt.Fprintf(w, "\nlast reconciliation: %s %s at %s: %d scanned, repairs: %s, %d cloud calls",
		r.Slot, r.Outcome(), r.FinishedAt.Format(time.RFC3339), r.MembersScanned, r.RepairsText(), r.CloudCalls)
	if r.ErrorCount > 0 {
		fmt.Fprintf(w, ", %d errors", r.ErrorCount)
	}
	fmt.Fprintln(w)
	if d := verified; d != nil && d.Drift.Count > 0 {
		fmt.Fprintf(w, "DRIFT (run %s): %d members bound here have no phone in the cloud: %s\n  check them in the console\n",
			d.Slot, d.Drift.Count, strings.Join(d.Drift.AccountIDs, " "))
	}
}

func row(name string, states map[member.State]int64) string {
	var total, done int64
	cells := []string{name}
	for _, st := range member.States {
		n := states[st]
		total += n
		if st.Terminal() {
			done += n
		}
		cells = append(cells, strconv.FormatInt(n, 10))
	}
	pct := "-"
	if total > 0 {
		pct = fmt.Sprintf("%.0f%%", 100*float64(done)/float64(total))
	}
	return strings.Join(append(cells, strconv.FormatInt(total, 10), pct), "\t")
}

func writeQueues(w io.Writer, qs []Queue) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "queue\tstate\tpending\tactive\tscheduled\tretry\tarchived\t")
	for _, q := range qs {
		state := "running"
		if q.Paused {
			state = "PAUSED"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", q.Name, state, q.Pending, q.Active, q.Scheduled, q.Retry, q.Archived)
	}
	_ = tw.Flush()
}

// Format is an output format of member lists.
type Format string

// The formats of `worker status --format`.
const (
	Table Format = "table"
	JSON  Format = "json"
	CSV   Format = "csv"
)

// ParseFormat returns the Format named s.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case Table, JSON, CSV:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (want table, json or csv)", s)
}

// MemberWriter streams member views as a JSON array or CSV rows; CSV cells
// are safe to open in a spreadsheet (csvsafe).
type MemberWriter struct {
	w      io.Writer
	format Format
	csv    *csvsafe.Writer
	n      int
}

// NewMemberWriter starts a member list in format f (JSON or CSV).
func NewMemberWriter(w io.Writer, f Format) (*MemberWriter, error) {
	mw := &MemberWriter{w: w, format: f}
	if f == CSV {
		mw.csv = csvsafe.NewWriter(w)
		return mw, mw.csv.Write(csvHeader)
	}
	_, err := io.WriteString(w, "[")
	return mw, err
}

var csvHeader = []string{"account_id", "mobile_phone", "batch", "state", "sends", "code_attempts",
	"code_expires_at", "last_error_code", "last_error_message", "request_id", "updated_at"}

// Write adds one member.
func (mw *MemberWriter) Write(v member.View) error {
	mw.n++
	if mw.format == CSV {
		return mw.csv.Write([]string{v.AccountID, v.MobilePhone, v.Batch, string(v.State), strconv.Itoa(v.Sends),
			strconv.Itoa(v.CodeAttempts), v.CodeExpiresAt, v.LastErrorCode, v.LastErrorMessage, v.RequestID, v.UpdatedAt})
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sep := ",\n"
	if mw.n == 1 {
		sep = "\n"
	}
	_, err = io.WriteString(mw.w, sep+string(b))
	return err
}

// Close ends the list.
func (mw *MemberWriter) Close() error {
	if mw.format == CSV {
		mw.csv.Flush()
		return mw.csv.Error()
	}
	end := "\n]\n"
	if mw.n == 0 {
		end = "]\n"
	}
	_, err := io.WriteString(mw.w, end)
	return err
}

// WriteMembers writes every member of the filters to w in format f (JSON or
// CSV), phones masked unless reveal is set; the filters are scanned in
// order into one list.
func WriteMembers(ctx context.Context, w io.Writer, f Format, store *member.Store, reveal bool, filters ...member.Filter) error {
	mw, err := NewMemberWriter(w, f)
	if err != nil {
		return err
	}
	for _, filter := range filters {
		err := store.Scan(ctx, filter, func(ms []member.Member) error {
			for _, m := range ms {
				if err := mw.Write(m.View(reveal)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return mw.Close()
}

// waitingFor lists what a pending member may wait for, in the order shown.
var waitingFor = []string{member.WaitingPhone, member.WaitingSendWindow, member.WaitingRateLimit, member.WaitingPause}

// writeWaiting renders the pending members' waiting_for counts on one line.
func writeWaiting(w io.Writer, waiting map[string]int64) {
	parts := make([]string, len(waitingFor))
	for i, k := range waitingFor {
		parts[i] = fmt.Sprintf("%s %d", k, waiting[k])
	}
	fmt.Fprintf(w, "waiting: %s\n\n", strings.Join(parts, ", "))
}
