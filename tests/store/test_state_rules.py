"""The Lua scripts write no rule of their own: states and fields come from ``ivr.core.states``.

A scan of every script finds the state names it compares or writes and the fields it
reads or writes in a call or seat hash, and fails on one the Python tables do not have.
On a real Redis, the generated ``transition`` refuses what the table forbids, and a
script using it refuses before it writes anything.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ivr.core import states
from ivr.core.engine import EnqueueAction
from ivr.store import scripts
from ivr.store.keys import Keys, inline_names, lua_name, lua_preamble
from ivr.store.scripts import LUA_DIR
from ivr.web.services import Services
from tests.store.acd_env import script_replies

STATE_REF = re.compile(r"\bS\.(call|seat|result)\.(\w+)")  # a state named through the table
EVENT_REF = re.compile(r"\bE\.(call|seat)\.(\w+)")  # an event named through the table
#: table name in the preamble -> the names it has (a name not there is a typo)
NAMED = {
    "F": set(states.CALL_FIELDS),
    "SF": set(states.SEAT_FIELDS),
    "O": set(states.OUTCOMES),
    "C": set(states.CONSTANTS),
    "KIND": set(states.RECORD_KINDS),
    "NEXT": set(states.DIAL_NEXT),
    "MF": set(states.META_FIELDS),
    "QF": set(states.QUEUE_FIELDS),
    "QS": set(states.QSTAT_FIELDS),
    "TM": set(states.TIMERS),
}
TABLE_REF = re.compile(r"\b(" + "|".join(NAMED) + r")\.(\w+)")
LUA_STATES = {"call": {lua_name(s) for s in states.CALL_STATES},
              "seat": {lua_name(s) for s in states.SEAT_STATES},
              "result": set(states.RESULT_STATES)}
LUA_EVENTS = {"call": {lua_name(e) for e in states.CALL_EVENTS},
              "seat": {lua_name(e) for e in states.SEAT_EVENTS}}
CALL_ATTR = re.compile(r"\bc\.(\w+)\b(?!\s*=[^=])")  # c is always a call hash; reads only
QUOTED = re.compile(r"'([^'\\]*)'|\"([^\"\\]*)\"")
#: a counter's name (count()'s third argument) is the counters' own vocabulary: 'offered'
#: counts offered calls, it is not the state (no table of counter names exists yet)
COUNTER_NAME = re.compile(r"\bcount\(([^,()]*),([^,()]*),\s*'[\w:]*'")
#: every name that a script must take from the preamble's tables, never spell
RULE_NAMES = {**{f: "call field (F)" for f in states.CALL_FIELDS},
              **{f: "seat field (SF)" for f in states.SEAT_FIELDS},
              **{s: "call state (S.call)" for s in states.CALL_STATES},
              **{s: "seat state (S.seat)" for s in states.SEAT_STATES},
              **{s: "result state (S.result)" for s in states.RESULT_STATES},
              **{f: "meta field (MF)" for f in states.META_FIELDS if f != "version"},
              **{f: "queue setting (QF)" for f in states.QUEUE_FIELDS},
              **{f: "queue figure (QS)" for f in states.QSTAT_FIELDS},
              **{p + ":": "timer prefix (TM)" for p in states.TIMERS.values()}}
# (meta 'version' is written by Python only; 'version' in a script is the audit entry's field)


def _scripts(folder: Path = Path(LUA_DIR)) -> dict[str, str]:
    """Every script's text without its comments."""
    out = {}
    for path in sorted(folder.glob("*.lua")):
        text = path.read_text(encoding="utf-8")
        out[path.name] = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    return out


def spelled_names(text: str) -> list[str]:
    """Quoted literals in a script (comments stripped) that spell a field or state by hand."""
    text = COUNTER_NAME.sub(r"count(\1,\2, COUNTER", text)
    found = []
    for m in QUOTED.finditer(text):
        lit = m.group(1) if m.group(1) is not None else m.group(2)
        if lit in RULE_NAMES:
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"line {line}: '{lit}' is a {RULE_NAMES[lit]}")
    return found


def test_no_script_spells_a_field_or_state_by_hand() -> None:
    problems = [f"{name} {p}" for name, text in _scripts().items() for p in spelled_names(text)]
    assert not problems, "name them from the preamble's tables:\n" + "\n".join(problems)


