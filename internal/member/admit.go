package member

import (
	"context"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/tasks"
)

// Outcome is what admitting one roster row did to the store.
type Outcome string

// The outcomes of Admit.
const (
	// Created: a new member in pending; its first send is due.
	Created Outcome = "new"
	// Restarted: a new flow in pending (changed phone, a retry of a failed
	// or expired member, or a cancelled member admitted again); its first
	// send is due.
	Restarted Outcome = "restarted"
	// StillPending: known and pending; its send task is re-enqueued under
	// the same task ID, which is a no-op if it exists.
	StillPending Outcome = "pending"
	// Unchanged: known, in progress or finished; nothing to do.
	Unchanged Outcome = "unchanged"
	// RefusedBound: known and bound to another phone; the API cannot change
	// a bound phone, so the row is rejected.
	RefusedBound Outcome = "bound"
	// RefusedBinding: known, with a changed phone, while a bind with its
	// current phone is in flight (code_submitted) or had no answer (in
	// doubt): the old phone may end bound, so the row is rejected until
	// that bind is over.
	RefusedBinding Outcome = "binding"
)

// Candidate is one valid roster row to admit.
type Candidate struct {
	AccountID string
	Phone     string
	Batch     string
	// DisplayName and Email are the roster's display_name and email
	// columns ("" when absent).
	DisplayName string
	Email       string
}

// Admission is the result of admitting one candidate.
type Admission struct {
	Outcome Outcome
	// Step is the flow step whose send task is due (Created, Restarted,
	// StillPending).
	Step tasks.Step
	// HandOn is the member the turn of the phone this member left passed
	// to (a changed phone); its send must be enqueued too. Nil if none.
	HandOn *HandOn
}

// NeedsSend reports whether the admitted member's send task must be
// enqueued.
func (a Admission) NeedsSend() bool {
	return a.Outcome == Created || a.Outcome == Restarted || a.Outcome == StillPending
}

// AdmitOptions tunes Admit.
type AdmitOptions struct {
	// RetryFailed restarts members in failed or expired.
	RetryFailed bool
	// DryRun only reads: outcomes say what Admit would do.
	DryRun bool
}

// admitRowsPerCall bounds the members one admit script call takes, so a
// call holds Redis for a few milliseconds at most.
const admitRowsPerCall = 256

// Admit takes a slice of candidates into the store in one pipelined round
// trip and returns one Admission per candidate, in order.
func (s *Store) Admit(ctx context.Context, cands []Candidate, opts AdmitOptions) ([]Admission, error) {
	if len(cands) == 0 {
		return nil, nil
	}
	script, run := admitScript, s.runAdmit
	if opts.DryRun {
		script, run = peekScript, s.runPeek
	}
	replies, err := run(ctx, cands, opts)
	if isNoScript(err) {
		// Redis lost its script cache (a restart): load and run again. No
		// script ran, so nothing is applied twice.
		if err = script.Load(ctx, s.rdb).Err(); err == nil {
			replies, err = run(ctx, cands, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("admit %d members: %w", len(cands), err)
	}
	return s.admissions(cands, replies)
}

// runAdmit runs admitScript over cands, admitRowsPerCall members per call,
// and returns the replies of all calls end to end.
func (s *Store) runAdmit(ctx context.Context, cands []Candidate, opts AdmitOptions) ([]any, error) {
	head := []any{s.prefix, s.now().UnixMilli(), retryArg(opts)}
	var cmds []*redis.Cmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for rows := range slices.Chunk(cands, admitRowsPerCall) {
			args := append(make([]any, 0, len(head)+5*len(rows)), head...)
			for _, c := range rows {
				args = append(args, c.AccountID, c.Phone, c.Batch, c.DisplayName, c.Email)
			}
			cmds = append(cmds, admitScript.EvalSha(ctx, p, nil, args...))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return flatten(cmds, admitValues*len(cands))
}

// runPeek runs peekScript once per candidate, pipelined.
func (s *Store) runPeek(ctx context.Context, cands []Candidate, opts AdmitOptions) ([]any, error) {
	retry := retryArg(opts)
	cmds := make([]*redis.Cmd, len(cands))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range cands {
			cmds[i] = peekScript.EvalSha(ctx, p, nil, s.prefix, c.AccountID, c.Phone, c.Batch, 0, retry)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return flatten(cmds, admitValues*len(cands))
}

func retryArg(opts AdmitOptions) string {
	if opts.RetryFailed {
		return "1"
	}
	return "0"
}

// flatten joins the array replies of cmds, which must hold want values.
func flatten(cmds []*redis.Cmd, want int) ([]any, error) {
	out := make([]any, 0, want)
	for _, c := range cmds {
		vals, err := c.Slice()
		if err != nil {
			return nil, err
		}
		out = append(out, vals...)
	}
	if len(out) != want {
		return nil, fmt.Errorf("unexpected admit reply: %d values, want %d", len(out), want)
	}
	return out, nil
}

// admitValues is the number of values the admit scripts return per member.
const admitValues = 4

// admissions reads the {outcome, generation, sends, handon} values of each
// candidate.
func (s *Store) admissions(cands []Candidate, replies []any) ([]Admission, error) {
	out := make([]Admission, len(cands))
	for i := range cands {
		v := replies[admitValues*i : admitValues*(i+1)]
		o, ok1 := v[0].(string)
		gen, ok2 := v[1].(int64)
		sends, ok3 := v[2].(int64)
		ho, ok4 := v[3].([]any)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, fmt.Errorf("admit %s: unexpected reply %v", cands[i].AccountID, v)
		}
		out[i] = Admission{Outcome: Outcome(o), Step: tasks.Step{Generation: int(gen), Send: int(sends)}}
		if len(ho) == 4 {
			out[i].HandOn = s.handOn(replyStrings(ho))
		}
	}
	return out, nil
}

// replyStrings reads a handon reply {id, gen, sends, last}; Redis gives
// numbers pushed by Lua as integers and strings as strings.
func replyStrings(v []any) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = fmt.Sprint(x)
	}
	return out
}

func isNoScript(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")
}
