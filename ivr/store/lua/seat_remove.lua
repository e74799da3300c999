-- seat_remove.lua: take a seat out of the roster (admin), unless it has a call.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): ready:<queue>:<skill>, seat:<seat>,
--   seats, logged:<queue>, timers
-- ARGV[1] now ms, ARGV[2] seat id
-- Returns JSON {ok} or {error='seat has a call in progress'}.
local seat = str_arg(2, 64)
local sk = K.seat(seat)
local st = redis.call('HGET', sk, SF.st) or S.seat.offline
if not allows(KIND.seat, st, E.seat.remove) then
  return cjson.encode({error = 'seat has a call in progress'})
end
seat_unready(seat)
for q in string.gmatch(redis.call('HGET', sk, SF.qs) or '', '[^,]+') do
  redis.call('SREM', K.logged(q), seat)
end
redis.call('ZREM', K.timers(), 'w:' .. seat)
redis.call('SREM', K.seats(), seat)
redis.call('DEL', sk)
return cjson.encode({ok = true})
