-- callback.lua: queued callbacks. A waiting caller asks to be called back and keeps the
-- place in line; when a seat is reserved for the place the service calls the caller;
-- an attempt that is not answered is retried later, a bounded number of times.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, wait:<queue>:<skill>,
--   ready:<queue>:<skill>, seat:<seat>, qcfg:<queue>, timers, live,
--   cnt:<kind>:<name>:<bucket>, events
-- ARGV[1] now ms, ARGV[2] sid, ARGV[3] action:
--   request  ARGV[4] number to call back            -> {ok} (the call must be waiting)
--   failed   ARGV[4] max attempts, ARGV[5] retry ms  -> {outcome: retry|callback_failed,
--            redirect}: the seat is freed; the place comes back after the retry delay
-- Returns JSON as above, {ok=false, st} when the action does not apply to the call's state.
local sid, action = str_arg(2, 128), str_arg(3, 16)
local ck = K.call(sid)
local c = hash(ck)
if action == 'request' then
  if c.st ~= S.call.waiting or c.cb == '1' then return cjson.encode({ok = false, st = c.st}) end
  redis.call('HSET', ck, F.cb, '1', F.cbn, ARGV[4], F.cba, 0)
  count(c.q, c.ln, 'callback_requested', 1)
  return cjson.encode({ok = true})
end
if action == 'failed' then
  local max_attempts, retry_ms = int_arg(4, 1, 100), int_arg(5, 0, 1e9)  -- before any write
  if c.st ~= S.call.offered or c.cb ~= '1' then return cjson.encode({ok = false, st = c.st}) end
  local redirect = {}
  local attempts = num(c.cba, 0) + 1
  redis.call('HSET', ck, F.cba, attempts, F.seat, '')
  redis.call('ZREM', K.timers(), TM.reservation .. sid)
  local got = free_seat(sid, c.seat)
  if got then redirect[#redirect + 1] = got end
  if attempts >= max_attempts then
    count(c.q, c.ln, 'callback_failed', 1)
    end_call(sid, O.callback_failed)
    return cjson.encode({outcome = O.callback_failed, redirect = redirect})
  end
  redis.call('HSET', ck, F.st, S.call.retry)
  redis.call('ZADD', K.timers(), NOW + retry_ms, TM.callback .. sid)
  return cjson.encode({outcome = S.call.retry, redirect = redirect})
end
return cjson.encode({ok = false, error = 'unknown action ' .. action})
