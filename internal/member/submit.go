package member

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotWaiting reports a code handed in for a member that is not waiting
// for one.
var ErrNotWaiting = errors.New("member is not waiting for a code")

// ErrTooManyAttempts reports a code handed in after the attempts allowed
// for the current send were used.
var ErrTooManyAttempts = errors.New("too many codes handed in for this send")

// CountSubmission records one code handed in for member id through the
// intake, allowing at most max per send. It returns the member's state, or
// ErrNotFound, ErrNotWaiting (wrapped with the state) or ErrTooManyAttempts.
func (s *Store) CountSubmission(ctx context.Context, id string, max int) (State, error) {
	res, err := submitScript.Run(ctx, s.rdb, nil, s.prefix, id, max).StringSlice()
	if err != nil {
		return "", fmt.Errorf("count code for %s: %w", id, err)
	}
	switch res[0] {
	case "ok":
		return State(res[1]), nil
	case "missing":
		return "", fmt.Errorf("member %s: %w", id, ErrNotFound)
	case "not_waiting":
		return State(res[1]), fmt.Errorf("member %s is %s: %w", id, res[1], ErrNotWaiting)
	default:
		return State(res[1]), fmt.Errorf("member %s: %w", id, ErrTooManyAttempts)
	}
}

// ResetSubmissions is the Edit that starts the count of codes handed in
// afresh (a new code was sent).
func ResetSubmissions() Edit { return func(c *change) { c.set("subs", "0") } }
