-- seat_handoff.lua: a seat hands its caller on (transfer to 110/95598/another city, or an
-- exclusion notice). The talk is over for the ACD: answered, seat to wrap-up.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, wait:<queue>:<skill>,
--   ready:<queue>:<skill>, seat:<seat>, qcfg:<queue>, qstat:<queue>, timers, live,
--   cnt:<kind>:<name>:<bucket>, events
-- ARGV[1] now ms, ARGV[2] seat id, ARGV[3] kind ('transfer' | 'exclusion'), ARGV[4] target
-- or topic, ARGV[5] '1' to keep the seat talking (warm transfer: it leaves the conference
-- later; the call is marked 'warm') else '0', ARGV[6] 'check' (change nothing: is there a
-- call to hand on?) or 'commit' (record it, once: the telephony side has done its part)
-- Returns JSON {sid, leg, redirect} or {error} when the seat has no call it is talking on.
local seat, kind, what, keep = str_arg(2, 64), str_arg(3, 16), str_arg(4, 64), str_arg(5, 1)
local phase = str_arg(6, 8)
local sid, sst = unpack(redis.call('HMGET', K.seat(seat), SF.call, SF.st))
if sst ~= S.seat.talking or not sid or sid == '' then
  return cjson.encode({error = 'seat is not talking on a call'})
end
local ck = K.call(sid)
local c = hash(ck)
-- the seat's call must still be talking: a warm transfer keeps it so, a cold one ends it
transition(KIND.call, c.st, keep == '1' and E.call.warm or E.call.end_)
if phase == 'check' or (keep == '1' and c.warm == '1' and c.xfer == kind .. ':' .. what) then
  return cjson.encode({sid = sid, leg = c.leg or '', redirect = {}})  -- nothing (more) to record
end
redis.call('HSET', ck, F.xfer, kind .. ':' .. what)
count_handoff(c.ln, kind, what)
local redirect = {}
if keep == '1' then
  -- warm: the seat's leg goes to the conference; the caller's <Dial> then ends and its
  -- action (dial_done.lua) puts the caller into the same room instead of ending the talk
  redis.call('HSET', ck, F.warm, '1')
else
  local got = finish_talk(sid)
  if got then redirect[1] = got end
end
return cjson.encode({sid = sid, leg = c.leg or '', redirect = redirect})
