package member

import (
	"strconv"

	"github.com/redis/go-redis/v9"
)

// repeatWindowMs is RepeatWindow in the scripts' milliseconds.
var repeatWindowMs = strconv.FormatInt(RepeatWindow.Milliseconds(), 10)

// Keys (P is the store's prefix, "rdonboard:" by default):
//
//	P m:<id>               hash: the member (fields below)
//	P h:<id>               list: history, one JSON event per transition
//	P i:<batch>:<state>    zset: members of a batch in a state, scored by
//	                       due time (code expiry for code_sent, else the
//	                       time of the last transition), in ms
//	P batches              set: batch names
//	P p:<phone>            zset: members whose phone is <phone>, scored by
//	                       the order of admission (P pseq, a counter)
//	P phones               set: phones with at least one member
//	P pl:<phone>           string: when the last SMS to <phone> was sent (ms)
//	P pt:<phone>           string: the account holding <phone>'s turn: the
//	                       only member of the phone whose SMS may go
//	P cp:<id>              string: fingerprint of the code that bound <id>,
//	                       kept RepeatWindow (it expires)
//	P codekey              string: the deployment's key of code
//	                       fingerprints (hex), made once
//
// Member hash fields: phone batch dn email state wait gen sends att exp
// ecode emsg req upd crt code doubt subs sending last. Short names: one waiting member is a few hundred bytes.
//
// The scripts build index keys from the member's batch and state, so the
// store needs a single Redis (standalone or Sentinel), not a Cluster.

// transitionScript moves one member from one of the states it expects to a
// new state, applying field changes, moving its index entry and appending a
// history event, all atomically.
//
// ARGV[1] prefix, ARGV[2] account ID, ARGV[3] JSON change:
//
//	{"from":[states],"to":state,"gen":n?,"send":n?,"att":n?,"set":{f:v},"incr":{f:n},
//	 "del":[f],"now":ms,"score":ms?,"reason":s,"req":s?,"quiet":bool?,
//	 "sms":bool?}
//
// sms records now as the time of the last SMS to the member's phone.
//
// A move that ends the flow of the member holding its phone's turn hands
// the turn on to the phone's next pending member (turnLua).
//
// Returns {"ok", next id, gen, sends, last SMS, hgetall...} (next id "" when
// no turn was handed on), {"missing"}, {"conflict", state} or {"stale",
// state} (generation, send or code attempts differ from the guard).
var transitionScript = redis.NewScript(turnLua + `
local p, id = ARGV[1], ARGV[2]
local c = cjson.decode(ARGV[3])
local mk = p .. 'm:' .. id
local cur = redis.call('HMGET', mk, 'state', 'gen', 'sends', 'batch', 'phone', 'att')
local state = cur[1]
if not state then return {'missing'} end
local allowed = false
for _, s in ipairs(c.from) do
  if s == state then allowed = true break end
end
if not allowed then return {'conflict', state} end
if c.gen and tonumber(cur[2]) ~= c.gen then return {'stale', state} end
if c.send and tonumber(cur[3]) ~= c.send then return {'stale', state} end
if c.att and tonumber(cur[6] or '0') ~= c.att then return {'stale', state} end
if c.set then
  for k, v in pairs(c.set) do redis.call('HSET', mk, k, v) end
end
if c.incr then
  for k, v in pairs(c.incr) do redis.call('HINCRBY', mk, k, v) end
end
if c.del then
  for _, k in ipairs(c.del) do redis.call('HDEL', mk, k) end
end
redis.call('HSET', mk, 'state', c.to, 'upd', c.now)
if c.sms then redis.call('SET', p .. 'pl:' .. cur[5], c.now) end
local ho = {}
if terminal(c.to) and not terminal(state) then
  redis.call('HDEL', mk, 'wait')
  -- The fingerprint of the last code leaves the member; the code that
  -- bound it stays known as a repeat for a short window only.
  local last = redis.call('HGET', mk, 'last')
  if last then
    redis.call('HDEL', mk, 'last')
    if c.to == 'bound' then redis.call('SET', p .. 'cp:' .. id, last, 'PX', ` + repeatWindowMs + `) end
  end
  if redis.call('GET', p .. 'pt:' .. cur[5]) == id then ho = handon(p, cur[5]) end
end
local batch = cur[4]
if state ~= c.to then
  redis.call('ZREM', p .. 'i:' .. batch .. ':' .. state, id)
end
redis.call('ZADD', p .. 'i:' .. batch .. ':' .. c.to, c.score or c.now, id)
if not c.quiet then
  redis.call('RPUSH', p .. 'h:' .. id,
    cjson.encode({t = c.now, f = state, s = c.to, r = c.reason, q = c.req}))
end
return {'ok', ho[1] or '', ho[2] or '', ho[3] or '', ho[4] or '', unpack(redis.call('HGETALL', mk))}
`)

