package member

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/rdonboard/rdonboard/tasks"
)

// ErrNotWaiting reports a code handed in for a member that is not waiting
// for one.
var ErrNotWaiting = errors.New("member is not waiting for a code")

// ErrTooManyAttempts reports a code handed in after the attempts allowed
// for the current send were used.
var ErrTooManyAttempts = errors.New("too many codes handed in for this send")

// RepeatWindow is how long after a member is bound the code that bound it
// is still known as a repeat (a client trying again after an answer it did
// not get). After it, the fingerprint is gone.
const RepeatWindow = 10 * time.Minute

// Submission is a code handed in that CountSubmission took.
type Submission struct {
	// State is the member's state when the code was taken.
	State State
	// Step is the send the code is for: the member's current send, or the
	// send in flight when its answer is not yet recorded.
	Step tasks.Step
	// Repeat is true when the code is the one already taken for the
	// current send (the member is code_submitted or bound with it): it
	// counted no attempt and needs no second task.
	Repeat bool
}

// CodePrint is the fingerprint of code handed in for member id that
// CountSubmission keeps to know the code again. It is an HMAC under a
// random key made once per deployment (kept in Redis beside the store), so
// a fingerprint read from a copy of the member records cannot be tried
// against the million codes without that key. It is kept until the next
// code is sent or the member's flow ends.
func (s *Store) CodePrint(ctx context.Context, id, code string) (string, error) {
	key, err := s.printKey(ctx)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "\x00" + code))
	return hex.EncodeToString(mac.Sum(nil)[:16]), nil
}

// printKey returns the deployment's fingerprint key (at prefix+"codekey"),
// making it if no process has yet.
func (s *Store) printKey(ctx context.Context) ([]byte, error) {
	v, err := s.codeKey.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("code fingerprint key: %w", err)
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("code fingerprint key %s is not a hex key of 16 bytes or more", s.codeKey.At())
	}
	return key, nil
}

// CountSubmission records one code handed in for member id through the
// intake, allowing at most max per send; print is CodePrint of the code. It
// returns the member's state and the send the code is for, or ErrNotFound,
// ErrNotWaiting (wrapped with the state) or ErrTooManyAttempts.
func (s *Store) CountSubmission(ctx context.Context, id, print string, max int) (Submission, error) {
	res, err := submitScript.Run(ctx, s.rdb, nil, s.prefix, id, max, print).StringSlice()
	if err != nil {
		return Submission{}, fmt.Errorf("count code for %s: %w", id, err)
	}
	sub := Submission{}
	if len(res) > 1 {
		sub.State = State(res[1])
	}
	if len(res) > 3 {
		sub.Step = tasks.Step{Generation: atoi(res[2]), Send: atoi(res[3])}
	}
	switch res[0] {
	case "ok":
		return sub, nil
	case "repeat":
		sub.Repeat = true
		return sub, nil
	case "missing":
		return Submission{}, fmt.Errorf("member %s: %w", id, ErrNotFound)
	case "not_waiting":
		return sub, fmt.Errorf("member %s is %s: %w", id, res[1], ErrNotWaiting)
	default:
		return sub, fmt.Errorf("member %s: %w", id, ErrTooManyAttempts)
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
