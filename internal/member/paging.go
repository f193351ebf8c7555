package member

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// NoLimit is the score limit of IndexPage and ScanIndex that takes every
// member of an index.
const NoLimit int64 = math.MaxInt64

// Cursor is a position in a state index: the score and account ID of the
// last member read. The zero Cursor is the start of the index.
type Cursor struct {
	Score int64
	ID    string
}

// IndexEntry is one member of a state index: its account ID and score (ms:
// the code's expiry for code_sent, else the member's last transition).
type IndexEntry struct {
	ID    string
	Score int64
}

// IndexPage returns up to n members of the index of batch and st with a
// score of at most max, following after in index order (score, then
// account ID). Unlike paging by offset, a member that leaves the index
// between two pages does not make the next page skip a member that stayed.
func (s *Store) IndexPage(ctx context.Context, batch string, st State, after Cursor, max int64, n int) ([]IndexEntry, error) {
	key := s.indexKey(batch, st)
	flat, err := pageScript.Run(ctx, s.rdb, []string{key},
		strconv.FormatInt(max, 10), n, strconv.FormatInt(after.Score, 10), after.ID).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", key, err)
	}
	out := make([]IndexEntry, 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		score, err := strconv.ParseFloat(flat[i+1], 64)
		if err != nil {
			return nil, fmt.Errorf("page %s: score %q of %s: %w", key, flat[i+1], flat[i], err)
		}
		out = append(out, IndexEntry{ID: flat[i], Score: int64(score)})
	}
	return out, nil
}

// ScanIndex calls fn with the members of the index of batch and st whose
// score is at most max (NoLimit: all), PageSize at a time, following a
// cursor. A member moved within the index to a score above max (a
// transition during the scan) is not seen again.
func (s *Store) ScanIndex(ctx context.Context, batch string, st State, max int64, fn func([]Member) error) error {
	var after Cursor
	for {
		page, err := s.IndexPage(ctx, batch, st, after, max, PageSize)
		if err != nil || len(page) == 0 {
			return err
		}
		ids := make([]string, len(page))
		for i, e := range page {
			ids[i] = e.ID
		}
		ms, err := s.GetMany(ctx, ids)
		if err != nil {
			return err
		}
		if err := fn(ms); err != nil {
			return err
		}
		if len(page) < PageSize {
			return nil
		}
		last := page[len(page)-1]
		after = Cursor{Score: last.Score, ID: last.ID}
	}
}

// pageScript reads one page of a state index after a cursor, atomically.
//
// KEYS[1] index; ARGV[1] highest score; ARGV[2] page size; ARGV[3] cursor
// score; ARGV[4] cursor account ID ("" for the start).
//
// When the cursor's member is still at its score, the page starts right
// after it; else after the place it would hold, found by a binary search
// among the members of the same score, which Redis orders by ID. IDs are
// digits only, so Lua's string order (strcoll) and Redis's (memcmp) agree.
// Returns {id, score, id, score, ...}.
var pageScript = redis.NewScript(`
local key, max, n = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local start = 0
if ARGV[4] ~= '' then
  local cs, cid = ARGV[3], ARGV[4]
  local s = redis.call('ZSCORE', key, cid)
  if s and tonumber(s) == tonumber(cs) then
    start = redis.call('ZRANK', key, cid) + 1
  else
    local lo = redis.call('ZCOUNT', key, '-inf', '(' .. cs)
    local hi = lo + redis.call('ZCOUNT', key, cs, cs)
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      if redis.call('ZRANGE', key, mid, mid)[1] <= cid then lo = mid + 1 else hi = mid end
    end
    start = lo
  end
end
local page = redis.call('ZRANGE', key, start, start + n - 1, 'WITHSCORES')
local out = {}
for i = 1, #page, 2 do
  if tonumber(page[i + 1]) > max then break end
  out[#out + 1] = page[i]
  out[#out + 1] = page[i + 1]
end
return out
`)