// admitScript takes members from a roster into the store, many per call:
// one script call per chunk of rows costs Redis a fraction of a call per
// row, which keeps ingest close to the speed of enqueueing alone.
//
// ARGV[1] prefix, ARGV[2] now (ms), ARGV[3] "1" to restart failed and
// expired members, then five arguments per member: account ID, phone,
// batch, display name, email. Members are taken in order, each seeing the
// effect of those before it. Cancelled members are always restarted.
//
// Each member is kept in its phone's index (P p:<phone>), scored by the
// order of admission (P pseq), so the members of one phone are served in
// the order they were admitted; a changed phone moves it to the new
// phone's index, at the end.
//
// A member that leaves a phone whose turn it held passes that turn on.
//
// Returns four values per member, {outcome, generation, sends, handon},
// handon being {id, gen, sends, last} of the member the old phone's turn
// passed to, or {}; outcome one of:
//
//	new        created in pending
//	restarted  a new flow in pending (changed phone, or retry of failed/expired/cancelled)
//	pending    known and still pending: its send task may need enqueueing
//	unchanged  known, in progress or finished: nothing to do
//	bound      known and bound to another phone: the change is refused
//	binding    known, phone changed, while a bind with the old phone is in
//	           flight or in doubt: the change is refused for now
var admitScript = redis.NewScript(turnLua + `
local p, now, retry = ARGV[1], ARGV[2], ARGV[3]
local out = {}
-- Index entries of new members, added once per batch at the end (or
-- before a restart, which may remove one).
local due, known = {}, {}

local function flush()
  for batch, ids in pairs(due) do
    redis.call('ZADD', p .. 'i:' .. batch .. ':pending', unpack(ids))
  end
  due = {}
end

local function history(id, from, reason)
  redis.call('RPUSH', p .. 'h:' .. id,
    '{"t":' .. now .. ',"f":"' .. from .. '","s":"pending","r":' .. cjson.encode(reason) .. '}')
end

local function names(mk, dn, email)
  if dn ~= '' then redis.call('HSET', mk, 'dn', dn) else redis.call('HDEL', mk, 'dn') end
  if email ~= '' then redis.call('HSET', mk, 'email', email) else redis.call('HDEL', mk, 'email') end
end

local function join(id, phone)
  redis.call('ZADD', p .. 'p:' .. phone, redis.call('INCR', p .. 'pseq'), id)
  redis.call('SADD', p .. 'phones', phone)
end

local function leave(id, phone)
  local k = p .. 'p:' .. phone
  redis.call('ZREM', k, id)
  local ho = {}
  if redis.call('GET', p .. 'pt:' .. phone) == id then ho = handon(p, phone) end
  if redis.call('ZCARD', k) == 0 then redis.call('SREM', p .. 'phones', phone) end
  return ho
end

local function create(mk, id, phone, batch)
  redis.call('HSET', mk, 'phone', phone, 'batch', batch, 'state', 'pending',
    'gen', 1, 'sends', 0, 'att', 0, 'upd', now, 'crt', now)
  join(id, phone)
  local ids = due[batch]
  if not ids then
    ids = {}
    due[batch] = ids
  end
  ids[#ids + 1] = now
  ids[#ids + 1] = id
  if not known[batch] then
    redis.call('SADD', p .. 'batches', batch)
    known[batch] = true
  end
  history(id, '', 'admitted in batch ' .. batch)
end

local function restart(mk, id, phone, oldphone, batch, gen, from, oldbatch, reason)
  flush()
  redis.call('ZREM', p .. 'i:' .. oldbatch .. ':' .. from, id)
  redis.call('HDEL', mk, 'exp', 'ecode', 'emsg', 'req', 'code', 'doubt', 'subs', 'sending', 'last', 'wait')
  redis.call('DEL', p .. 'cp:' .. id)
  redis.call('HSET', mk, 'phone', phone, 'batch', batch, 'state', 'pending',
    'gen', gen, 'sends', 0, 'att', 0, 'upd', now)
  local ho = {}
  if oldphone ~= phone then
    ho = leave(id, oldphone)
    join(id, phone)
  end
  redis.call('ZADD', p .. 'i:' .. batch .. ':pending', now, id)
  redis.call('SADD', p .. 'batches', batch)
  history(id, from, reason)
  return ho
end

local function admit(id, phone, batch, dn, email)
  local mk = p .. 'm:' .. id
  local cur = redis.call('HMGET', mk, 'state', 'phone', 'gen', 'batch', 'sends', 'doubt')
  local state = cur[1]
  if not state then
    create(mk, id, phone, batch)
    names(mk, dn, email)
    return 'new', 1, 0, {}
  end
  local gen = tonumber(cur[3]) or 0
  if cur[2] ~= phone then
    if state == 'bound' or state == 'already_bound' then return 'bound', gen, 0, {} end
    if state == 'code_submitted' or cur[6] == '1' then return 'binding', gen, 0, {} end
    names(mk, dn, email)
    local ho = restart(mk, id, phone, cur[2], batch, gen + 1, state, cur[4], 'phone changed in batch ' .. batch)
    return 'restarted', gen + 1, 0, ho
  end
  names(mk, dn, email)
  if state == 'cancelled' or (retry == '1' and (state == 'failed' or state == 'expired')) then
    restart(mk, id, phone, phone, batch, gen + 1, state, cur[4], 'retry requested in batch ' .. batch)
    return 'restarted', gen + 1, 0, {}
  end
  if state == 'pending' then return 'pending', gen, tonumber(cur[5]) or 0, {} end
  return 'unchanged', gen, 0, {}
end

for i = 4, #ARGV, 5 do
  local o, gen, sends, ho = admit(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
  out[#out + 1] = o
  out[#out + 1] = gen
  out[#out + 1] = sends
  out[#out + 1] = ho
end
flush()
return out
`)

