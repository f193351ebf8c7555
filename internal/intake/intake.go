// Package intake takes a code handed in by a person (HTTP API or
// `enqueue code`) onto the callback queue, after the checks a caller needs
// an immediate answer to: the code's shape, the member known and waiting,
// attempts left.
package intake

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/phone"
	"github.com/rdonboard/rdonboard/tasks"
)

// ErrMalformed reports an account ID that is not digits or a code that is
// not six digits.
var ErrMalformed = errors.New("malformed submission")

// Intake checks codes and puts them on the callback queue.
type Intake struct {
	store       *member.Store
	client      *asynq.Client
	maxAttempts int
}

// New returns an Intake allowing maxAttempts codes per sent code.
func New(store *member.Store, client *asynq.Client, maxAttempts int) *Intake {
	return &Intake{store: store, client: client, maxAttempts: maxAttempts}
}

// Submit checks a code for accountID and enqueues it, and returns the
// member's state as the caller should report it: code_submitted, or for a
// repeat of the code already taken, the state it led to (code_submitted or
// bound). A repeat enqueues nothing, so a client may safely try again after
// an answer it did not get. Its errors match ErrMalformed,
// member.ErrNotFound, member.ErrNotWaiting or member.ErrTooManyAttempts;
// anything else is an infrastructure failure. The code never appears in an
// error.
func (in *Intake) Submit(ctx context.Context, accountID, code string) (member.State, error) {
	switch {
	case !tasks.ValidAccountID(accountID):
		return "", fmt.Errorf("%w: account_id must be digits only", ErrMalformed)
	case !tasks.ValidCode(code):
		return "", fmt.Errorf("%w: code must be 6 digits", ErrMalformed)
	}
	print, err := in.store.CodePrint(ctx, accountID, code)
	if err != nil {
		return "", err
	}
	sub, err := in.store.CountSubmission(ctx, accountID, print, in.maxAttempts)
	if err != nil {
		return "", err
	}
	if sub.Repeat {
		return sub.State, nil
	}
	// The task names the send the code was handed in for, so a code that
	// waits in the queue past its send's expiry is not taken for the next.
	t, err := tasks.NewCodeSubmittedFor(accountID, code, sub.Step)
	if err != nil {
		return "", err
	}
	if _, err := in.client.EnqueueContext(ctx, t); err != nil {
		return "", fmt.Errorf("enqueue code for %s: %w", accountID, err)
	}
	return member.CodeSubmitted, nil
}

// SubmitByPhone hands in a code naming the phone instead of the account
// (any accepted form of the number): it goes to the member of that phone
// whose code is live, with every check and answer of Submit, and returns
// that member's account ID. Besides Submit's errors it may return
// member.ErrNoSuchPhone.
func (in *Intake) SubmitByPhone(ctx context.Context, rawPhone, code string) (string, member.State, error) {
	if !tasks.ValidCode(code) {
		return "", "", fmt.Errorf("%w: code must be 6 digits", ErrMalformed)
	}
	p, err := phone.Normalize(rawPhone)
	if err != nil {
		return "", "", fmt.Errorf("%w: phone: %w", ErrMalformed, err)
	}
	m, err := in.store.CodeHolder(ctx, p)
	if err != nil {
		return "", "", err
	}
	state, err := in.Submit(ctx, m.AccountID, code)
	return m.AccountID, state, err
}
