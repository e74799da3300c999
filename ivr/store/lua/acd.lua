-- acd.lua: matching calls and seats, shared by the scripts that route: reserve a seat for a
-- call, place a call (a seat or its wait set), overflow, drain a queue nobody serves, where
-- a call stands, a seat becoming ready. Prepended after common.lua.
-- Keys used here: call:<sid>, seat:<seat>, wait:<queue>:<skill>, ready:<queue>:<skill>,
-- wskills:<queue>, logged:<queue>, qcfg:<queue>, qstat:<queue>, timers, meta. The queue
-- and skill of wait/ready/logged/qcfg keys come from a call's or seat's record, so a script
-- cannot declare them in KEYS beforehand; all share the {center} tag of KEYS[1], one slot.

-- Offer a waiting (or arriving) call to a ready seat: both leave their sets.
local function reserve(sid, seat)
  local ck = K.call(sid)
  local q, sk = unpack(redis.call('HMGET', ck, F.q, F.sk))
  redis.call('ZREM', K.wait(q, sk), sid)
  seat_unready(seat)
  seat_to(seat, S.seat.reserved, sid)
  redis.call('HSET', ck, F.st, S.call.offered, F.seat, seat, F.toff, NOW)
  redis.call('ZREM', K.timers(), TM.widen .. sid, TM.overflow .. sid)
  local ring = num(redis.call('HGET', K.qcfg(q), QF.ring), 20000)
  local margin = num(redis.call('HGET', K.meta(), MF.resv_margin), 45000)
  redis.call('ZADD', K.timers(), NOW + ring + margin, TM.reservation .. sid)
end

-- The longest-idle ready seat of a queue with a skill, or nil.
local function seat_for(q, sk)
  return redis.call('ZRANGE', K.ready(q, sk), 0, 0)[1]
end

-- Whether a queue sends its callers to its overflow queue now: it has one, overflows when
-- nobody is logged in (qcfg 'ovn'), and nobody is. cfg: the queue's qcfg hash.
local function overflows_when_empty(q, cfg)
  return cfg.ovq and cfg.ovq ~= '' and cfg.ovn == '1' and redis.call('SCARD', K.logged(q)) == 0
end

local overflow  -- forward declaration: place() and overflow() call each other

-- Put a call (fields q, sk, sc, t0, tq, wd set) in front of a seat or into its wait set.
-- Returns the reserved seat id, or false when the call waits.
local function place(sid)
  local ck = K.call(sid)
  local c = hash(ck)
  local q, sk = c.q, c.sk
  local cfg = hash(K.qcfg(q))
  if not c.oq and overflows_when_empty(q, cfg) then
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
    redis.call('ZADD', K.timers(), num(c.t0, NOW) + wd, TM.widen .. sid)
  end
  local ova = num(cfg.ova, 0)
  if cfg.ovq and cfg.ovq ~= '' and ova > 0 then
    redis.call('ZADD', K.timers(), num(c.tq, NOW) + ova, TM.overflow .. sid)
  end
  return false
end

-- Move a waiting call to its queue's overflow queue, keeping its place by arrival.
overflow = function(sid)
  local ck = K.call(sid)
  local c = hash(ck)
  local ovq = redis.call('HGET', K.qcfg(c.q), QF.ovq)
  if not ovq or ovq == '' or c.oq then return false end
  redis.call('ZREM', K.wait(c.q, c.sk), sid)
  redis.call('ZREM', K.timers(), TM.overflow .. sid)
  count(c.q, nil, 'overflow_out', 1)
  count(ovq, c.ln, 'overflow_in', 1)
  -- the overflow queue's seats are not trained for the line: any of them may answer
  redis.call('HSET', ck, F.q, ovq, F.oq, c.q, F.tq, NOW, F.sk, C.ANY)
  redis.call('ZREM', K.timers(), TM.widen .. sid)
  return place(sid)
end

-- Forget where the last drain of a queue stopped (qstat 'drain:<skill>' of each skill).
local function drain_forget(q)
  for _, skill in ipairs(redis.call('SMEMBERS', K.wskills(q))) do
    redis.call('HDEL', K.qstat(q), QS.drain .. ':' .. skill)
  end
end

