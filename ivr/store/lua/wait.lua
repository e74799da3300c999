-- wait.lua: the hold loop asks where a call stands.
-- KEYS[1] center meta key
-- ARGV[1] now ms, ARGV[2] sid
-- Returns JSON status (see common.lua status()): offered -> dial the seat, waiting ->
-- position and figures for the announcement, anything else -> the call is over here.
-- A caller in the hold loop is alive: its watchdog is reset.
local sid = str_arg(2, 128)
local s = status(sid)
if s.st == S.call.waiting or s.st == S.call.offered then watch_caller(sid) end
return cjson.encode(s)
