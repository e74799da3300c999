-- transfer.lua: the IVR hands a call to a transfer target (110, 95598, ...).
-- KEYS[1] center meta key
-- ARGV[1] now ms, ARGV[2] sid, ARGV[3] target name, ARGV[4] line number
-- Returns JSON {ok}: false when the transfer was already recorded for this call.
local sid, target, line = ARGV[2], ARGV[3], ARGV[4]
local ck = K.call(sid)
local pend = 'transferred:' .. target
if redis.call('HGET', ck, 'pend') == pend then return cjson.encode({ok = false}) end
if not redis.call('HGET', ck, 'st') then
  redis.call('HSET', ck, 'st', 'ivr', 'ln', line, 't1', NOW)
  redis.call('ZADD', K.live(), NOW, sid)
  count(nil, line, 'calls', 1)
end
redis.call('HSET', ck, 'pend', pend)
count(nil, line, 'transferred', 1)
count(nil, line, 'transfer:' .. target, 1)
return cjson.encode({ok = true})
