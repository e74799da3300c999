-- common.lua: helpers shared by every script: arguments, hashes, the archive's events,
-- seat state changes, counters, handoff counting. Prepended after the generated preamble
-- (K.*, the tables of ivr/core/states.py), before acd.lua and calls.lua, so every script's
-- KEYS[1] is the center's meta key and every other key is built from the same {center}
-- hash tag. Keys used here: meta, events, seat:<seat>, cnt:<kind>:<name>:<bucket>,
-- ready:<queue>:<skill> (ivr/store/keys.py).
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
local ev_cap  -- meta 'ev_cap', read at the first event of a script run
local function events_on()
  if ev_cap == nil then ev_cap = num(redis.call('HGET', K.meta(), MF.ev_cap), 0) end
  return ev_cap > 0
end

local function emit(kind, fields)
  if not events_on() then return end
  redis.call('XADD', K.events(), 'MAXLEN', '~', ev_cap, '*', 'e', kind, 'd', cjson.encode(fields))
end

-- A call's record as the archive keeps it: the whole hash but the callback number.
local function emit_call(sid)
  if not events_on() then return end  -- (not even the record is read)
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
  if not events_on() then return end
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
-- A bucket's TTL is (re)set when one of its fields is counted for the first time (the
-- first count of all creates the key), not on every count: a bucket stops taking new
-- fields when its 15 minutes end, so it still lives CNT_TTL after that at most, for one
-- EXPIRE a field instead of one a count (eight of them in answered.lua).
local function count(queue, line, field, n)
  local bucket = math.floor(NOW / BUCKET_MS) * (BUCKET_MS / 1000)
  n = n or 1
  for _, kn in ipairs({{C.CNT_QUEUE, queue}, {C.CNT_LINE, line}}) do
    if kn[2] and kn[2] ~= '' then
      local k = K.cnt(kn[1], kn[2], bucket)
      if redis.call('HINCRBY', k, field, n) == n then redis.call('EXPIRE', k, CNT_TTL) end
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

-- A transfer or an exclusion notice (any other kind), counted on the line: in total and by
-- target / topic.
local function count_handoff(line, kind, what)
  if kind == 'transfer' then
    count(nil, line, 'transferred', 1)
    count(nil, line, 'transfer:' .. what, 1)
  else
    count(nil, line, 'excluded', 1)
    count(nil, line, 'exclusion:' .. what, 1)
  end
end

-- Keep a call record for the retention period (meta 'retention', seconds) from now on.
local function keep_record(ck)
  redis.call('EXPIRE', ck, num(redis.call('HGET', K.meta(), MF.retention), 604800))
end
