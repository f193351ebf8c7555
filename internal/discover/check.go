package discover

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/ctxwait"
)

// Waits after a failed call.
const (
	// firstBackoff is the wait after the first throttle or transient
	// failure of a call; each next one doubles it, up to maxBackoff.
	firstBackoff = 250 * time.Millisecond
	maxBackoff   = 30 * time.Second
	// transientTries bounds the tries of a call failing transiently: past
	// them the cloud counts as unreachable. Throttles are waited out
	// however many come: the shared rate falls with each.
	transientTries = 4
)

// checkAll asks GetAccount about each member handed over, and remembers
// the answer.
func (r *run) checkAll(ctx context.Context, jobs <-chan item) error {
	for it := range jobs {
		o, err := r.check(ctx, it)
		if err != nil {
			return err
		}
		if err := ctxwait.Send(ctx, r.results, o); err != nil {
			return err
		}
	}
	return nil
}

// check asks the cloud about one resource account. A refusal about this
// member alone (it left the directory since the listing, say) leaves it
// unchecked; anything wider ends the run.
func (r *run) check(ctx context.Context, it item) (outcome, error) {
	var acct cloud.Account
	err := r.retry(ctx, func() (err error) {
		acct, err = r.p.Caller.GetAccount(ctx, it.acct.AccountID)
		return err
	})
	o := outcome{item: it, resource: true}
	if err == nil {
		o.hasPhone = acct.HasSecureMobilePhone
		return o, r.memo.remember(ctx, it.acct.AccountID, o.hasPhone)
	}
	if cloud.KindOf(err) == cloud.KindPermanent {
		r.p.Logger.Warn("member not checked", zap.String("account_id", it.acct.AccountID), zap.Error(err))
		o.unchecked = true
		return o, nil
	}
	return o, fmt.Errorf("GetAccount %s: %w", it.acct.AccountID, err)
}

// retry runs call until it succeeds, fails for good, or has failed
// transiently transientTries times, waiting between tries; throttles are
// waited out, as the shared rate has already fallen for them.
func (r *run) retry(ctx context.Context, call func() error) error {
	wait := firstBackoff
	for tries := 1; ; tries++ {
		err := call()
		switch kind := cloud.KindOf(err); {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case kind == cloud.KindThrottled:
		case kind == cloud.KindTransient && tries < transientTries:
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.p.After(wait/2 + rand.N(wait)):
		}
		wait = min(2*wait, maxBackoff)
	}
}
