-- cfg_write.lua: change one config resource atomically, with optimistic concurrency,
-- and record it: bump the config version, append to the audit stream, publish.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): cfg:<kind>, cfgrev:<kind>,
--   flowrevs:<flow>, audit, cfg-changed (channel)
-- ARGV[1] now ms, ARGV[2] config version the change was validated against ('' = any),
-- ARGV[3] kind (lines|queues|seats|targets|plan|flows), ARGV[4] resource id,
-- ARGV[5] expected revision ('' = must not exist yet, '*' = any),
-- ARGV[6] new JSON ('' = delete), ARGV[7] flow revision number to add ('' = none),
-- ARGV[8] that flow revision's JSON, ARGV[9] who, ARGV[10] action, ARGV[11] audit JSON
-- Returns JSON {ok, rev, version} or {error: stale_config|exists|missing|conflict, current}.
local base, kind, id, expected = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local doc, frev, fdoc, who, action, audit = ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local ver = redis.call('HGET', K.meta(), MF.cfgver) or '0'
if base ~= '' and ver ~= base then return cjson.encode({error = 'stale_config', current = ver}) end
local cur = redis.call('HGET', K.cfgrev(kind), id)
if expected == '' and cur then return cjson.encode({error = 'exists', current = cur}) end
if expected ~= '' and not cur then return cjson.encode({error = 'missing'}) end
if expected ~= '' and expected ~= '*' and cur ~= expected then
  return cjson.encode({error = 'conflict', current = cur})
end
local rev = 0
if doc == '' then
  redis.call('HDEL', K.cfg(kind), id)
  redis.call('HDEL', K.cfgrev(kind), id)
  if kind == 'flows' then redis.call('DEL', K.flowrevs(id)) end
else
  rev = num(cur, 0) + 1
  redis.call('HSET', K.cfg(kind), id, doc)
  redis.call('HSET', K.cfgrev(kind), id, rev)
end
if frev ~= '' then redis.call('HSET', K.flowrevs(id), frev, fdoc) end
local version = redis.call('HINCRBY', K.meta(), MF.cfgver, 1)
redis.call('XADD', K.audit(), 'MAXLEN', '~', 100000, '*', 'at', NOW, 'who', who, 'action', action,
           'kind', kind, 'id', id, 'rev', rev, 'version', version, 'change', audit)
redis.call('PUBLISH', K.cfgchan(), version)
return cjson.encode({ok = true, rev = rev, version = version})
