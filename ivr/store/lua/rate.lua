-- rate.lua: the caller's after-call survey answer, and the seat's disposition.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>,
--   cnt:<kind>:<name>:<bucket>, events
-- ARGV[1] now ms, ARGV[2] sid, ARGV[3] what: 'rating' | 'disposition'
--   rating       ARGV[4] 1 satisfied, 2 basically satisfied, 3 dissatisfied
--   disposition  ARGV[4] category, ARGV[5] '1' resolved / '0' handed to a department,
--                ARGV[6] department
-- Returns JSON {ok}: false (nothing changed) unless the call was answered and ended and
-- this is its first rating / disposition.
-- the action 'rating' is named after the field it writes (F.rating)
local sid, what = str_arg(2, 128), one_of_arg(3, F.rating, 'disposition')
if what == F.rating then one_of_arg(4, '1', '2', '3') end
local ck = K.call(sid)
local c = hash(ck)
if c.st ~= S.call.ended or c.out ~= O.answered then return cjson.encode({ok = false, st = c.st}) end
if what == F.rating then
  if c.rating then return cjson.encode({ok = false, already = true}) end
  redis.call('HSET', ck, F.rating, ARGV[4])
  count(c.q, c.ln, 'rated', 1)
  count(c.q, c.ln, 'rated_' .. ARGV[4], 1)
  emit_call(sid)
  return cjson.encode({ok = true})
end
if what == 'disposition' then
  if c.cat then return cjson.encode({ok = false, already = true}) end
  redis.call('HSET', ck, F.cat, ARGV[4], F.res, ARGV[5], F.dept, ARGV[6])
  count(c.q, c.ln, 'disposed', 1)
  count(c.q, c.ln, ARGV[5] == '1' and 'resolved' or 'handed', 1)
  count(c.q, c.ln, 'cat:' .. ARGV[4], 1)
  emit_call(sid)
  return cjson.encode({ok = true})
end
return cjson.encode({ok = false, error = 'unknown ' .. what})
