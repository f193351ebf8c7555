// Package discover answers an operator's first question: which members of
// the Resource Directory still lack a secure phone? It pages through the
// directory's members (ListAccounts, or ListAccountsForParent for one
// folder), asks GetAccount about each ResourceAccount (the listing does
// not say whether a phone is bound), all under the shared rate limits, and
// returns the members without a phone, from which `enqueue discover`
// writes a roster template (README, "Start from the directory").
//
// Answers are remembered in Redis for an hour, so a run that was
// interrupted and is started again asks the cloud only about the rest.
package discover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/cloudcall"
)

// Defaults of Options.
const (
	// DefaultWorkers GetAccount calls are in flight at once: enough to
	// keep up with the shared rate at the cloud's usual latency, since the
	// limiter, not the workers, sets the pace.
	DefaultWorkers = 16
	// DefaultRemember is how long an answer of GetAccount is trusted by a
	// later run.
	DefaultRemember = time.Hour
)

// Params are what a discovery is built from.
type Params struct {
	// Caller calls the cloud; it should be in cloudcall.Wait mode (a run
	// has no task to put back).
	Caller *cloudcall.Caller
	// Redis remembers answers between runs, under Prefix.
	Redis  redis.UniversalClient
	Prefix string
	// Logger receives a warning per member that could not be checked;
	// default none.
	Logger *zap.Logger
	// After is the timer of the waits after throttles and transient
	// failures; default time.After.
	After func(time.Duration) <-chan time.Time
}

// Options tune one run.
type Options struct {
	// Folder limits the run to the members directly in one folder
	// (ListAccountsForParent); "" is the whole directory.
	Folder string
	// Workers: see DefaultWorkers (0).
	Workers int
	// Remember: see DefaultRemember (0).
	Remember time.Duration
	// Progress, if set, is called after each member is sorted out, from
	// one goroutine at a time, with the counts so far and the number of
	// members the listing announced.
	Progress func(s Summary, total int)
}

func (o *Options) defaults() {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Remember <= 0 {
		o.Remember = DefaultRemember
	}
}

// Summary counts what a run found.
type Summary struct {
	// Members is the number of members listed.
	Members int `json:"members"`
	// ResourceAccounts counts the listed members of type ResourceAccount,
	// the only ones a phone can be bound to.
	ResourceAccounts int `json:"resource_accounts"`
	// AlreadyBound counts the resource accounts with a phone.
	AlreadyBound int `json:"already_bound"`
	// WithoutPhone counts the resource accounts without one: the rows of
	// the template.
	WithoutPhone int `json:"without_phone"`
	// Unchecked counts resource accounts the cloud would not describe
	// (gone since the listing, say); each is logged.
	Unchecked int `json:"unchecked"`
	// Remembered counts the resource accounts answered from an earlier run
	// within Options.Remember, without a call.
	Remembered int `json:"remembered"`
	// Calls counts the cloud calls made, by action.
	Calls map[string]int `json:"calls"`
}

// TotalCalls is the number of cloud calls made.
func (s Summary) TotalCalls() int {
	n := 0
	for _, c := range s.Calls {
		n += c
	}
	return n
}

// Found is a resource account without a phone: one row of the template.
type Found struct {
	AccountID   string
	DisplayName string
	// FolderPath is the member's ResourceDirectoryPath without the member
	// itself: the directory, the root folder and the folders down to its
	// own.
	FolderPath string
}

// Result is what a run found.
type Result struct {
	Summary Summary
	// Found holds the members without a phone, in listing order.
	Found []Found
}

// ErrCallerWide wraps a caller-wide refusal of the cloud: every call would
// fail alike until the operator fixes the cause (the *cloud.Error, also
// wrapped, carries the remedy).
var ErrCallerWide = errors.New("the cloud refuses the caller")

// Run discovers the members without a phone. On an error (caller-wide,
// the cloud or Redis unreachable, ctx ended) it returns the counts so far
// with it; a later run within Options.Remember asks only about the
// members this one did not check.
func Run(ctx context.Context, p Params, opts Options) (Result, error) {
	opts.defaults()
	r := newRun(p, opts)
	g, gctx := errgroup.WithContext(ctx)
	jobs := make(chan item, opts.Workers)
	g.Go(func() error {
		defer close(jobs)
		return r.list(gctx, jobs)
	})
	for range opts.Workers {
		g.Go(func() error { return r.checkAll(gctx, jobs) })
	}
	go func() {
		_ = g.Wait()
		close(r.results)
	}()
	r.collect()
	err := g.Wait()
	return r.result(), r.explain(err)
}

// explain adds what the operator needs to a run's error.
func (r *run) explain(err error) error {
	ce, ok := cloud.AsError(err)
	switch {
	case err == nil:
		return nil
	case ok && ce.Kind == cloud.KindCallerWide:
		return fmt.Errorf("%w: %w; %s", ErrCallerWide, err, ce.Remedy)
	}
	return err
}

// item is a member on its way through a run, with its place in the
// listing.
type item struct {
	index int
	acct  cloud.Account
}

// outcome is what became of one member.
type outcome struct {
	item
	resource, hasPhone, remembered, unchecked bool
}

// run is the state of one Run.
type run struct {
	p       Params
	opts    Options
	memo    memo
	results chan outcome

	// total is the number of members the listing announced.
	total atomic.Int64

	// Owned by collect.
	sum   Summary
	found []indexedFound
}

type indexedFound struct {
	index int
	Found
}

func newRun(p Params, opts Options) *run {
	if p.Logger == nil {
		p.Logger = zap.NewNop()
	}
	if p.After == nil {
		p.After = time.After
	}
	return &run{p: p, opts: opts, memo: memo{rdb: p.Redis, prefix: p.Prefix, ttl: opts.Remember},
		results: make(chan outcome, 4*opts.Workers)}
}

// collect counts the outcomes as they come, until the run ends.
func (r *run) collect() {
	for o := range r.results {
		r.count(o)
		if r.opts.Progress != nil {
			r.opts.Progress(r.snapshot(), int(r.total.Load()))
		}
	}
}

// count adds one outcome to the summary.
func (r *run) count(o outcome) {
	r.sum.Members++
	if !o.resource {
		return
	}
	r.sum.ResourceAccounts++
	switch {
	case o.unchecked:
		r.sum.Unchecked++
	case o.hasPhone:
		r.sum.AlreadyBound++
	default:
		r.sum.WithoutPhone++
		r.found = append(r.found, indexedFound{o.index, found(o.acct)})
	}
	if o.remembered {
		r.sum.Remembered++
	}
}

func (r *run) snapshot() Summary {
	s := r.sum
	s.Calls = r.p.Caller.Calls()
	return s
}

// result is the run's counts and findings, in listing order.
func (r *run) result() Result {
	slices.SortFunc(r.found, func(a, b indexedFound) int { return a.index - b.index })
	out := Result{Summary: r.snapshot(), Found: make([]Found, len(r.found))}
	for i, f := range r.found {
		out.Found[i] = f.Found
	}
	return out
}

// found turns a member into a template row.
func found(a cloud.Account) Found {
	path, _ := strings.CutSuffix(a.ResourceDirectoryPath, "/"+a.AccountID)
	return Found{AccountID: a.AccountID, DisplayName: a.DisplayName, FolderPath: path}
}
