package member

import (
	"context"
	"errors"
	"fmt"
)

// live lists the states Cancel stops: every state that is not terminal.
var live = []State{Pending, CodeSent, CodeSubmitted}

// Cancel moves each member of ids that is not terminal to cancelled and
// returns them as they were just before (their step names the tasks to
// delete; HandOn the member their phone's turn passed to). Unknown and
// terminal members are skipped. A send marked in flight may still finish:
// its record is refused, as the member is no longer pending.
func (s *Store) Cancel(ctx context.Context, ids []string, reason string) ([]Member, error) {
	var out []Member
	for _, id := range ids {
		before, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return out, err
		}
		after, err := s.Transition(ctx, id, Cancel.Move(reason))
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("cancel %s: %w", id, err)
		}
		before.HandOn = after.HandOn
		out = append(out, before)
	}
	return out, nil
}

// LiveIDs returns the account IDs of batch's members that are not
// terminal.
func (s *Store) LiveIDs(ctx context.Context, batch string) ([]string, error) {
	var ids []string
	for _, st := range live {
		err := s.ScanIndex(ctx, batch, st, NoLimit, func(ms []Member) error {
			for _, m := range ms {
				ids = append(ids, m.AccountID)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}
