-- common.lua: helpers shared by every script. Prepended after the generated key
-- builders (K.*, from ivr/store/keys.py), so every script's KEYS[1] is the center's
-- meta key and every other key is built from the same {center} hash tag.
-- Every script takes ARGV[1] = now in milliseconds (time is an input, never TIME).
-- Times below are milliseconds; scores of wait sets are (9 - priority) * 1e13 + arrival.
-- States, transitions (allows, transition), fields and constants: ivr/core/states.py.
--
-- Arguments are checked before a script writes anything: Redis does not roll back a
-- script that fails half-way, so a bad argument must fail (a bug, loudly) while
-- nothing has changed yet. Scripts check theirs with int_arg/str_arg at their top.

local function int_arg(i, lo, hi)
  local v = tonumber(ARGV[i])
  if v == nil or v ~= v or v < lo or v > hi or v ~= math.floor(v) then
    error('bad ARGV[' .. i .. ']: not an integer in [' .. lo .. ', ' .. hi .. ']')
  end
  return v
end

local function str_arg(i, max_len)
  local v = ARGV[i]
  if v == nil or #v > max_len then error('bad ARGV[' .. i .. ']: missing or too long') end
  return v
end

local function one_of_arg(i, ...)
  local v = ARGV[i]
  for _, allowed in ipairs({...}) do
    if v == allowed then return v end
  end
  error('bad ARGV[' .. i .. ']: not one of ' .. table.concat({...}, ', '))
end

local NOW = int_arg(1, 0, 1e14)
-- shared constants come from ivr/core/states.py through the generated preamble (C.*)
local SCORE_SPAN = C.SCORE_SPAN
local CNT_TTL = C.CNT_TTL  -- counter buckets live three days (bounded memory)
local HIST = C.HIST  -- wait bins, seconds

local function num(v, default)
  if v == false or v == nil or v == '' then return default end
  return tonumber(v)
end

local function score_of(prio, t0) return (C.MAX_PRIORITY - prio) * SCORE_SPAN + t0 end

local function hash(key)
  local flat = redis.call('HGETALL', key)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

-- The archive's event stream (see ivr/archive): capped at meta 'ev_cap' entries
-- (approximately; 0 = no archive, nothing is written).
local function emit(kind, fields)
  local cap = num(redis.call('HGET', K.meta(), 'ev_cap'), 0)
  if cap <= 0 then return end
  redis.call('XADD', K.events(), 'MAXLEN', '~', cap, '*', 'e', kind, 'd', cjson.encode(fields))
end

-- A call's record as the archive keeps it: the whole hash but the callback number.
local function emit_call(sid)
  local c = hash(K.call(sid))
  if not c.st then return end
  c.cbn = nil
  c.sid = sid
  emit(KIND.call, c)
end

-- Change a seat's state, closing the interval of the state it leaves (an archive event).
-- call: the call it now holds ('' none, nil = leave the field as it is); at: when (NOW).
local function seat_to(seat, st, call, at)
  local sk = K.seat(seat)
  local old = redis.call('HMGET', sk, SF.st, SF.since, SF.call)
  at = at or NOW
  if call == nil then
    redis.call('HSET', sk, SF.st, st, SF.since, at)
  else
    redis.call('HSET', sk, SF.st, st, SF.since, at, SF.call, call)
  end
  local from = num(old[2], at)
  emit(KIND.seat, {seat = seat, st = old[1] or S.seat.offline, from = from, to = math.max(from, at),
                next = st, call = old[3] or ''})
end

local function bin_of(ms)
  local s = ms / 1000
  for _, ub in ipairs(HIST) do if s <= ub then return tostring(ub) end end
  return C.OVER_HIST
end

-- Add n to a counter field of the queue and of the line, in the current 15-min bucket.
local function count(queue, line, field, n)
  local bucket = math.floor(NOW / BUCKET_MS) * (BUCKET_MS / 1000)
  for _, kn in ipairs({{C.CNT_QUEUE, queue}, {C.CNT_LINE, line}}) do
    if kn[2] and kn[2] ~= '' then
      local k = K.cnt(kn[1], kn[2], bucket)
      redis.call('HINCRBY', k, field, n or 1)
      redis.call('EXPIRE', k, CNT_TTL)
    end
  end
end

