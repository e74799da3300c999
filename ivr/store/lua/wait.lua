-- wait.lua: the hold loop asks where a call stands.
-- KEYS[1] center meta key. Other keys, built from its {center} prefix (one cluster slot;
--   ids from ARGV or records, so not declared in KEYS): call:<sid>, wait:<queue>:<skill>,
--   seat:<seat>, logged:<queue>, qcfg:<queue>, qstat:<queue>, timers
-- ARGV[1] now ms, ARGV[2] sid
-- Returns JSON status (see common.lua status()): offered -> dial the seat, waiting ->
-- position and figures for the announcement, anything else -> the call is over here.
-- A caller in the hold loop is alive: its watchdog is reset.
local sid = str_arg(2, 128)
local s = status(sid)
if s.st == S.call.waiting or s.st == S.call.offered then watch_caller(sid) end
return cjson.encode(s)
