-- seat.lua: a seat (softphone) changes its own state: login, ready, break, logout.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, wait:<queue>:<skill>,
--   ready:<queue>:<skill>, wskills:<queue>, seat:<seat>, seats, logged:<queue>,
--   qcfg:<queue>, qstat:<queue>, timers, cnt:<kind>:<name>:<bucket>, events
-- ARGV[1] now ms, ARGV[2] seat id, ARGV[3] action: login | ready | break | logout
-- Returns JSON {st, call, error, redirect}: the seat's state after the action; error is
-- set (and nothing changed) when the action is not allowed in the current state;
-- redirect lists calls the seat (or an overflow) was reserved for.
-- Transitions: the seat table of ivr/core/states.py (allows('seat', st, action)); a
-- repeated login or logout answers the state as it is. A seat with a call (reserved,
-- talking) cannot go to break or log out. When the last seat of a queue that overflows
-- when nobody is logged in logs out, its callers move to the overflow queue: at most
-- C.DRAIN_BATCH of them in this call (their reservations in redirect), the rest by tick.lua.
local seat, action = str_arg(2, 64), str_arg(3, 16)
local sk = K.seat(seat)
if redis.call('SISMEMBER', K.seats(), seat) == 0 then
  return cjson.encode({error = 'unknown seat'})
end
local st = redis.call('HGET', sk, SF.st) or S.seat.offline
local redirect = {}
local function answer(err)
  local s = hash(sk)
  return cjson.encode({st = s.st or S.seat.offline, call = s.call or '', error = err, redirect = redirect})
end
local function queues()
  local out = {}
  for q in string.gmatch(redis.call('HGET', sk, SF.qs) or '', '[^,]+') do out[#out + 1] = q end
  return out
end
if not allows(KIND.seat, st, action) then
  if (action == E.seat.login and st ~= S.seat.offline)
      or (action == E.seat.logout and st == S.seat.offline) then
    return answer(nil)  -- already so
  end
  if st == S.seat.reserved or st == S.seat.talking then return answer('seat has a call in progress') end
  if st == S.seat.offline and (action == E.seat.ready or action == E.seat.break_) then
    return answer('seat is not logged in')
  end
  return answer('unknown action ' .. action)
end
if action == E.seat.login then
  for _, q in ipairs(queues()) do redis.call('SADD', K.logged(q), seat) end
  local got = seat_ready(seat)
  if got then redirect[1] = got end
elseif action == E.seat.ready then
  if st ~= S.seat.ready then
    local got = seat_ready(seat)
    if got then redirect[1] = got end
  end
elseif action == E.seat.break_ then
  seat_unready(seat)
  redis.call('ZREM', K.timers(), TM.wrapup .. seat)
  seat_to(seat, S.seat.break_)
elseif action == E.seat.logout then
  seat_unready(seat)
  redis.call('ZREM', K.timers(), TM.wrapup .. seat)
  seat_to(seat, S.seat.offline, '')
  for _, q in ipairs(queues()) do
    redis.call('SREM', K.logged(q), seat)
    -- the last seat left: the callers of this queue move to its overflow queue (a first
    -- batch now, the rest by the tick)
    drain_start(q, redirect)
  end
else
  return answer('unknown action ' .. action)
end
return answer(nil)
