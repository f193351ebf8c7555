package member

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdonboard/rdonboard/tasks"
)

// HandOn is a phone's turn passed to its next member: the member whose
// move ended the previous holder's flow (bound, already_bound, failed,
// expired, cancelled) names the member whose send is due next. The caller
// enqueues that send at At; if it is lost (a worker killed in between),
// reconciliation finds the phone's turn held by nobody and hands it on
// again.
type HandOn struct {
	// AccountID and Step name the next member's send task.
	AccountID string
	Step      tasks.Step
	// At is when its SMS may go: ONBOARD_PHONE_GAP after the last SMS to
	// the phone (zero: at once).
	At time.Time
}

// Turn is the answer of TakeTurn.
type Turn struct {
	// Mine: the member holds its phone's turn and may send once NotBefore
	// has passed.
	Mine      bool
	NotBefore time.Time
	// Next, when the turn is not the member's, is a member that got the
	// turn now because nobody held it: its send must be enqueued.
	Next *HandOn
}

// turnLua holds the Lua functions that pick a phone's next member. They
// are part of every script that passes a turn on.
const turnLua = `
local function terminal(s)
  return s == 'bound' or s == 'already_bound' or s == 'failed' or s == 'expired' or s == 'cancelled'
end

-- nextof returns the first pending member of phone in admission order.
local function nextof(p, phone)
  for _, id in ipairs(redis.call('ZRANGE', p .. 'p:' .. phone, 0, -1)) do
    local f = redis.call('HMGET', p .. 'm:' .. id, 'state', 'phone', 'gen', 'sends')
    if f[1] == 'pending' and f[2] == phone then return id, f[3], f[4] end
  end
  return nil
end

-- handon gives phone's turn to its next pending member (or to nobody) and
-- returns {id, gen, sends, last SMS ms} of that member, or {}.
local function handon(p, phone)
  local pt = p .. 'pt:' .. phone
  local id, gen, sends = nextof(p, phone)
  if not id then
    redis.call('DEL', pt)
    return {}
  end
  redis.call('SET', pt, id)
  redis.call('HDEL', p .. 'm:' .. id, 'wait')
  return {id, gen, sends, redis.call('GET', p .. 'pl:' .. phone) or ''}
end
`

// takeTurnScript lets a pending member's send go only while the member
// holds its phone's turn. A phone whose turn is held by nobody, or by a
// member that ended or left the phone, goes to its first pending member in
// admission order. A member that must wait is marked waiting_for=phone;
// the holder's end hands the turn on to it.
//
// The gap after the phone's last SMS binds only a member's first code: its
// further codes follow its own SMS.
//
// ARGV[1] prefix, ARGV[2] account ID. Returns {"moved", state}, {"wait"},
// {"wait", id, gen, sends, last} (the turn was given to that member now) or
// {"mine", last}; last is the last SMS to the phone (ms, or "").
var takeTurnScript = redis.NewScript(turnLua + `
local p, id = ARGV[1], ARGV[2]
local mk = p .. 'm:' .. id
local f = redis.call('HMGET', mk, 'state', 'phone', 'sends')
if f[1] ~= 'pending' then return {'moved', f[1] or ''} end
local phone = f[2]
local pt = p .. 'pt:' .. phone
local holder = redis.call('GET', pt)
if holder and holder ~= id then
  local h = redis.call('HMGET', p .. 'm:' .. holder, 'state', 'phone')
  if h[1] and h[2] == phone and not terminal(h[1]) then
    redis.call('HSET', mk, 'wait', 'phone')
    return {'wait'}
  end
  holder = nil
end
if not holder then
  local next = handon(p, phone)
  if next[1] and next[1] ~= id then
    redis.call('HSET', mk, 'wait', 'phone')
    return {'wait', unpack(next)}
  end
  -- A member missing from its phone's index (admitted by an older
  -- version) takes the turn itself.
  redis.call('SET', pt, id)
end
redis.call('HDEL', mk, 'wait')
-- A new code for the same member follows its own last SMS: no gap.
if tonumber(f[3] or '0') > 0 then return {'mine', ''} end
return {'mine', redis.call('GET', p .. 'pl:' .. phone) or ''}
`)

// repairTurnScript hands on a phone's turn held by nobody, or by a member
// that ended or left the phone, while members of the phone wait.
//
// ARGV[1] prefix, ARGV[2] phone. Returns {} (the turn is held, or nobody
// waits) or {id, gen, sends, last} of the member given the turn.
var repairTurnScript = redis.NewScript(turnLua + `
local p, phone = ARGV[1], ARGV[2]
local holder = redis.call('GET', p .. 'pt:' .. phone)
if holder then
  local h = redis.call('HMGET', p .. 'm:' .. holder, 'state', 'phone')
  if h[1] and h[2] == phone and not terminal(h[1]) then return {} end
end
return handon(p, phone)
`)

func (s *Store) turnKey(phone string) string { return s.prefix + "pt:" + phone }

// TakeTurn asks for the phone's turn for member id's send (see
// takeTurnScript). A member that is no longer pending gives ErrConflict.
func (s *Store) TakeTurn(ctx context.Context, id string) (Turn, error) {
	res, err := takeTurnScript.Run(ctx, s.rdb, nil, s.prefix, id).StringSlice()
	if err != nil {
		return Turn{}, fmt.Errorf("phone turn of %s: %w", id, err)
	}
	switch res[0] {
	case "moved":
		return Turn{}, &ConflictError{AccountID: id, State: State(res[1])}
	case "mine":
		return Turn{Mine: true, NotBefore: s.afterGap(res[1])}, nil
	}
	if len(res) < 5 {
		return Turn{}, nil
	}
	return Turn{Next: s.handOn(res[1:5])}, nil
}

// RepairTurn hands on the turn of phone when nobody holds it while members
// wait; it returns the member given the turn, or nil.
func (s *Store) RepairTurn(ctx context.Context, phone string) (*HandOn, error) {
	res, err := repairTurnScript.Run(ctx, s.rdb, nil, s.prefix, phone).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("repair phone turn: %w", err)
	}
	if len(res) < 4 {
		return nil, nil
	}
	return s.handOn(res), nil
}

// TurnHolder returns the account holding phone's turn ("" for nobody).
func (s *Store) TurnHolder(ctx context.Context, phone string) (string, error) {
	id, err := s.rdb.Get(ctx, s.turnKey(phone)).Result()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("phone turn: %w", err)
	}
	return id, nil
}

// handOn reads {id, gen, sends, last} as a HandOn.
func (s *Store) handOn(v []string) *HandOn {
	return &HandOn{AccountID: v[0], Step: tasks.Step{Generation: atoi(v[1]), Send: atoi(v[2])}, At: s.afterGap(v[3])}
}

// afterGap is when the next SMS to a phone last sent at ms may go.
func (s *Store) afterGap(ms string) time.Time {
	if ms == "" {
		return time.Time{}
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n).Add(s.gap).UTC()
}