def test_the_literal_scan_catches_a_field_or_state_spelled_by_hand() -> None:
    assert spelled_names("redis.call('HSET', ck, 'ln', S.call.ended)") == [
        "line 1: 'ln' is a call field (F)"]
    assert spelled_names('if x == "break" then end') == ["line 1: 'break' is a seat state (S.seat)"]
    assert spelled_names("redis.call('HGET', sk, 'missed')") == [
        "line 1: 'missed' is a seat field (SF)"]
    assert spelled_names("count(c.q, c.ln, 'offered', 1)") == []  # a counter's name
    assert spelled_names("redis.call('ZREM', K.timers(), 'w:' .. seat)") == [
        "line 1: 'w:' is a timer prefix (TM)"]
    assert spelled_names("redis.call('HGET', K.qcfg(q), 'ring')") == [
        "line 1: 'ring' is a queue setting (QF)"]
    assert spelled_names("redis.call('HSET', ck, F.st, S.call.ended, 'zz', 1)") == []


def test_every_name_the_scripts_take_from_the_tables_is_there() -> None:
    seen: dict[str, set[str]] = {t: set() for t in (*NAMED, "S", "E")}
    problems: list[str] = []
    for name, text in _scripts().items():
        for kind, st in STATE_REF.findall(text):
            seen["S"].add(st)
            if st not in LUA_STATES[kind]:
                problems.append(f"{name}: S.{kind}.{st} is not in ivr/core/states.py")
        for kind, ev in EVENT_REF.findall(text):
            seen["E"].add(ev)
            if ev not in LUA_EVENTS[kind]:
                problems.append(f"{name}: E.{kind}.{ev} is not in the {kind} transitions")
        for table, key in TABLE_REF.findall(text):
            seen[table].add(key)
            if key not in NAMED[table]:
                problems.append(f"{name}: {table}.{key} is not in ivr/core/states.py")
        problems += [f"{name}: call field c.{f} is not in CALL_FIELDS"
                     for f in sorted(set(CALL_ATTR.findall(text)) - set(states.CALL_FIELDS))]
    assert not problems, "\n".join(problems)
    # the scan itself sees what is there (else it could never fail)
    assert {"ivr", "waiting", "offered", "talking", "ended", "retry", "wrapup",
            "reserved", "offline", "ready", "break_"} <= seen["S"]
    assert {"cb", "cbn", "gone", "pend", "oq", "wd", "dl", "st", "out", "xfer"} <= seen["F"]
    assert {"st", "call", "missed", "last", "qs", "sets"} <= seen["SF"]
    assert {"begin", "enqueue", "note", "end_", "leave", "warm", "remove", "login"} <= seen["E"]
    assert {"answered", "abandoned", "lost", "stale", "rate_limited"} <= seen["O"]
    assert set(states.TIMERS) <= seen["TM"]
    assert {"retention", "ev_cap", "roster"} <= seen["MF"]
    assert {"ring", "ovq"} <= seen["QF"]


def test_the_preamble_carries_the_python_tables() -> None:
    pre = lua_preamble()
    for st in (*states.CALL_STATES, *states.SEAT_STATES):
        assert f'["{st}"] = "{st}"' in pre
    for field in (*states.CALL_FIELDS, *states.SEAT_FIELDS, *states.OUTCOMES):
        assert f'["{field}"] = "{field}"' in pre
    assert '["end_"] = "end"' in pre  # an event that is a Lua keyword
    assert f'["SCORE_SPAN"] = {states.SCORE_SPAN}' in pre
    assert "local function transition(kind, from, event)" in pre


