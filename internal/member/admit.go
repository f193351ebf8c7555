package member

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/tasks"
)

// Outcome is what admitting one roster row did to the store.
type Outcome string

// The outcomes of Admit.
const (
	// Created: a new member in pending; its first send is due.
	Created Outcome = "new"
	// Restarted: a new flow in pending (changed phone, or a retry of a
	// failed or expired member); its first send is due.
	Restarted Outcome = "restarted"
	// StillPending: known and pending; its send task is re-enqueued under
	// the same task ID, which is a no-op if it exists.
	StillPending Outcome = "pending"
	// Unchanged: known, in progress or finished; nothing to do.
	Unchanged Outcome = "unchanged"
	// RefusedBound: known and bound to another phone; the API cannot change
	// a bound phone, so the row is rejected.
	RefusedBound Outcome = "bound"
)

// Candidate is one valid roster row to admit.
type Candidate struct {
	AccountID string
	Phone     string
	Batch     string
}

// Admission is the result of admitting one candidate.
type Admission struct {
	Outcome Outcome
	// Step is the flow step whose send task is due (Created, Restarted,
	// StillPending).
	Step tasks.Step
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

// Admit takes a slice of candidates into the store in one pipelined round
// trip and returns one Admission per candidate, in order.
func (s *Store) Admit(ctx context.Context, cands []Candidate, opts AdmitOptions) ([]Admission, error) {
	script := admitScript
	if opts.DryRun {
		script = peekScript
	}
	cmds, err := s.runAdmit(ctx, script, cands, opts)
	if isNoScript(err) {
		// Redis lost its script cache (a restart): load and run again. No
		// script ran, so nothing is applied twice.
		if err = script.Load(ctx, s.rdb).Err(); err == nil {
			cmds, err = s.runAdmit(ctx, script, cands, opts)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("admit %d members: %w", len(cands), err)
	}
	out := make([]Admission, len(cands))
	for i, c := range cmds {
		a, err := admission(c)
		if err != nil {
			return nil, fmt.Errorf("admit %s: %w", cands[i].AccountID, err)
		}
		out[i] = a
	}
	return out, nil
}

func (s *Store) runAdmit(ctx context.Context, script *redis.Script, cands []Candidate, opts AdmitOptions) ([]*redis.Cmd, error) {
	retry := "0"
	if opts.RetryFailed {
		retry = "1"
	}
	now := strconv.FormatInt(s.now().UnixMilli(), 10)
	cmds := make([]*redis.Cmd, len(cands))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range cands {
			cmds[i] = script.EvalSha(ctx, p, nil, s.prefix, c.AccountID, c.Phone, c.Batch, now, retry)
		}
		return nil
	})
	return cmds, err
}

func admission(c *redis.Cmd) (Admission, error) {
	res, err := c.Slice()
	if err != nil {
		return Admission{}, err
	}
	if len(res) != 3 {
		return Admission{}, fmt.Errorf("unexpected admit reply %v", res)
	}
	o, _ := res[0].(string)
	gen, _ := res[1].(int64)
	sends, _ := res[2].(int64)
	return Admission{Outcome: Outcome(o), Step: tasks.Step{Generation: int(gen), Send: int(sends)}}, nil
}

func isNoScript(err error) bool {
	return err != nil && redis.HasErrorPrefix(err, "NOSCRIPT")
}
