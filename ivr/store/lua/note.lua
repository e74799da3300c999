-- note.lua: the IVR ends a call's stay here with a known reason before it hangs up or is
-- handed on: a transfer (110, 95598, a neighbouring city), an exclusion notice, or a
-- closed queue. Recorded as the outcome when the call ends in the IVR, counted per line.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, live,
--   cnt:<kind>:<name>:<bucket>
-- ARGV[1] now ms, ARGV[2] sid, ARGV[3] kind: transfer | exclusion | closed,
-- ARGV[4] target / topic / queue, ARGV[5] line number, ARGV[6] masked caller
-- Returns JSON {ok}: false when the same note was already recorded for this call, or the
-- call is no longer in the IVR (then st says where it is: an ended call stays ended).
local sid, kind, what = str_arg(2, 128), one_of_arg(3, 'transfer', 'exclusion', 'closed'), str_arg(4, 64)
local line, from = str_arg(5, 64), str_arg(6, 64)
local ck = K.call(sid)
local pend = (kind == 'transfer' and O.transferred or kind) .. ':' .. what
if redis.call('HGET', ck, F.pend) == pend then return cjson.encode({ok = false}) end
local st = redis.call('HGET', ck, F.st)
if not allows(KIND.call, st, E.call.note) then return cjson.encode({ok = false, st = st}) end  -- over, or queued
if not st then
  create_call(sid, line, from, F.st, S.call.ivr)
end
redis.call('HSET', ck, F.pend, pend)
if kind == 'closed' then count(what, line, 'closed', 1) else count_handoff(line, kind, what) end
return cjson.encode({ok = true})