local function seat_sets(seat)
  local sets = redis.call('HGET', K.seat(seat), SF.sets) or ''
  local out = {}
  for item in string.gmatch(sets, '[^,]+') do
    local q, s = string.match(item, '^(.-)|(.*)$')
    out[#out + 1] = {q, s}
  end
  return out
end

local function seat_unready(seat)
  for _, qs in ipairs(seat_sets(seat)) do redis.call('ZREM', K.ready(qs[1], qs[2]), seat) end
end

-- Offer a waiting (or arriving) call to a ready seat: both leave their sets.
local function reserve(sid, seat)
  local ck = K.call(sid)
  local q, sk = unpack(redis.call('HMGET', ck, F.q, F.sk))
  redis.call('ZREM', K.wait(q, sk), sid)
  seat_unready(seat)
  seat_to(seat, S.seat.reserved, sid)
  redis.call('HSET', ck, F.st, S.call.offered, F.seat, seat, F.toff, NOW)
  redis.call('ZREM', K.timers(), 'k:' .. sid, 'o:' .. sid)
  local ring = num(redis.call('HGET', K.qcfg(q), 'ring'), 20000)
  local margin = num(redis.call('HGET', K.meta(), 'resv_margin'), 45000)
  redis.call('ZADD', K.timers(), NOW + ring + margin, 'r:' .. sid)
end

-- The longest-idle ready seat of a queue with a skill, or nil.
local function seat_for(q, sk)
  return redis.call('ZRANGE', K.ready(q, sk), 0, 0)[1]
end

local overflow  -- forward declaration: place() and overflow() call each other

-- Put a call (fields q, sk, sc, t0, tq, wd set) in front of a seat or into its wait set.
-- Returns the reserved seat id, or false when the call waits.
local function place(sid)
  local ck = K.call(sid)
  local c = hash(ck)
  local q, sk = c.q, c.sk
  local cfg = hash(K.qcfg(q))
  if not c.oq and cfg.ovq and cfg.ovq ~= '' and cfg.ovn == '1'
      and redis.call('SCARD', K.logged(q)) == 0 then
    return overflow(sid)
  end
  local wd = num(c.wd, -1)
  local widened = sk ~= C.ANY and wd >= 0 and NOW >= num(c.t0, NOW) + wd
  local seat = seat_for(q, sk)
  if not seat and widened then
    seat = seat_for(q, C.ANY)
  end
  if widened then
    sk = C.ANY
    redis.call('HSET', ck, F.sk, C.ANY)
  end
  if seat then
    reserve(sid, seat)
    return seat
  end
  redis.call('ZADD', K.wait(q, sk), num(c.sc, 0), sid)
  redis.call('SADD', K.wskills(q), sk)
  redis.call('HSET', ck, F.st, S.call.waiting, F.seat, '')
  if sk ~= C.ANY and wd >= 0 then
    redis.call('ZADD', K.timers(), num(c.t0, NOW) + wd, 'k:' .. sid)
  end
  local ova = num(cfg.ova, 0)
  if cfg.ovq and cfg.ovq ~= '' and ova > 0 then
    redis.call('ZADD', K.timers(), num(c.tq, NOW) + ova, 'o:' .. sid)
  end
  return false
end

-- Move a waiting call to its queue's overflow queue, keeping its place by arrival.
overflow = function(sid)
  local ck = K.call(sid)
  local c = hash(ck)
  local ovq = redis.call('HGET', K.qcfg(c.q), 'ovq')
  if not ovq or ovq == '' or c.oq then return false end
  redis.call('ZREM', K.wait(c.q, c.sk), sid)
  redis.call('ZREM', K.timers(), 'o:' .. sid)
  count(c.q, nil, 'overflow_out', 1)
  count(ovq, c.ln, 'overflow_in', 1)
  -- the overflow queue's seats are not trained for the line: any of them may answer
  redis.call('HSET', ck, F.q, ovq, F.oq, c.q, F.tq, NOW, F.sk, C.ANY)
  redis.call('ZREM', K.timers(), 'k:' .. sid)
  return place(sid)
end

-- Where a call stands: table with st and, when waiting, its position and queue figures.
local function status(sid)
  local ck = K.call(sid)
  local c = hash(ck)
  if not c.st then return {st = 'unknown'} end
  local out = {st = c.st, q = c.q, ln = c.ln, cb = c.cb}
  if c.st == S.call.offered or c.st == S.call.talking then
    out.seat = c.seat
    out.ep = redis.call('HGET', K.seat(c.seat), SF.ep)
    out.ring = num(redis.call('HGET', K.qcfg(c.q), 'ring'), 20000)
  elseif c.st == S.call.waiting then
    local rank = redis.call('ZRANK', K.wait(c.q, c.sk), sid)
    local pos = (rank or 0) + 1
    if c.sk ~= C.ANY then
      pos = pos + redis.call('ZCOUNT', K.wait(c.q, C.ANY), '-inf', '(' .. c.sc)
    end
    out.pos = pos
    out.logged = redis.call('SCARD', K.logged(c.q))
    out.aht = num(redis.call('HGET', K.qstat(c.q), 'aht'),
                  num(redis.call('HGET', K.qcfg(c.q), 'aht'), 240000))
    out.waited = NOW - num(c.t0, NOW)
  end
  return out
end

-- A seat becomes ready: it takes the best waiting call it may serve, or joins its ready sets.
-- Returns the call it was reserved for, or false.
local function seat_ready(seat)
  seat_to(seat, S.seat.ready, '')
  redis.call('ZREM', K.timers(), 'w:' .. seat)
  local sets = seat_sets(seat)
  local best, best_score = nil, nil
  for _, qs in ipairs(sets) do
    local head = redis.call('ZRANGE', K.wait(qs[1], qs[2]), 0, 0, 'WITHSCORES')
    if head[1] and (best_score == nil or tonumber(head[2]) < best_score) then
      best, best_score = head[1], tonumber(head[2])
    end
  end
  if best then
    reserve(best, seat)
    return best
  end
  for _, qs in ipairs(sets) do redis.call('ZADD', K.ready(qs[1], qs[2]), NOW, seat) end
  return false
end

-- Record the answer of an offered call (idempotent through the state check).
local function mark_answered(sid, at)
  local ck = K.call(sid)
  local c = hash(ck)
  local wait = math.max(0, at - num(c.t0, at))
  redis.call('HSET', ck, F.st, S.call.talking, F.ans, at, F.wait, wait)
  seat_to(c.seat, S.seat.talking, nil, at)
  redis.call('ZREM', K.timers(), 'r:' .. sid)
  count(c.q, c.ln, 'answered', 1)
  count(c.q, c.ln, 'wait_answered_ms', wait)
  count(c.q, c.ln, 'wa:' .. bin_of(wait), 1)
  if wait <= num(redis.call('HGET', K.qcfg(c.q), 'sl'), 15000) then
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
  redis.call('ZREM', K.timers(), 'k:' .. sid, 'o:' .. sid, 'r:' .. sid, 'c:' .. sid, 'p:' .. sid)
  local keep = num(redis.call('HGET', K.meta(), 'retention'), 604800)
  redis.call('EXPIRE', ck, keep)
  emit_call(sid)
end

-- A talk ended: the call is over (answered), the seat goes to wrap-up.
-- Returns a call the seat was reserved for at once (no wrap-up), or false.
local function finish_talk(sid)
  local ck = K.call(sid)
  local c = hash(ck)
  local talk = math.max(0, NOW - num(c.ans, NOW))
  count(c.q, c.ln, 'handled_ms', talk)
  count(c.q, c.ln, 'handled', 1)
  local aht = num(redis.call('HGET', K.qstat(c.q), 'aht'), nil)
  aht = aht and math.floor(aht * 0.9 + talk * 0.1) or talk
  redis.call('HSET', K.qstat(c.q), 'aht', aht)
  redis.call('HSET', ck, F.talk, talk)
  end_call(sid, O.answered)
  local seat = c.seat
  if seat and seat ~= '' and redis.call('HGET', K.seat(seat), SF.call) == sid then
    local wrap = num(redis.call('HGET', K.qcfg(c.q), 'wrap'), 10000)
    redis.call('HSET', K.seat(seat), SF.last, sid)
    if wrap <= 0 then return seat_ready(seat) end
    seat_to(seat, S.seat.wrapup, '')
    redis.call('ZADD', K.timers(), NOW + wrap, 'w:' .. seat)
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
  redis.call('EXPIRE', ck, num(redis.call('HGET', K.meta(), 'retention'), 604800))
  count(nil, line, 'calls', 1)
  count(nil, line, 'rate_limited', 1)
  emit_call(sid)
  return true
end

-- The hold-loop watchdog: a waiting caller polls /voice/wait every loop turn; one who
-- has been silent for meta 'watchdog_ms' has hung up without us hearing of it.
local function watch_caller(sid)
  local ms = num(redis.call('HGET', K.meta(), 'watchdog_ms'), 120000)
  redis.call('HSET', K.call(sid), F.seen, NOW)
  redis.call('ZADD', K.timers(), NOW + ms, 'p:' .. sid)
end
