-- seat_remove.lua: take a seat out of the roster (admin), unless it has a call. A queue
-- it leaves with nobody logged in sends its callers to the overflow queue (by tick.lua).
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, wait:<queue>:<skill>,
--   ready:<queue>:<skill>, wskills:<queue>, seat:<seat>, seats, logged:<queue>,
--   qcfg:<queue>, qstat:<queue>, timers, cnt:<kind>:<name>:<bucket>, events
-- ARGV[1] now ms, ARGV[2] seat id
-- Returns JSON {ok} or {error='seat has a call in progress'}.
local seat = str_arg(2, 64)
if not remove_seat(seat) then return cjson.encode({error = 'seat has a call in progress'}) end
return cjson.encode({ok = true})
