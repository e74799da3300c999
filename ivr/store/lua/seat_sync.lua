-- seat_sync.lua: write the whole seat roster (from config) in one call, without touching
-- live state: seats no longer in the roster are removed (unless they have a call), every
-- other seat's roster data is written, and a ready or logged-in seat moves to its new sets
-- and queues at once. A roster equal to the one last written (meta 'roster', its SHA1)
-- changes nothing, so the workers that all sync after a config change do the work once.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, wait:<queue>:<skill>,
--   ready:<queue>:<skill>, wskills:<queue>, seat:<seat>, seats, logged:<queue>,
--   qcfg:<queue>, qstat:<queue>, timers, cnt:<kind>:<name>:<bucket>, events
-- ARGV[1] now ms, ARGV[2] n, the number of seats, then five arguments a seat:
-- ARGV[3 + 5i] seat id, ARGV[4 + 5i] ready sets "queue|skill,...", ARGV[5 + 5i] queues
-- "q1,q2", ARGV[6 + 5i] endpoint, ARGV[7 + 5i] name (i = 0 .. n - 1)
-- Returns JSON {redirect, kept}: calls a ready seat was reserved for, and seats that left
-- the roster but were kept because they have a call.
-- all present, checked before any write (lengths: the roster model bounds the ids; name and
-- endpoint are free text within the request body limit)
local n = int_arg(2, 0, 100000)
if #ARGV ~= 2 + 5 * n then error('bad ARGV: ' .. #ARGV .. ' arguments for ' .. n .. ' seats') end
local roster = {}
for i = 0, n - 1 do
  local at = 3 + 5 * i
  roster[#roster + 1] = {str_arg(at, 64), str_arg(at + 1, 262144), str_arg(at + 2, 262144),
                         str_arg(at + 3, 262144), str_arg(at + 4, 262144)}
end
local digest = redis.sha1hex(table.concat(ARGV, '\n', 2))
local redirect, kept = {}, {}
if redis.call('HGET', K.meta(), MF.roster) == digest then
  return cjson.encode({redirect = redirect, kept = kept})
end

local listed = {}
for _, r in ipairs(roster) do listed[r[1]] = true end
for _, seat in ipairs(redis.call('SMEMBERS', K.seats())) do
  if not listed[seat] and not remove_seat(seat) then kept[#kept + 1] = seat end
end

-- one seat's roster data; a ready seat is matched again with its new sets
local function sync(seat, sets, qs, ep, name)
  local sk = K.seat(seat)
  local st = redis.call('HGET', sk, SF.st) or S.seat.offline
  if st == S.seat.ready then seat_unready(seat) end
  local left = {}  -- the queues it was logged in to
  if st ~= S.seat.offline then
    for q in string.gmatch(redis.call('HGET', sk, SF.qs) or '', '[^,]+') do
      redis.call('SREM', K.logged(q), seat)
      left[#left + 1] = q
    end
  end
  redis.call('HSET', sk, SF.sets, sets, SF.qs, qs, SF.ep, ep, SF.name, name, SF.st, st)
  redis.call('SADD', K.seats(), seat)
  if st ~= S.seat.offline then
    for q in string.gmatch(qs, '[^,]+') do redis.call('SADD', K.logged(q), seat) end
    for _, q in ipairs(left) do drain_start(q, redirect) end  -- nobody left in it?
  end
  if st == S.seat.ready then
    local got = seat_ready(seat)
    if got then redirect[#redirect + 1] = got end
  end
end
for _, r in ipairs(roster) do sync(unpack(r)) end
redis.call('HSET', K.meta(), MF.roster, digest)
return cjson.encode({redirect = redirect, kept = kept})
