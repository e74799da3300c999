-- hangup.lua: Twilio's status callback says the call is over (completed, busy, failed,
-- no-answer, canceled). Records the one outcome of the call; idempotent.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, wait:<queue>:<skill>,
--   ready:<queue>:<skill>, seat:<seat>, qcfg:<queue>, qstat:<queue>, timers, live,
--   cnt:<kind>:<name>:<bucket>, events
-- ARGV[1] now ms, ARGV[2] sid, ARGV[3] CallStatus, ARGV[4] IVR outcome to record when the
-- call ended in the IVR ('' = 'ivr_end'; e.g. 'transferred:police')
-- Returns JSON {outcome, redirect}: redirect lists calls that a seat freed here was
-- reserved for (to be pulled out of their hold loop).
local sid, ivr_out = str_arg(2, 128), str_arg(4, 128)
local ck = K.call(sid)
local c = hash(ck)
local redirect = {}
if not c.st then
  -- the end arrived before the call's first webhook (Twilio does not order them): keep
  -- a record that the call is over, so that a late /voice/incoming cannot queue it
  redis.call('HSET', ck, F.st, S.call.ended, F.out, O.ended_early, F.t1, NOW, F.tend, NOW)
  keep_record(ck)
  emit_call(sid)
  return cjson.encode({outcome = O.ended_early, redirect = redirect})
end
if c.st == S.call.ended then return cjson.encode({outcome = c.out, redirect = redirect, repeated = true}) end
-- a caller with a queued callback who hangs up keeps the place ('leave'); else the call ends
local keeps = c.cb == '1' and allows(KIND.call, c.st, E.call.leave)
transition(KIND.call, c.st, keeps and E.call.leave or E.call.end_)
local outcome
if c.st == S.call.ivr then
  outcome = (ivr_out ~= '' and ivr_out) or c.pend or O.ivr_end
  count(nil, c.ln, 'ended_in_ivr', 1)
elseif keeps then
  -- the caller asked to be called back: hanging up keeps the place in line
  redis.call('HSET', ck, F.gone, '1')
  return cjson.encode({outcome = 'callback_pending', redirect = redirect})
elseif c.st == S.call.waiting or c.st == S.call.offered then
  local wait = math.max(0, NOW - num(c.t0, NOW))
  local got = abandon(sid, c, wait)
  if got then redirect[#redirect + 1] = got end
  if wait < num(redis.call('HGET', K.meta(), MF.short_ms), 5000) then
    count(c.q, c.ln, 'abandoned_short', 1)
  end
  outcome = O.abandoned
elseif c.st == S.call.talking then
  local got = finish_talk(sid)
  if got then redirect[#redirect + 1] = got end
  return cjson.encode({outcome = O.answered, redirect = redirect})
end
end_call(sid, outcome)
return cjson.encode({outcome = outcome, redirect = redirect})