// peekScript reads what admitScript would decide for one member, changing
// nothing (for --dry-run). ARGV[1] prefix, ARGV[2] account ID, ARGV[3]
// phone, ARGV[6] "1" to restart failed and expired members; outcomes as
// admitScript's.
var peekScript = redis.NewScript(`
local p, id, phone, retry = ARGV[1], ARGV[2], ARGV[3], ARGV[6]
local cur = redis.call('HMGET', p .. 'm:' .. id, 'state', 'phone', 'doubt')
local state = cur[1]
if not state then return {'new', 0, 0, {}} end
if cur[2] ~= phone then
  if state == 'bound' or state == 'already_bound' then return {'bound', 0, 0, {}} end
  if state == 'code_submitted' or cur[3] == '1' then return {'binding', 0, 0, {}} end
  return {'restarted', 0, 0, {}}
end
if state == 'cancelled' or (retry == '1' and (state == 'failed' or state == 'expired')) then return {'restarted', 0, 0, {}} end
if state == 'pending' then return {'pending', 0, 0, {}} end
return {'unchanged', 0, 0, {}}
`)

// submitScript counts a code handed in for a member, if the member is
// waiting for one (code_sent; code_submitted while an earlier code is being
// checked; pending while its send is in flight, as the SMS may arrive
// before the send is recorded) and has attempts left for the current send.
// The same code handed in again once it was taken (code_submitted) or, for
// RepeatWindow, once it bound the member (bound) is a repeat: a client
// trying again after an answer it did not get. A repeat counts no attempt
// and needs no second task.
//
// ARGV[1] prefix, ARGV[2] account ID, ARGV[3] attempts allowed per send,
// ARGV[4] the code's fingerprint. Returns {"missing"} or {outcome, state,
// gen, send}, outcome one of "ok", "repeat", "not_waiting", "exhausted", and
// gen and send the step the code is for (the send in flight for a pending
// member).
var submitScript = redis.NewScript(`
local p, id = ARGV[1], ARGV[2]
local mk = p .. 'm:' .. id
local cur = redis.call('HMGET', mk, 'state', 'subs', 'sending', 'last', 'gen', 'sends')
local state = cur[1]
if not state then return {'missing'} end
local gen, send = cur[5] or '0', tonumber(cur[6] or '0')
local function answer(o) return {o, state, gen, tostring(send)} end
if state == 'code_submitted' and cur[4] == ARGV[4] then return answer('repeat') end
if state == 'bound' and redis.call('GET', p .. 'cp:' .. id) == ARGV[4] then return answer('repeat') end
local sending = state == 'pending' and cur[3]
if state ~= 'code_sent' and state ~= 'code_submitted' and not sending then return answer('not_waiting') end
if sending then send = send + 1 end
if tonumber(cur[2] or '0') >= tonumber(ARGV[3]) then return answer('exhausted') end
redis.call('HINCRBY', mk, 'subs', 1)
redis.call('HSET', mk, 'last', ARGV[4])
return answer('ok')
`)
