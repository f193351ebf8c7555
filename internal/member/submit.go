package member

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrNotWaiting reports a code handed in for a member that is not waiting
// for one.
var ErrNotWaiting = errors.New("member is not waiting for a code")

// ErrTooManyAttempts reports a code handed in after the attempts allowed
// for the current send were used.
var ErrTooManyAttempts = errors.New("too many codes handed in for this send")

// Submission is a code handed in that CountSubmission took.
type Submission struct {
	// State is the member's state when the code was taken.
	State State
	// Repeat is true when the code is the one already taken for the
	// current send (the member is code_submitted or bound with it): it
	// counted no attempt and needs no second task.
	Repeat bool
}

// CodePrint is the fingerprint of code handed in for member id that
// CountSubmission keeps to know the code again. It is not the code; it is
// kept until the next code is sent, when the code it stands for is spent.
func CodePrint(id, code string) string {
	sum := sha256.Sum256([]byte("rdonboard code\x00" + id + "\x00" + code))
	return hex.EncodeToString(sum[:12])
}

// CountSubmission records one code handed in for member id through the
// intake, allowing at most max per send; print is CodePrint of the code. It
// returns the member's state, or ErrNotFound, ErrNotWaiting (wrapped with
// the state) or ErrTooManyAttempts.
func (s *Store) CountSubmission(ctx context.Context, id, print string, max int) (Submission, error) {
	res, err := submitScript.Run(ctx, s.rdb, nil, s.prefix, id, max, print).StringSlice()
	if err != nil {
		return Submission{}, fmt.Errorf("count code for %s: %w", id, err)
	}
	switch res[0] {
	case "ok":
		return Submission{State: State(res[1])}, nil
	case "repeat":
		return Submission{State: State(res[1]), Repeat: true}, nil
	case "missing":
		return Submission{}, fmt.Errorf("member %s: %w", id, ErrNotFound)
	case "not_waiting":
		return Submission{State: State(res[1])}, fmt.Errorf("member %s is %s: %w", id, res[1], ErrNotWaiting)
	default:
		return Submission{State: State(res[1])}, fmt.Errorf("member %s: %w", id, ErrTooManyAttempts)
	}
}

// ResetSubmissions is the Edit that starts the count of codes handed in
// afresh and forgets the last one (a new code was sent).
func ResetSubmissions() Edit {
	return func(c *change) {
		c.set("subs", "0")
		c.Del = append(c.Del, "last")
	}
}
