-- seat_sync.lua: write a seat's roster data (from config) without touching its live
-- state; a ready or logged-in seat moves to its new sets and queues at once.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, wait:<queue>:<skill>,
--   ready:<queue>:<skill>, seat:<seat>, seats, logged:<queue>, qcfg:<queue>, timers, events
-- ARGV[1] now ms, ARGV[2] seat id, ARGV[3] ready sets "queue|skill,..." ,
-- ARGV[4] queues "q1,q2", ARGV[5] endpoint, ARGV[6] name
-- Returns JSON {st, redirect}: the seat's state, and a call it was reserved for.
-- all present, checked before any write (lengths: the roster model bounds the ids; name and
-- endpoint are free text within the request body limit)
local seat, sets, qs = str_arg(2, 64), str_arg(3, 262144), str_arg(4, 262144)
local ep, name = str_arg(5, 262144), str_arg(6, 262144)
local sk = K.seat(seat)
local st = redis.call('HGET', sk, SF.st) or S.seat.offline
local redirect = {}
if st == S.seat.ready then seat_unready(seat) end
if st ~= S.seat.offline then
  for q in string.gmatch(redis.call('HGET', sk, SF.qs) or '', '[^,]+') do
    redis.call('SREM', K.logged(q), seat)
  end
end
redis.call('HSET', sk, SF.sets, sets, SF.qs, qs, SF.ep, ep, SF.name, name, SF.st, st)
redis.call('SADD', K.seats(), seat)
if st ~= S.seat.offline then
  for q in string.gmatch(qs, '[^,]+') do redis.call('SADD', K.logged(q), seat) end
end
if st == S.seat.ready then
  local got = seat_ready(seat)
  if got then redirect[1] = got end
end
return cjson.encode({st = st, redirect = redirect})
