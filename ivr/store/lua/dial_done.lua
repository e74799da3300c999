-- dial_done.lua: the <Dial> to a seat ended (its action URL).
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, wait:<queue>:<skill>,
--   ready:<queue>:<skill>, wskills:<queue>, seat:<seat>, logged:<queue>, qcfg:<queue>,
--   qstat:<queue>, timers, live, cnt:<kind>:<name>:<bucket>, events
-- ARGV[1] now ms, ARGV[2] sid, ARGV[3] seat id, ARGV[4] DialCallStatus,
-- ARGV[5] DialCallDuration seconds
-- Returns JSON {next}: 'conference' when a warm transfer is under way (the caller joins
-- the seat and the target), 'hangup' when the call is over (answered), 'dial' with the new
-- seat when another seat took it at once, 'wait' when it is back at the head of the line;
-- redirect lists calls that a seat freed here was reserved for.
local sid, seat, dial = str_arg(2, 128), str_arg(3, 64), str_arg(4, 32)
local dur = int_arg(5, 0, 7 * 86400)
local ck = K.call(sid)
local c = hash(ck)
if c.seat ~= seat or (c.st ~= S.call.offered and c.st ~= S.call.talking) then
  local s = status(sid)
  if s.st == S.call.offered then s.next = NEXT.dial elseif s.st == S.call.waiting then s.next = NEXT.wait
  else s.next = NEXT.hangup end
  return cjson.encode(s)
end
local answered = dial == 'completed' or dial == 'answered'
if c.st == S.call.talking and c.warm == '1' then
  -- a warm transfer moved the seat's leg to a conference: the caller joins it; the talk
  -- ends when the seat leaves the room (this script is called again, then without 'warm')
  redis.call('HDEL', ck, F.warm)
  return cjson.encode({next = NEXT.conference, redirect = {}})
end
if c.st == S.call.talking or answered then
  local fresh = c.st == S.call.talking and c or nil  -- mark_answered changes the record
  if not fresh then mark_answered(sid, NOW - dur * 1000, c) end
  local freed = finish_talk(sid, fresh)
  return cjson.encode({next = NEXT.hangup, redirect = freed and {freed} or {}})
end
-- no-answer, busy, failed, canceled: the seat goes on break, the call back to the line
count(c.q, c.ln, 'noanswer', 1)
seat_to(seat, S.seat.break_, '')
redis.call('HINCRBY', K.seat(seat), SF.missed, 1)
redis.call('ZREM', K.timers(), TM.reservation .. sid)
redis.call('HSET', ck, F.seat, '')
place(sid)
local s = status(sid)
s.next = s.st == S.call.offered and NEXT.dial or NEXT.wait
return cjson.encode(s)