-- Move at most n callers of queue q to its overflow queue while nobody is logged in to q
-- (the last seat logged out): skill by skill, best score first, from where the last batch
-- stopped. A call that overflowed into q already stays; the last such call a batch passed
-- is kept in qstat 'drain:<skill>', so the next batch starts after it (ZRANK: O(log n)).
-- Each call visited costs O(log n); the whole wait list is never walked in one script.
-- Appends calls reserved on the way to redirect. Returns true when none is left to move.
local function drain(q, n, redirect)
  local skills = redis.call('SMEMBERS', K.wskills(q))
  local active = overflows_when_empty(q, hash(K.qcfg(q)))
  for _, skill in ipairs(skills) do
    if not active or n <= 0 then break end
    local wk, field = K.wait(q, skill), QS.drain .. ':' .. skill
    local last = redis.call('HGET', K.qstat(q), field)
    local i = last and redis.call('ZRANK', wk, last)
    i = i and i + 1 or 0
    local passed = nil
    while n > 0 do
      local sid = redis.call('ZRANGE', wk, i, i)[1]
      if not sid then break end
      n = n - 1
      if redis.call('HEXISTS', K.call(sid), F.oq) == 1 then
        i, passed = i + 1, sid  -- overflowed in: stays, and the next batch starts after it
      elseif overflow(sid) then
        redirect[#redirect + 1] = sid
      end
    end
    if passed then redis.call('HSET', K.qstat(q), field, passed) end
  end
  if active and n <= 0 then return false end
  drain_forget(q)
  return true
end

-- Start moving the callers of a queue that nobody serves any more (a seat left it) to its
-- overflow queue: a first batch now when redirect is a list (calls reserved on the way are
-- appended), the rest (or all, redirect nil) by the tick ('v:<queue>' timer, tick.lua).
local function drain_start(q, redirect)
  if not overflows_when_empty(q, hash(K.qcfg(q))) then return end
  drain_forget(q)  -- a new drain starts at the head: calls may have come in ahead
  if not redirect or not drain(q, C.DRAIN_BATCH, redirect) then
    redis.call('ZADD', K.timers(), NOW, TM.drain .. q)
  end
end

-- Take a seat out of the roster unless it has a call (the seat table's 'remove'): out of
-- its ready sets and logged-in sets, its wrap-up timer and hash gone; a queue it leaves with
-- nobody logged in drains to its overflow queue (by the tick). Returns true if done.
local function remove_seat(seat)
  local sk = K.seat(seat)
  if not allows(KIND.seat, redis.call('HGET', sk, SF.st), E.seat.remove) then return false end
  seat_unready(seat)
  for q in string.gmatch(redis.call('HGET', sk, SF.qs) or '', '[^,]+') do
    redis.call('SREM', K.logged(q), seat)
    drain_start(q, nil)
  end
  redis.call('ZREM', K.timers(), TM.wrapup .. seat)
  redis.call('SREM', K.seats(), seat)
  redis.call('DEL', sk)
  return true
end

-- Where a call stands: table with st and, when waiting, its position and queue figures.
local function status(sid)
  local ck = K.call(sid)
  local c = hash(ck)
  if not c.st then return {st = S.result.unknown} end
  local out = {st = c.st, q = c.q, ln = c.ln, cb = c.cb}
  if c.st == S.call.offered or c.st == S.call.talking then
    out.seat = c.seat
    out.ep = redis.call('HGET', K.seat(c.seat), SF.ep)
    out.ring = num(redis.call('HGET', K.qcfg(c.q), QF.ring), 20000)
  elseif c.st == S.call.waiting then
    local rank = redis.call('ZRANK', K.wait(c.q, c.sk), sid)
    local pos = (rank or 0) + 1
    if c.sk ~= C.ANY then
      pos = pos + redis.call('ZCOUNT', K.wait(c.q, C.ANY), '-inf', '(' .. c.sc)
    end
    out.pos = pos
    out.logged = redis.call('SCARD', K.logged(c.q))
    out.aht = num(redis.call('HGET', K.qstat(c.q), QS.aht),
                  num(redis.call('HGET', K.qcfg(c.q), QF.aht), 240000))
    out.waited = NOW - num(c.t0, NOW)
  end
  return out
end

-- A seat becomes ready: it takes the best waiting call it may serve, or joins its ready sets.
-- Returns the call it was reserved for, or false.
local function seat_ready(seat)
  seat_to(seat, S.seat.ready, '')
  redis.call('ZREM', K.timers(), TM.wrapup .. seat)
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

