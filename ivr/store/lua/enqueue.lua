-- enqueue.lua: a call asks for a seat (from the IVR, or straight from the dialed line).
-- KEYS[1] center meta key
-- ARGV[1] now ms, ARGV[2] sid, ARGV[3] line, ARGV[4] queue, ARGV[5] skill,
-- ARGV[6] priority 0-9, ARGV[7] widen-after ms (-1 never), ARGV[8] masked caller,
-- ARGV[9] the call's language, ARGV[10] queue the call was turned away from because it
-- is closed ('' = none; counted as an overflow from it), ARGV[11] caller digest ('' = no
-- limit), ARGV[12] calls allowed per window, ARGV[13] window ms
-- Returns JSON status: {st='limited'} over the repeated-call limit,
-- {st='offered', seat, ep, ring} when a seat was reserved at once,
-- {st='waiting', pos, logged, aht, waited} when it waits, or the state of a call that
-- was already queued or ended (repeated webhooks change nothing).
local sid, line, q, sk = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local prio, wd, from, lang, closed = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], ARGV[9], ARGV[10]
local ck = K.call(sid)
local st = redis.call('HGET', ck, 'st')
if st and st ~= 'ivr' then
  local s = status(sid)
  s.repeated = true
  return cjson.encode(s)
end
if not st then
  if rate_limited(sid, line, ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13])) then
    return cjson.encode({st = 'limited'})
  end
  redis.call('HSET', ck, 'ln', line, 't1', NOW, 'fr', from)
  redis.call('EXPIRE', ck, num(redis.call('HGET', K.meta(), 'retention'), 604800))
  redis.call('ZADD', K.live(), NOW, sid)
  count(nil, line, 'calls', 1)
end
redis.call('HSET', ck, 'st', 'waiting', 'q', q, 'sk', sk, 'pr', prio, 't0', NOW, 'tq', NOW,
           'sc', score_of(prio, NOW), 'wd', wd, 'lg', lang)
if closed ~= '' then
  redis.call('HSET', ck, 'oq', closed)
  count(closed, nil, 'offered', 1)
  count(closed, nil, 'overflow_out', 1)
  count(q, line, 'overflow_in', 1)
end
count(q, line, 'offered', 1)
place(sid)
watch_caller(sid)
return cjson.encode(status(sid))
