package cloud_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/rdonboard/rdonboard/internal/cloud"
	"github.com/rdonboard/rdonboard/internal/sandbox"
)

// TestConcurrentCallsShareOneClient onboards many members at once through
// one *SDK with a smaller pool; run with -race.
func TestConcurrentCallsShareOneClient(t *testing.T) {
	t.Parallel()
	const members = 64
	c, sb := setup(t, sandbox.Options{}, func(c *cloud.Config) { c.Pool = 8 })
	var wg sync.WaitGroup
	errs := make(chan error, members)
	for i := range members {
		wg.Go(func() {
			if err := onboard(c, sb, fmt.Sprintf("20000000000%05d", i), fmt.Sprintf("86-139%08d", i)); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := sb.Stats()
	if len(st.Binds) != members || st.SMSSent != members {
		t.Errorf("%d members bound and %d SMS sent, want %d each", len(st.Binds), st.SMSSent, members)
	}
}

// onboard runs one member's whole flow.
func onboard(c *cloud.SDK, sb *sandbox.Server, id, ph string) error {
	ctx := context.Background()
	if acc, err := c.GetAccount(ctx, id); err != nil || acc.HasSecureMobilePhone {
		return fmt.Errorf("%s: pre-flight %+v, %v", id, acc, err)
	}
	if _, err := c.SendCode(ctx, id, ph); err != nil {
		return fmt.Errorf("%s: send: %w", id, err)
	}
	code, _ := sb.LatestCode(id)
	if _, err := c.Bind(ctx, id, ph, code); err != nil {
		return fmt.Errorf("%s: bind: %w", id, err)
	}
	if acc, err := c.GetAccount(ctx, id); err != nil || !acc.HasSecureMobilePhone {
		return fmt.Errorf("%s: after bind %+v, %v", id, acc, err)
	}
	return nil
}
