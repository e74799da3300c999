-- tick.lua: run the timers that are due: wrap-up ends ('w:<seat>'), skill widening
-- ('k:<sid>'), sub-center overflow ('o:<sid>'), reservations nobody picked up ('r:<sid>'),
-- callers who stopped polling the hold loop ('p:<sid>'), callback retries ('c:<sid>'), the
-- next batch of callers of a queue nobody serves ('v:<queue>', drain() in acd.lua). Safe to
-- run from every worker at once: each timer is claimed by ZREM inside this one script.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, wait:<queue>:<skill>,
--   ready:<queue>:<skill>, wskills:<queue>, seat:<seat>, logged:<queue>, qcfg:<queue>,
--   qstat:<queue>, timers, live, cnt:<kind>:<name>:<bucket>, events
-- ARGV[1] now ms, ARGV[2] at most this many timers per run, ARGV[3] calls live longer than
-- this many ms without a final status callback are ended as 'stale' (0 = never)
-- Returns JSON {n, redirect}: timers run, and calls a seat was reserved for (to be
-- pulled out of their hold loop through the REST API).
local limit = int_arg(2, 1, 1e6)
local stale = int_arg(3, 0, 1e12)
local due = redis.call('ZRANGEBYSCORE', K.timers(), '-inf', NOW, 'LIMIT', 0, limit)
local redirect = {}
local function got(sid) if sid then redirect[#redirect + 1] = sid end end
for _, m in ipairs(due) do
  redis.call('ZREM', K.timers(), m)
  local kind, id = string.sub(m, 1, 2), string.sub(m, 3)  -- kind: a TM prefix, 'w:'
  if kind == TM.drain then
    -- a queue nobody serves: the next batch of its callers to the overflow queue
    if not drain(id, C.DRAIN_BATCH, redirect) then redis.call('ZADD', K.timers(), NOW, m) end
  elseif kind == TM.wrapup then
    if redis.call('HGET', K.seat(id), SF.st) == S.seat.wrapup then got(seat_ready(id)) end
  else
    local ck = K.call(id)
    local c = hash(ck)
    if kind == TM.widen and c.st == S.call.waiting and c.sk ~= C.ANY then
      redis.call('ZREM', K.wait(c.q, c.sk), id)
      redis.call('HSET', ck, F.sk, C.ANY)
      if place(id) then got(id) end
    elseif kind == TM.overflow and c.st == S.call.waiting then
      if overflow(id) then got(id) end
    elseif kind == TM.watchdog and c.cb ~= '1' and (c.st == S.call.waiting or c.st == S.call.offered) then
      -- the caller stopped polling the hold loop: hung up, and the status callback was lost
      got(abandon(id, c, math.max(0, num(c.seen, NOW) - num(c.t0, NOW))))
      count(c.q, c.ln, 'lost', 1)
      end_call(id, O.lost)
    elseif kind == TM.callback and c.st == S.call.retry then
      -- a callback attempt failed earlier: the place in line comes back now
      redis.call('HSET', ck, F.st, S.call.waiting)
      if place(id) then got(id) end
    elseif kind == TM.reservation and c.st == S.call.offered then
      -- the caller never reached the seat's <Dial>: free the seat, requeue the call
      count(c.q, c.ln, 'resv_expired', 1)
      got(free_seat(id, c.seat))
      if redis.call('HGET', ck, F.st) == S.call.offered and redis.call('HGET', ck, F.seat) == c.seat then
        redis.call('HSET', ck, F.seat, '')
        if place(id) then got(id) end
      end
    end
  end
end
-- calls whose final status callback never came: end them, free their seats
if stale > 0 then
  for _, sid in ipairs(redis.call('ZRANGEBYSCORE', K.live(), '-inf', NOW - stale, 'LIMIT', 0, limit)) do
    local c = hash(K.call(sid))
    if not c.st then
      redis.call('ZREM', K.live(), sid)
    else
      if c.st == S.call.waiting then redis.call('ZREM', K.wait(c.q, c.sk), sid) end
      if c.st == S.call.offered or c.st == S.call.talking then got(free_seat(sid, c.seat)) end
      count(c.q, c.ln, 'stale', 1)
      end_call(sid, O.stale)
    end
  end
end
return cjson.encode({n = #due, redirect = redirect})
