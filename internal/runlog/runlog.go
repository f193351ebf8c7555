// Package runlog keeps the record of reconciliation runs: the summary of
// each run and the store of the last ones in Redis. Reconciliation writes
// it; the read side (worker status, the status page, enqueue reconcile,
// the metrics) reads it without linking the flow, the cloud client or the
// SDK.
package runlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/metrics"
)

// Limits of what is stored of runs.
const (
	// MaxRuns is how many run summaries are kept, newest first.
	MaxRuns = 50
	// MaxDriftListed is how many drifted account IDs one summary lists.
	MaxDriftListed = 100
	// MaxErrorsListed is how many error messages one summary lists.
	MaxErrorsListed = 20
	// doneTTL is how long a slot is remembered as run, so a redelivered
	// task of a finished slot does not run it again.
	doneTTL = 48 * time.Hour
)

// ManualPrefix starts the slot of a run asked for by `enqueue reconcile`.
const ManualPrefix = "manual-"

// The kinds of repair, as keys of Summary.Repairs and metric labels.
const (
	// RepairCodeExpired: code_sent past its expiry with the expiry task
	// gone; the expiry was handled (new code, or expired).
	RepairCodeExpired = "code_expired"
	// RepairBindRequeued: code_submitted with no bind task; bind enqueued.
	RepairBindRequeued = "bind_requeued"
	// RepairSendRequeued: pending with no send task; send enqueued.
	RepairSendRequeued = "send_requeued"
	// RepairArchivedPutBack: the member's task was archived; deleted and
	// enqueued again.
	RepairArchivedPutBack = "archived_put_back"
	// RepairArchivedFailed: the member's task was archived again after a
	// put-back; the member is failed with the task's last error.
	RepairArchivedFailed = "archived_failed"
	// RepairAlreadyBound: the cloud reports a phone bound outside the flow.
	RepairAlreadyBound = "already_bound"
	// RepairBound: the cloud reports the phone bound while the member's own
	// bind was in flight: that bind succeeded.
	RepairBound = "bound"
	// RepairPhoneQueue: members of a phone waited for its turn while the
	// turn was held by nobody, or by a member that had ended or left the
	// phone (a worker stopped between the holder's end and the next send);
	// the turn was handed on and the next member's send enqueued.
	RepairPhoneQueue = "phone_queue"
)

// RepairKinds lists every kind of repair.
var RepairKinds = []string{RepairCodeExpired, RepairBindRequeued, RepairSendRequeued, RepairArchivedPutBack,
	RepairArchivedFailed, RepairAlreadyBound, RepairBound, RepairPhoneQueue}

// Summary is the record of one reconciliation run.
type Summary struct {
	// Slot names the run: the schedule slot (RFC 3339, UTC) or
	// "manual-<unix ms>".
	Slot      string    `json:"slot"`
	VerifyAll bool      `json:"verify_all"`
	StartedAt time.Time `json:"started_at"`
	// FinishedAt is when the run ended (finished, failed or skipped).
	FinishedAt time.Time `json:"finished_at"`
	// MembersScanned counts the members read from the state indexes: those
	// due for a check (in their state, or past their code's expiry, longer
	// than the grace), and with VerifyAll every member not finished plus
	// the bound ones.
	MembersScanned int `json:"members_scanned"`
	// ArchivedTasks counts the archived tasks looked at.
	ArchivedTasks int `json:"archived_tasks"`
	// Repairs counts the members put right, by kind (Repair* constants).
	Repairs map[string]int `json:"repairs"`
	Drift   Drift          `json:"drift"`
	// CloudCalls counts the GetAccount calls made.
	CloudCalls int `json:"cloud_calls"`
	// CloudStopped says why the run stopped asking the cloud, if it did.
	CloudStopped string `json:"cloud_stopped,omitempty"`
	// Skipped says why the run did nothing (another run was in progress).
	Skipped string `json:"skipped,omitempty"`
	// Failed is the error that ended the run early, if any.
	Failed string `json:"failed,omitempty"`
	// ErrorCount counts the members the run could not check or repair;
	// Errors lists the first MaxErrorsListed.
	ErrorCount int      `json:"error_count"`
	Errors     []string `json:"errors"`
}