async def test_transition_refuses_what_the_table_forbids(redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        run = redis.register_script(
            lua_preamble() + "return transition(ARGV[1], ARGV[2] ~= '' and ARGV[2] or nil, ARGV[3])")
        meta = Keys("rules").meta()
        assert await run(keys=[meta], args=["call", "ivr", "enqueue"]) == "waiting"
        assert await run(keys=[meta], args=["call", "", "begin"]) == "ivr"  # no record yet
        assert await run(keys=[meta], args=["seat", "", "login"]) == "ready"
        for kind, frm, event in [("call", "ended", "enqueue"), ("call", "ended", "end"),
                                 ("call", "talking", "begin"), ("seat", "talking", "remove"),
                                 ("seat", "reserved", "break")]:
            with pytest.raises(ResponseError, match=f"forbidden {kind} transition: {frm} -{event}->"):
                await run(keys=[meta], args=[kind, frm, event])
        named = redis.register_script(lua_preamble() + "return {S.seat.break_, S.call.ended}")
        assert await named(keys=[meta]) == ["break", "ended"]
        typo = redis.register_script(lua_preamble() + "return S.call.parked")
        with pytest.raises(ResponseError, match="no call state parked"):
            await typo(keys=[meta])
    finally:
        await redis.aclose()


async def _talking(svc: Services, sid: str) -> str:
    """A call answered by the one logged-in seat; returns the seat."""
    acd = script_replies(svc.store())
    assert (await acd.seat("p01", "login")).get("error") is None
    res = await acd.enqueue(sid, "12345", EnqueueAction("pool", "any", 0, None), "138****0000")
    assert res["st"] == "offered"
    assert res["seat"] == "p01"
    assert (await acd.answered(sid, "p01"))["ok"] is True
    return "p01"


async def test_a_handoff_refuses_a_seat_whose_call_already_ended(svc: Services) -> None:
    """A seat left talking on an ended call (a half-written script) cannot end it twice."""
    acd = script_replies(svc.store())
    seat = await _talking(svc, "CA-rules-1")
    await acd.redis.hset(acd.keys.call("CA-rules-1"), mapping={"st": "ended", "out": "stale"})
    before = await acd.call_info("CA-rules-1")
    with pytest.raises(ResponseError, match="forbidden call transition: ended -end->"):
        await acd.handoff(seat, "transfer", "110", keep=False)
    assert await acd.call_info("CA-rules-1") == before, "nothing written"
    assert "xfer" not in before


async def test_a_seat_with_a_call_is_not_removed_and_an_ended_call_is_not_queued(
        svc: Services) -> None:
    acd = script_replies(svc.store())
    seat = await _talking(svc, "CA-rules-2")
    assert (await acd.remove_seat(seat)) == {"error": "seat has a call in progress"}
    assert (await acd.seat_info(seat))["st"] == "talking"
    assert (await acd.hangup("CA-rules-2", "completed"))["outcome"] == "answered"
    again = await acd.enqueue("CA-rules-2", "12345", EnqueueAction("pool", "any", 0, None),
                              "138****0000")
    assert again["st"] == "ended"
    assert again.get("repeated") is True
    assert (await acd.call_info("CA-rules-2"))["st"] == "ended"


async def test_seat_actions_follow_the_seat_table(svc: Services) -> None:
    acd = script_replies(svc.store())
    assert (await acd.seat("p01", "ready"))["error"] == "seat is not logged in"
    assert (await acd.seat("p01", "logout")).get("error") is None  # already offline
    assert (await acd.seat("p01", "dance"))["error"] == "unknown action dance"
    seat = await _talking(svc, "CA-rules-3")
    for action in ("break", "logout"):
        res = await acd.seat(seat, action)
        assert res["error"] == "seat has a call in progress"
        assert res["st"] == "talking"
    assert (await acd.seat(seat, "login")).get("error") is None  # already logged in
    assert (await acd.seat_info(seat))["st"] == "talking"


def test_every_script_is_registered_by_exactly_one_owner() -> None:
    """Acd registers NAMES, the config store CONFIG_NAMES; the shared files are prefixes."""
    files = {p.stem for p in Path(LUA_DIR).glob("*.lua")}
    owned = [*scripts.NAMES, *scripts.CONFIG_NAMES, *scripts.SHARED]
    assert sorted(owned) == sorted(files), "a script with no owner, or with two"


def test_registered_scripts_carry_values_not_name_tables() -> None:
    """Names are written in place when a script is built; a name no table has fails then."""
    assert inline_names("if c.st == S.call.waiting and x == C.ANY then") == (
        'if c.st == "waiting" and x == "any" then')
    assert inline_names("redis.call('HSET', sk, SF.st, S.seat.break_)") == (
        'redis.call(\'HSET\', sk, "st", "break")')
    assert inline_names("local h = C.HIST") == "local h = " + "{" + ", ".join(
        str(b) for b in states.WAIT_BINS) + "}"
    with pytest.raises(KeyError, match="no call field zz"):
        inline_names("redis.call('HGET', ck, F.zz)")
    wait = scripts.source("wait")
    assert "local F =" not in wait
    assert "F.st" not in wait
    assert "strict(" not in wait
    assert "local function status(" in wait
    assert "local function place(" not in wait
    assert "function K.cfgrev(" not in wait
    assert "function K.call(" in wait


def test_a_script_keeps_every_shared_function_it_reaches() -> None:
    body = "local x = seat_ready(seat)"  # seat_ready -> reserve -> seat_to -> emit ...
    shared = scripts.shared_for(body)
    for name in ("seat_ready", "reserve", "seat_to", "emit", "seat_unready", "seat_sets"):
        assert f"local function {name}(" in shared
    assert "local function end_call(" not in shared
    assert "local NOW = int_arg(1" in shared  # top-level lines stay, and what they call
