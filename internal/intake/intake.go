// Package intake takes a code handed in by a person (HTTP API or
// `enqueue code`) onto the callback queue, after the checks a caller needs
// an immediate answer to: the code's shape, the member known and waiting,
// attempts left.
package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/internal/member"
	"github.com/rdonboard/rdonboard/internal/phone"
	"github.com/rdonboard/rdonboard/internal/redisconn"
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
	// replicated, when set, holds an answer until what was stored is on a
	// replica (see ForRedis).
	replicated func(context.Context) error
}

// New returns an Intake allowing maxAttempts codes per sent code.
func New(store *member.Store, client *asynq.Client, maxAttempts int) *Intake {
	return &Intake{store: store, client: client, maxAttempts: maxAttempts}
}

// ReplicaWait is how long an answer waits for a replica to hold what the
// Intake stored, on a primary found through Sentinel.
const ReplicaWait = time.Second

// ForRedis makes the Intake, when redisURL names a primary found through
// Sentinel, answer only once what it stored has reached a replica, so that
// an accepted code survives a failover: a code the primary took but no
// replica holds would be lost after an answer of "accepted", and its owner
// would not hand it in again. When no replica acknowledges in ReplicaWait,
// Submit fails as on any infrastructure failure; the caller tries again,
// and the repeat is answered once a replica holds it.
func (in *Intake) ForRedis(redisURL string, rdb redis.UniversalClient) *Intake {
	if redisconn.IsSentinel(redisURL) {
		in.replicated = redisconn.NewReplicas(rdb, in.store.Prefix()+"replicated", ReplicaWait, nil).Wait
	}
	return in
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
		return sub.State, in.durable(ctx, accountID)
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
	return member.CodeSubmitted, in.durable(ctx, accountID)
}

// durable waits for the replica when the Intake was asked to.
func (in *Intake) durable(ctx context.Context, accountID string) error {
	if in.replicated == nil {
		return nil
	}
	if err := in.replicated(ctx); err != nil {
		return fmt.Errorf("code for %s taken but not yet on a replica: %w", accountID, err)
	}
	return nil
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
