-- wait.lua: the hold loop asks where a call stands.
-- KEYS[1] center meta key
-- ARGV[1] now ms, ARGV[2] sid
-- Returns JSON status (see common.lua status()): offered -> dial the seat, waiting ->
-- position and figures for the announcement, anything else -> the call is over here.
return cjson.encode(status(ARGV[2]))
