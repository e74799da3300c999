-- enqueue.lua: a call asks for a seat (from the IVR, or straight from the dialed line).
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, wait:<queue>:<skill>,
--   ready:<queue>:<skill>, wskills:<queue>, seat:<seat>, logged:<queue>, qcfg:<queue>,
--   qstat:<queue>, timers, live, cnt:<kind>:<name>:<bucket>, rl:<caller>:<window>, events
-- ARGV[1] now ms, ARGV[2] sid, ARGV[3] line, ARGV[4] queue, ARGV[5] skill,
-- ARGV[6] priority 0-9, ARGV[7] widen-after ms (-1 never), ARGV[8] masked caller,
-- ARGV[9] the call's language, ARGV[10] queue the call was turned away from because it
-- is closed ('' = none; counted as an overflow from it), ARGV[11] caller digest ('' = no
-- limit), ARGV[12] calls allowed per window, ARGV[13] window ms, ARGV[14] the telephony
-- dialect the call came in on (kept as 'dl' unless the record already has one)
-- Returns JSON status: {st='limited'} over the repeated-call limit,
-- {st='offered', seat, ep, ring} when a seat was reserved at once,
-- {st='waiting', pos, logged, aht, waited} when it waits, or the state of a call that
-- was already queued or ended (repeated webhooks change nothing).
local sid, line, q, sk = str_arg(2, 128), str_arg(3, 64), str_arg(4, 64), str_arg(5, 64)
local prio, wd = int_arg(6, 0, 9), int_arg(7, -1, 1e10)
local from, lang, closed = str_arg(8, 64), str_arg(9, 16), str_arg(10, 64)
local limit, window = int_arg(12, 0, 1e6), int_arg(13, 0, 1e10)
local dialect = str_arg(14, 16)
local ck = K.call(sid)
local st = redis.call('HGET', ck, F.st)
if not allows(KIND.call, st, E.call.enqueue) then  -- queued already, or ended: stays so
  local s = status(sid)
  s.repeated = true
  return cjson.encode(s)
end
if not st then
  if rate_limited(sid, line, ARGV[11], limit, window) then
    return cjson.encode({st = S.result.limited})
  end
  create_call(sid, line, from)
end
if dialect ~= '' then redis.call('HSETNX', ck, F.dl, dialect) end
redis.call('HSET', ck, F.st, S.call.waiting, F.q, q, F.sk, sk, F.pr, prio, F.t0, NOW, F.tq, NOW,
           F.sc, score_of(prio, NOW), F.wd, wd, F.lg, lang)
if closed ~= '' then
  -- offered once, to the closed queue the line routes to, and overflowing from it at
  -- once: counted as a sub-center's overflow in open hours is (overflow() in common.lua)
  redis.call('HSET', ck, F.oq, closed)
  count(closed, line, 'offered', 1)
  count(closed, nil, 'overflow_out', 1)
  count(q, line, 'overflow_in', 1)
else
  count(q, line, 'offered', 1)
end
place(sid)
watch_caller(sid)
return cjson.encode(status(sid))
