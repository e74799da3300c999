-- calls.lua: a call's record from start to end, shared by the scripts that move calls:
-- create it, answer, abandon, end, finish a talk, refuse over the repeated-call limit, the
-- hold-loop watchdog. Prepended after acd.lua.
-- Keys used here: call:<sid>, seat:<seat>, wait:<queue>:<skill>, qcfg:<queue>,
-- qstat:<queue>, live, timers, meta, rl:<caller>:<window> (queue, skill and seat come from
-- the call's record; all in the {center} slot of KEYS[1]).

-- A new call record: its line, start and (masked) caller, then any further field/value
-- pairs; kept for the retention period, live, and counted on its line.
local function create_call(sid, line, from, ...)
  local ck = K.call(sid)
  redis.call('HSET', ck, F.ln, line, F.t1, NOW, F.fr, from, ...)
  keep_record(ck)
  redis.call('ZADD', K.live(), NOW, sid)
  count(nil, line, 'calls', 1)
end

-- Free the seat a call was offered to or talked with, if that seat still holds the call.
-- Returns a call the freed seat was reserved for at once, or false.
local function free_seat(sid, seat)
  if seat and seat ~= '' and redis.call('HGET', K.seat(seat), SF.call) == sid then
    return seat_ready(seat)
  end
  return false
end

-- A caller left before a seat answered (hung up, or went silent in the hold loop): out of
-- its wait set, a seat rung for it freed, its wait (ms) recorded and counted as abandoned.
-- c: the call's hash. Returns a call the freed seat was reserved for, or false.
local function abandon(sid, c, wait)
  redis.call('ZREM', K.wait(c.q, c.sk), sid)
  local got = c.st == S.call.offered and free_seat(sid, c.seat)
  redis.call('HSET', K.call(sid), F.wait, wait)
  count(c.q, c.ln, 'abandoned', 1)
  count(c.q, c.ln, 'wait_abandoned_ms', wait)
  count(c.q, c.ln, 'wb:' .. bin_of(wait), 1)
  return got
end

-- Record the answer of an offered call (idempotent through the state check).
-- c: the call's record when the caller has read it (unchanged since), else read here.
local function mark_answered(sid, at, c)
  local ck = K.call(sid)
  c = c or hash(ck)
  local wait = math.max(0, at - num(c.t0, at))
  redis.call('HSET', ck, F.st, S.call.talking, F.ans, at, F.wait, wait)
  seat_to(c.seat, S.seat.talking, nil, at)
  redis.call('ZREM', K.timers(), TM.reservation .. sid)
  count(c.q, c.ln, 'answered', 1)
  count(c.q, c.ln, 'wait_answered_ms', wait)
  count(c.q, c.ln, 'wa:' .. bin_of(wait), 1)
  if wait <= num(redis.call('HGET', K.qcfg(c.q), QF.sl), 15000) then
    count(c.q, c.ln, 'sl_answered', 1)
  end
  if c.cb == '1' then count(c.q, c.ln, 'callback_connected', 1) end
end

-- End a call for good with an outcome; the record expires after the retention period.
-- The callback number is erased: it is kept only until the callback ends.
local function end_call(sid, outcome)
  local ck = K.call(sid)
  transition(KIND.call, redis.call('HGET', ck, F.st), E.call.end_)  -- a call ends once
  redis.call('HSET', ck, F.st, S.call.ended, F.out, outcome, F.tend, NOW)
  redis.call('HDEL', ck, F.cbn)
  redis.call('ZREM', K.live(), sid)
  redis.call('ZREM', K.timers(), TM.widen .. sid, TM.overflow .. sid, TM.reservation .. sid, TM.callback .. sid, TM.watchdog .. sid)
  keep_record(ck)
  emit_call(sid)
end

-- A talk ended: the call is over (answered), the seat goes to wrap-up.
-- Returns a call the seat was reserved for at once (no wrap-up), or false.
-- c: the call's record when the caller has read it (unchanged since), else read here.
local function finish_talk(sid, c)
  local ck = K.call(sid)
  c = c or hash(ck)
  local talk = math.max(0, NOW - num(c.ans, NOW))
  count(c.q, c.ln, 'handled_ms', talk)
  count(c.q, c.ln, 'handled', 1)
  local aht = num(redis.call('HGET', K.qstat(c.q), QS.aht), nil)
  aht = aht and math.floor(aht * 0.9 + talk * 0.1) or talk
  redis.call('HSET', K.qstat(c.q), QS.aht, aht)
  redis.call('HSET', ck, F.talk, talk)
  end_call(sid, O.answered)
  local seat = c.seat
  if seat and seat ~= '' and redis.call('HGET', K.seat(seat), SF.call) == sid then
    local wrap = num(redis.call('HGET', K.qcfg(c.q), QF.wrap), 10000)
    redis.call('HSET', K.seat(seat), SF.last, sid)
    if wrap <= 0 then return seat_ready(seat) end
    seat_to(seat, S.seat.wrapup, '')
    redis.call('ZADD', K.timers(), NOW + wrap, TM.wrapup .. seat)
  end
  return false
end

-- Repeated calls from one caller (robocalls): a fixed-window counter per caller digest.
-- The window comes from NOW (time is an input); the real-time expiry only cleans up.
-- Returns true when this call is over the limit; then the call is recorded as ended with
-- the outcome 'rate_limited' (so it, too, has exactly one outcome).
local function rate_limited(sid, line, id, limit, window)
  if not id or id == '' or not limit or limit <= 0 then return false end
  local k = K.rl(id, math.floor(NOW / window))
  local n = redis.call('INCR', k)
  if n == 1 then redis.call('PEXPIRE', k, 2 * window) end
  if n <= limit then return false end
  local ck = K.call(sid)
  redis.call('HSET', ck, F.st, S.call.ended, F.out, O.rate_limited, F.ln, line, F.t1, NOW, F.tend, NOW)
  keep_record(ck)
  count(nil, line, 'calls', 1)
  count(nil, line, 'rate_limited', 1)
  emit_call(sid)
  return true
end

-- The hold-loop watchdog: a waiting caller polls /voice/wait every loop turn; one who
-- has been silent for meta 'watchdog_ms' has hung up without us hearing of it.
local function watch_caller(sid)
  local ms = num(redis.call('HGET', K.meta(), MF.watchdog_ms), 120000)
  redis.call('HSET', K.call(sid), F.seen, NOW)
  redis.call('ZADD', K.timers(), NOW + ms, TM.watchdog .. sid)
end