// Drift is the members bound here (bound, already_bound) whose phone the
// cloud does not report: flagged for an operator, never changed.
type Drift struct {
	Count int `json:"count"`
	// AccountIDs lists the first MaxDriftListed.
	AccountIDs []string `json:"account_ids"`
}

// TotalRepairs is the number of members put right.
func (s Summary) TotalRepairs() int {
	n := 0
	for _, c := range s.Repairs {
		n += c
	}
	return n
}

// Outcome is finished, failed or skipped.
func (s Summary) Outcome() string {
	switch {
	case s.Failed != "":
		return "failed"
	case s.Skipped != "":
		return "skipped"
	}
	return "finished"
}

// Manual reports whether the run was asked for by `enqueue reconcile`.
func (s Summary) Manual() bool { return strings.HasPrefix(s.Slot, ManualPrefix) }

// RepairsText renders the repairs as "kind n, kind n" in kind order, or
// "none".
func (s Summary) RepairsText() string {
	if s.TotalRepairs() == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(s.Repairs)) {
		if s.Repairs[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, s.Repairs[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// WriteText renders a summary for a person.
func WriteText(w io.Writer, s Summary) error {
	mode := "scheduled"
	if s.Manual() {
		mode = "manual"
	}
	if s.VerifyAll {
		mode += ", verify-all"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "reconciliation run %s (%s) %s at %s after %s\n", s.Slot, mode, s.Outcome(),
		s.FinishedAt.UTC().Format(time.RFC3339), s.FinishedAt.Sub(s.StartedAt).Round(time.Millisecond))
	fmt.Fprintf(&b, "members scanned: %d, archived tasks: %d, cloud calls: %d\n", s.MembersScanned, s.ArchivedTasks, s.CloudCalls)
	fmt.Fprintf(&b, "repairs: %s\n", s.RepairsText())
	if s.Drift.Count > 0 {
		fmt.Fprintf(&b, "DRIFT: %d members bound here have no phone in the cloud: %s\n", s.Drift.Count, strings.Join(s.Drift.AccountIDs, " "))
	}
	for _, line := range []struct{ label, text string }{
		{"cloud checks stopped", s.CloudStopped}, {"skipped", s.Skipped}, {"failed", s.Failed},
	} {
		if line.text != "" {
			fmt.Fprintf(&b, "%s: %s\n", line.label, line.text)
		}
	}
	if s.ErrorCount > 0 {
		fmt.Fprintf(&b, "errors: %d\n", s.ErrorCount)
		for _, e := range s.Errors {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Runs is the store of run summaries: a Redis list under the member store's
// prefix, newest first, MaxRuns long. It is safe for concurrent use.
type Runs struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRuns returns the run store over rdb, with keys under prefix (the
// member store's).
func NewRuns(rdb redis.UniversalClient, prefix string) *Runs {
	return &Runs{rdb: rdb, prefix: prefix}
}

func (r *Runs) listKey() string             { return r.prefix + "reconcile:runs" }
func (r *Runs) doneKey(slot string) string  { return r.prefix + "reconcile:done:" + slot }
func (r *Runs) claimKey(slot string) string { return r.prefix + "reconcile:slot:" + slot }

// LockKey is the key of the lock one run at a time holds.
func (r *Runs) LockKey() string { return r.prefix + "reconcile:lock" }

func (r *Runs) verifiedKey() string { return r.prefix + "reconcile:last_verify_all" }

// addScript stores a summary once per slot, and a finished verify-all one
// also as the latest of its kind (the drift it found stands until the
// next). KEYS[1] list, KEYS[2] the slot's done key, KEYS[3] latest
// verify-all; ARGV[1] summary JSON, ARGV[2] done TTL (s), ARGV[3]
// summaries kept, ARGV[4] "1" for a finished verify-all run.
var addScript = redis.NewScript(`
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
if ARGV[4] == '1' then redis.call('SET', KEYS[3], ARGV[1]) end
return 1
`)

// Add stores s unless a summary of its slot was stored before; it reports
// whether it stored it.
func (r *Runs) Add(ctx context.Context, s Summary) (bool, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return false, fmt.Errorf("encode run summary: %w", err)
	}
	verified := "0"
	if s.VerifyAll && s.Outcome() == "finished" {
		verified = "1"
	}
	n, err := addScript.Run(ctx, r.rdb, []string{r.listKey(), r.doneKey(s.Slot), r.verifiedKey()},
		b, int(doneTTL.Seconds()), MaxRuns, verified).Int()
	if err != nil {
		return false, fmt.Errorf("store run summary of %s: %w", s.Slot, err)
	}
	return n == 1, nil
}

// LastVerifyAll returns the newest finished verify-all run, the one whose
// drift stands; ok is false before the first.
func (r *Runs) LastVerifyAll(ctx context.Context) (s Summary, ok bool, err error) {
	raw, err := r.rdb.Get(ctx, r.verifiedKey()).Bytes()
	if errors.Is(err, redis.Nil) {
		return s, false, nil
	}
	if err == nil {
		err = json.Unmarshal(raw, &s)
	}
	if err != nil {
		return s, false, fmt.Errorf("read the last verify-all run: %w", err)
	}
	return s, true, nil
}

// Done reports whether a run of slot has ended and was stored.
func (r *Runs) Done(ctx context.Context, slot string) (bool, error) {
	n, err := r.rdb.Exists(ctx, r.doneKey(slot)).Result()
	if err != nil {
		return false, fmt.Errorf("look up run %s: %w", slot, err)
	}
	return n == 1, nil
}

// Last returns up to n summaries, newest first.
func (r *Runs) Last(ctx context.Context, n int) ([]Summary, error) {
	if n <= 0 {
		return nil, nil
	}
	raw, err := r.rdb.LRange(ctx, r.listKey(), 0, int64(n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("read run summaries: %w", err)
	}
	out := make([]Summary, 0, len(raw))
	for _, s := range raw {
		var sum Summary
		if err := json.Unmarshal([]byte(s), &sum); err != nil {
			return nil, fmt.Errorf("read run summaries: %w", err)
		}
		out = append(out, sum)
	}
	return out, nil
}

// ErrNoRun reports a slot with no stored summary.
var ErrNoRun = errors.New("no reconciliation run stored")

// Find returns the summary of slot among the stored ones, or ErrNoRun.
func (r *Runs) Find(ctx context.Context, slot string) (Summary, error) {
	all, err := r.Last(ctx, MaxRuns)
	if err != nil {
		return Summary{}, err
	}
	for _, s := range all {
		if s.Slot == slot {
			return s, nil
		}
	}
	return Summary{}, fmt.Errorf("%s: %w", slot, ErrNoRun)
}

// LastRun reads the stored runs for the metrics gauges: when the newest
// finished run ended, and the drift found by the newest verify-all run
// (only those look at every bound member).
func (r *Runs) LastRun(ctx context.Context) (metrics.LastRun, bool, error) {
	all, err := r.Last(ctx, MaxRuns)
	if err != nil {
		return metrics.LastRun{}, false, err
	}
	var last metrics.LastRun
	found := false
	for _, s := range all {
		if s.Outcome() == "finished" {
			last.FinishedAt, found = s.FinishedAt, true
			break
		}
	}
	v, ok, err := r.LastVerifyAll(ctx)
	if err != nil {
		return metrics.LastRun{}, false, err
	}
	last.Drift, last.DriftKnown = v.Drift.Count, ok
	return last, found, nil
}

// Claim takes slot for this process for ttl; it reports false when
// another process took it first.
func (r *Runs) Claim(ctx context.Context, slot string, ttl time.Duration) (bool, error) {
	ok, err := r.rdb.SetNX(ctx, r.claimKey(slot), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("claim reconciliation slot %s: %w", slot, err)
	}
	return ok, nil
}
