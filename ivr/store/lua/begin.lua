-- begin.lua: a call starts in the IVR (first webhook of a call with a menu).
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, live,
--   cnt:<kind>:<name>:<bucket>, rl:<caller>:<window>, events
-- ARGV[1] now ms, ARGV[2] call sid, ARGV[3] line number, ARGV[4] masked caller number,
-- ARGV[5] caller digest ('' = no limit), ARGV[6] calls allowed per window, ARGV[7] window ms,
-- ARGV[8] the telephony dialect the call came in on (twilio, jambonz; kept as 'dl' so that
-- redirects and transfers of the call go through its own platform)
-- Returns JSON {st}: the call's state ('limited' when over the repeated-call limit); a
-- repeated webhook changes nothing.
local sid, line, from = str_arg(2, 128), str_arg(3, 64), str_arg(4, 64)
local limit, window = int_arg(6, 0, 1e6), int_arg(7, 0, 1e10)
local dialect = str_arg(8, 16)
local ck = K.call(sid)
local st = redis.call('HGET', ck, F.st)
if not allows(KIND.call, st, E.call.begin) then return cjson.encode({st = st, repeated = true}) end
if rate_limited(sid, line, ARGV[5], limit, window) then
  return cjson.encode({st = S.result.limited})
end
create_call(sid, line, from, F.st, S.call.ivr, F.dl, dialect)
return cjson.encode({st = S.call.ivr})
