package member

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Note appends to member id's history a line that is no transition, such
// as a message to the phone's owner: its From and To are both the state
// the member is in. A member the store does not know is ErrNotFound.
func (s *Store) Note(ctx context.Context, id, reason string) error {
	n, err := noteScript.Run(ctx, s.rdb, []string{s.memberKey(id), s.historyKey(id)}, s.now().UnixMilli(), reason).Int()
	if err != nil {
		return fmt.Errorf("note in the history of %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("member %s: %w", id, ErrNotFound)
	}
	return nil
}

// noteScript: KEYS[1] member hash, KEYS[2] history; ARGV[1] now (ms),
// ARGV[2] reason. Returns 0 when the member is unknown.
var noteScript = redis.NewScript(`
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 0 end
redis.call('RPUSH', KEYS[2], cjson.encode({t = tonumber(ARGV[1]), f = state, s = state, r = ARGV[2]}))
return 1
`)
