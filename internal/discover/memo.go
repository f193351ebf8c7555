package discover

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// memo remembers GetAccount's answers in Redis, one key per member with
// a TTL, so that a run started again soon after asks the cloud only about
// the members not yet checked.
type memo struct {
	rdb    redis.UniversalClient
	prefix string
	ttl    time.Duration
}

func (m memo) key(accountID string) string { return m.prefix + "discover:checked:" + accountID }

// recall returns the remembered answers among ids: has a phone or not.
func (m memo) recall(ctx context.Context, ids []string) (map[string]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = m.key(id)
	}
	vals, err := m.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("recall checked members: %w", err)
	}
	known := map[string]bool{}
	for i, v := range vals {
		if s, ok := v.(string); ok {
			known[ids[i]] = s == "1"
		}
	}
	return known, nil
}

// remember keeps one answer for the memo's TTL.
func (m memo) remember(ctx context.Context, accountID string, hasPhone bool) error {
	v := "0"
	if hasPhone {
		v = "1"
	}
	if err := m.rdb.Set(ctx, m.key(accountID), v, m.ttl).Err(); err != nil {
		return fmt.Errorf("remember checked member: %w", err)
	}
	return nil
}
