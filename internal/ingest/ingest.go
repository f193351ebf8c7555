// Package ingest turns a roster into onboarding flows: every valid row is
// admitted into the member store and, when its flow is due, gets its send
// task. Rows stream through three stages (read, admit in pipelined chunks,
// enqueue concurrently), so memory stays flat and Redis round trips are not
// the bottleneck.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"

	"github.com/rdonboard/rdonboard/internal/ctxwait"
	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/roster"
	"github.com/rdonboard/rdonboard/tasks"
)

// Defaults of Options. A chunk of 128 rows holds Redis for about a
// millisecond, short enough not to stall the enqueuers; 48 enqueuers keep
// the pipelines of NewClient deep (measured in bench/, BenchmarkIngest).
const (
	DefaultChunk     = 128
	DefaultAdmitters = 4
	DefaultEnqueuers = 48
)

// ReasonBoundElsewhere is the reject reason of a row whose member is bound
// to another phone.
const ReasonBoundElsewhere = "mobile_phone differs from the phone already bound to this account; a bound phone cannot be changed"

// ReasonBindInFlight is the reject reason of a row that changes the phone
// of a member whose bind with its current phone is in flight or had no
// answer: that phone may end bound, so the row waits for the bind's end.
const ReasonBindInFlight = "mobile_phone differs from the phone a bind is in flight for; run again once the member has moved on (worker status)"

// Options tunes a run.
type Options struct {
	// Batch names the batch new members join.
	Batch string
	// RetryFailed restarts members in failed or expired.
	RetryFailed bool
	// DryRun validates and predicts, writing nothing.
	DryRun bool
	// Chunk is the number of rows admitted per round trip.
	Chunk int
	// Admitters and Enqueuers are the concurrency of the two stages.
	Admitters, Enqueuers int
}

func (o *Options) defaults() {
	if o.Chunk <= 0 {
		o.Chunk = DefaultChunk
	}
	if o.Admitters <= 0 {
		o.Admitters = DefaultAdmitters
	}
	if o.Enqueuers <= 0 {
		o.Enqueuers = DefaultEnqueuers
	}
}

// Reject is one refused row.
type Reject struct {
	Line      int
	AccountID string
	RawPhone  string
	Reason    string
}

// Summary counts what a run did. In a dry run, Accepted counts the flows
// that would start.
type Summary struct {
	// Rows is the number of data rows read.
	Rows int64 `json:"rows"`
	// Accepted counts members whose flow was started (or whose lost send
	// task was enqueued again).
	Accepted int64 `json:"accepted"`
	// Unchanged counts members already in progress or done.
	Unchanged int64 `json:"unchanged"`
	// Rejected counts refused rows.
	Rejected int64 `json:"rejected"`
	// Restarted counts the accepted members whose earlier flow was replaced
	// (changed phone, --retry-failed).
	Restarted int64 `json:"restarted"`
	// DryRun is set when nothing was written.
	DryRun bool `json:"dry_run"`
}

// Hooks receive what a run finds as it goes. Both are called from one
// goroutine at a time.
type Hooks struct {
	// Reject is called for every refused row.
	Reject func(Reject) error
	// Progress is called after each chunk with the bytes read so far and the
	// counts.
	Progress func(offset int64, s Summary)
}

// Ingester admits rosters into a store and enqueues their send tasks.
type Ingester struct {
	store  *member.Store
	client *asynq.Client
}

// New returns an Ingester. client may be nil for dry runs.
func New(store *member.Store, client *asynq.Client) *Ingester {
	return &Ingester{store: store, client: client}
}

type chunk struct {
	rows  []roster.Row
	cands []member.Candidate
	// offset is the bytes read when the chunk was full.
	offset int64
}

type sendJob struct {
	accountID string
	step      tasks.Step
	outcome   member.Outcome
	// handOn: the send of a member another's changed phone passed its
	// phone's turn to, due at (zero: at once); not a row of the roster.
	handOn *member.HandOn
}

// run is the state of one Run.
type run struct {
	in                                             *Ingester
	opts                                           Options
	hooks                                          Hooks
	mu                                             sync.Mutex // serialises hooks
	rows, accepted, unchanged, rejected, restarted atomic.Int64
}

// Run reads rd to the end and returns what it did. On an error (Redis lost,
// a read error) it stops and returns the counts so far with the error; a
// second run of the same file finishes the job, since admitting is
// idempotent.
func (in *Ingester) Run(ctx context.Context, rd *roster.Reader, opts Options, hooks Hooks) (Summary, error) {
	opts.defaults()
	r := &run{in: in, opts: opts, hooks: hooks}
	g, ctx := errgroup.WithContext(ctx)
	chunks := make(chan chunk, opts.Admitters)
	sends := make(chan sendJob, opts.Chunk*opts.Admitters)
	g.Go(func() error {
		defer close(chunks)
		return r.read(ctx, rd, chunks)
	})
	var admitters sync.WaitGroup
	for i := 0; i < opts.Admitters; i++ {
		admitters.Add(1)
		g.Go(func() error {
			defer admitters.Done()
			return r.admit(ctx, chunks, sends)
		})
	}
	go func() {
		admitters.Wait()
		close(sends)
	}()
	for i := 0; i < opts.Enqueuers; i++ {
		g.Go(func() error { return r.enqueue(ctx, sends) })
	}
	err := g.Wait()
	return r.summary(), err
}

