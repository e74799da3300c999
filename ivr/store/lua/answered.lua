-- answered.lua: the seat picked up (the <Dial> noun's answered status callback).
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, seat:<seat>,
--   qcfg:<queue>, timers, cnt:<kind>:<name>:<bucket>, events
-- ARGV[1] now ms, ARGV[2] sid, ARGV[3] seat id, ARGV[4] the seat leg's call sid ('' unknown)
-- Returns JSON {ok}: true when this answer was recorded now, false if it did not apply
-- (already recorded, another seat's reservation, or the call is over).
local sid, seat = str_arg(2, 128), str_arg(3, 64)
str_arg(4, 128)
local c = hash(K.call(sid))
if c.st ~= S.call.offered or c.seat ~= seat then return cjson.encode({ok = false, st = c.st}) end
mark_answered(sid, NOW, c)
if ARGV[4] ~= '' then redis.call('HSET', K.call(sid), F.leg, ARGV[4]) end
return cjson.encode({ok = true, st = S.call.talking})
