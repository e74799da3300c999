-- reconcile.lua: claim live calls to check against the telephony platform's own status,
-- for calls whose end we may never have heard of (a status callback lost in an outage).
-- Waiting callers are not claimed: the hold-loop watchdog notices those.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, live
-- ARGV[1] now ms, ARGV[2] only calls that started at least this many ms ago, ARGV[3] and
-- were not checked in the last this many ms, ARGV[4] at most this many calls
-- Returns JSON {sids}: the calls claimed; their 'rc' field is set to now, so that other
-- workers skip them until they are due again.
local after, every, limit = int_arg(2, 0, 1e12), int_arg(3, 0, 1e12), int_arg(4, 1, 1000)
local out = {}
for _, sid in ipairs(redis.call('ZRANGEBYSCORE', K.live(), '-inf', NOW - after, 'LIMIT', 0, 10000)) do
  if #out >= limit then break end
  local ck = K.call(sid)
  local st, rc = unpack(redis.call('HMGET', ck, F.st, F.rc))
  if (st == S.call.ivr or st == S.call.offered or st == S.call.talking) and NOW - num(rc, 0) >= every then
    redis.call('HSET', ck, F.rc, NOW)
    out[#out + 1] = sid
  end
end
return cjson.encode({sids = out})