func (r *run) summary() Summary {
	return Summary{
		Rows: r.rows.Load(), Accepted: r.accepted.Load(), Unchanged: r.unchanged.Load(),
		Rejected: r.rejected.Load(), Restarted: r.restarted.Load(), DryRun: r.opts.DryRun,
	}
}

func (r *run) read(ctx context.Context, rd *roster.Reader, out chan<- chunk) error {
	c := chunk{}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		r.rows.Add(1)
		if row.Reject != "" {
			if err := r.reject(Reject{row.Line, row.AccountID, row.RawPhone, row.Reject}); err != nil {
				return err
			}
			continue
		}
		c.rows = append(c.rows, row)
		c.cands = append(c.cands, member.Candidate{AccountID: row.AccountID, Phone: row.Phone, Batch: r.opts.Batch,
			DisplayName: row.DisplayName, Email: row.Email})
		if len(c.rows) == r.opts.Chunk {
			c.offset = rd.Offset()
			if err := ctxwait.Send(ctx, out, c); err != nil {
				return err
			}
			c = chunk{}
		}
	}
	c.offset = rd.Offset()
	if len(c.rows) > 0 {
		return ctxwait.Send(ctx, out, c)
	}
	r.progress(c.offset)
	return nil
}

func (r *run) admit(ctx context.Context, in <-chan chunk, out chan<- sendJob) error {
	for c := range in {
		adms, err := r.in.store.Admit(ctx, c.cands, member.AdmitOptions{RetryFailed: r.opts.RetryFailed, DryRun: r.opts.DryRun})
		if err != nil {
			return err
		}
		for i, a := range adms {
			if err := r.route(ctx, c.rows[i], a, out); err != nil {
				return err
			}
		}
		r.progress(c.offset)
	}
	return nil
}

// route decides what follows one admission.
func (r *run) route(ctx context.Context, row roster.Row, a member.Admission, out chan<- sendJob) error {
	switch {
	case a.Outcome == member.RefusedBound:
		return r.reject(Reject{row.Line, row.AccountID, row.RawPhone, ReasonBoundElsewhere})
	case a.Outcome == member.RefusedBinding:
		return r.reject(Reject{row.Line, row.AccountID, row.RawPhone, ReasonBindInFlight})
	case !a.NeedsSend():
		r.unchanged.Add(1)
		return nil
	case r.opts.DryRun:
		r.count(a.Outcome, false)
		return nil
	}
	if a.HandOn != nil {
		if err := ctxwait.Send(ctx, out, sendJob{handOn: a.HandOn}); err != nil {
			return err
		}
	}
	return ctxwait.Send(ctx, out, sendJob{accountID: row.AccountID, step: a.Step, outcome: a.Outcome})
}

func (r *run) enqueue(ctx context.Context, in <-chan sendJob) error {
	for j := range in {
		if j.handOn != nil {
			if err := r.enqueueHandOn(ctx, j.handOn); err != nil {
				return err
			}
			continue
		}
		t, err := tasks.NewSendCode(j.accountID, j.step)
		if err != nil {
			return err
		}
		_, err = r.in.client.EnqueueContext(ctx, t)
		conflict := errors.Is(err, asynq.ErrTaskIDConflict)
		if err != nil && !conflict {
			return fmt.Errorf("enqueue send for %s: %w", j.accountID, err)
		}
		r.count(j.outcome, conflict)
	}
	return nil
}

// enqueueHandOn enqueues the send of the member a phone's turn passed to
// when an admitted member left that phone, at the earliest moment its SMS
// may go. One already there under its ID is the same send.
func (r *run) enqueueHandOn(ctx context.Context, h *member.HandOn) error {
	t, err := tasks.NewHandOnSend(h.AccountID, h.Step, h.At, r.in.store.Now())
	if err != nil {
		return err
	}
	if _, err = r.in.client.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue send for %s: %w", h.AccountID, err)
	}
	return nil
}

// count records an admitted member: a still-pending member whose send task
// already existed is unchanged; any other was accepted.
func (r *run) count(o member.Outcome, taskExisted bool) {
	switch {
	case o == member.StillPending && (taskExisted || r.opts.DryRun):
		r.unchanged.Add(1)
	case o == member.Restarted:
		r.restarted.Add(1)
		r.accepted.Add(1)
	default:
		r.accepted.Add(1)
	}
}

func (r *run) reject(rj Reject) error {
	r.rejected.Add(1)
	if r.hooks.Reject == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hooks.Reject(rj)
}

func (r *run) progress(offset int64) {
	if r.hooks.Progress == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hooks.Progress(offset, r.summary())
}

// WriteSummary writes the one-line summary `enqueue members` prints, and
// where the rejected rows are when there are any.
func WriteSummary(w io.Writer, s Summary, rejectsPath string) error {
	verb := "accepted"
	if s.DryRun {
		verb = "would be accepted"
	}
	_, err := fmt.Fprintf(w, "%d rows: %d %s (%d restarted), %d unchanged, %d rejected\n",
		s.Rows, s.Accepted, verb, s.Restarted, s.Unchanged, s.Rejected)
	if err == nil && s.Rejected > 0 && rejectsPath != "" {
		_, err = fmt.Fprintf(w, "rejected rows: %s\n", rejectsPath)
	}
	return err
}
