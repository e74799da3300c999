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
from ivr.store.keys import Keys, lua_name, lua_preamble
from ivr.store.scripts import LUA_DIR
from ivr.web.services import Services

STATE_REF = re.compile(r"\bS\.(call|seat)\.(\w+)")  # a state named through the table
LUA_STATES = {"call": {lua_name(s) for s in states.CALL_STATES},
              "seat": {lua_name(s) for s in states.SEAT_STATES}}
#: where a quoted literal is a state: compared with st, a seat_to() target, a state
#: default after reading 'st', a {st = ...} answer (and the value HSET writes to 'st')
STATE_PATTERNS = (
    re.compile(r"\bst\s*[=~]=\s*'(\w+)'"),
    re.compile(r"\bseat_to\([^,]+,\s*'(\w+)'"),
    re.compile(r"(?:'st'\)|old\[1\])\s*or\s*'(\w+)'"),
    re.compile(r"\{st\s*=\s*'(\w+)'"),
)
RULE_CALL = re.compile(r"\b(?:allows|transition)\(")
EVENT = re.compile(r"(?<![=~]= )'(\w+)'")  # a literal not compared with: an event name
HASH_CALL = re.compile(r"redis\.call\('(HSET|HSETNX|HGET|HMGET|HDEL|HINCRBY)',\s*")
CALL_KEY = re.compile(r"ck\b|K\.call\(")
SEAT_KEY = re.compile(r"sk\b|K\.seat\(")
CALL_ATTR = re.compile(r"\bc\.(\w+)\b(?!\s*=[^=])")  # c is always a call hash; reads only


def _scripts() -> dict[str, str]:
    """Every script's text without its comments."""
    out = {}
    for path in sorted(Path(LUA_DIR).glob("*.lua")):
        text = path.read_text(encoding="utf-8")
        out[path.name] = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    return out


def _args(text: str, start: int) -> list[str]:
    """The comma-separated arguments from ``start`` up to the call's closing parenthesis."""
    args, depth, cur = [], 0, ""
    for ch in text[start:]:
        if ch in "({":
            depth += 1
        elif ch in ")}":
            if depth == 0:
                break
            depth -= 1
        if ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += ch
    args.append(cur.strip())
    return args


def _hash_fields(text: str) -> tuple[set[str], set[str], set[str]]:
    """Literal field names used on call hashes and on seat hashes; states HSET writes."""
    call: set[str] = set()
    seat: set[str] = set()
    written: set[str] = set()
    for m in HASH_CALL.finditer(text):
        key, *rest = _args(text, m.end())
        fields = rest[0::2] if m.group(1) in ("HSET", "HSETNX") else rest
        if m.group(1) == "HINCRBY":
            fields = rest[:1]
        names = {f[1:-1] for f in fields if re.fullmatch(r"'\w+'", f)}
        if m.group(1) == "HSET":
            written |= {v[1:-1] for f, v in zip(rest[0::2], rest[1::2], strict=False)
                        if f == "'st'" and re.fullmatch(r"'\w+'", v)}
        if CALL_KEY.match(key):
            call |= names
        elif SEAT_KEY.match(key):
            seat |= names
    return call, seat, written


def test_every_state_field_and_rule_in_the_scripts_is_in_the_python_tables() -> None:
    seen_states: set[str] = set()
    seen_call: set[str] = set()
    seen_seat: set[str] = set()
    seen_events: set[str] = set()
    problems: list[str] = []
    for name, text in _scripts().items():
        call, seat, written = _hash_fields(text)
        for st in written.union(*(pat.findall(text) for pat in STATE_PATTERNS)):
            if st not in states.RESULT_STATES:
                problems.append(f"{name}: state literal '{st}': name it S.call.{st} / S.seat.{st}"
                                " (ivr/core/states.py)")
        for kind, st in STATE_REF.findall(text):
            seen_states.add(st)
            if st not in LUA_STATES[kind]:
                problems.append(f"{name}: S.{kind}.{st} is not in ivr/core/states.py")
        call |= set(CALL_ATTR.findall(text))
        seen_call |= call
        seen_seat |= seat
        problems += [f"{name}: call field '{f}' is not in CALL_FIELDS"
                     for f in sorted(call - set(states.CALL_FIELDS))]
        problems += [f"{name}: seat field '{f}' is not in SEAT_FIELDS"
                     for f in sorted(seat - set(states.SEAT_FIELDS))]
        for m in RULE_CALL.finditer(text):
            kind, _, event = _args(text, m.end())[:3]
            events = states.CALL_EVENTS if kind == "'call'" else states.SEAT_EVENTS
            for ev in EVENT.findall(event):
                seen_events.add(ev)
                if ev not in events:
                    problems.append(f"{name}: {kind} event '{ev}' is not in the table")
    assert not problems, "\n".join(problems)
    # the scan itself sees what is there (else it could never fail)
    assert {"ivr", "waiting", "offered", "talking", "ended", "retry", "wrapup",
            "reserved", "offline", "ready", "break_"} <= seen_states
    assert {"cb", "cbn", "gone", "pend", "oq", "wd", "dl", "st", "out", "xfer"} <= seen_call
    assert {"st", "call", "missed", "last", "qs", "sets"} <= seen_seat
    assert {"begin", "enqueue", "note", "end", "leave", "warm", "remove"} <= seen_events


def test_the_scan_catches_a_rule_written_only_in_lua() -> None:
    text = "redis.call('HSET', ck, 'st', 'parked', 'zz', 1)\nif c.yy == '1' then end"
    call, _, written = _hash_fields(text)
    assert call == {"st", "zz"}
    assert written == {"parked"}
    assert CALL_ATTR.findall(text) == ["yy"]
    rule = "transition('call', redis.call('HGET', ck, 'st'), keep == '1' and 'fly' or 'end')"
    kind, _, event = _args(rule, RULE_CALL.search(rule).end())  # type: ignore[union-attr]
    assert kind == "'call'" and EVENT.findall(event) == ["fly", "end"]


def test_the_preamble_carries_the_python_tables() -> None:
    pre = lua_preamble()
    for st in (*states.CALL_STATES, *states.SEAT_STATES):
        assert f'["{st}"] = "{st}"' in pre
    for field in states.CALL_FIELDS:
        assert f'["{field}"] = "{field}"' in pre
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
    acd = svc.store()
    assert (await acd.seat("p01", "login")).get("error") is None
    res = await acd.enqueue(sid, "12345", EnqueueAction("pool", "any", 0, None), "138****0000")
    assert res["st"] == "offered" and res["seat"] == "p01"
    assert (await acd.answered(sid, "p01"))["ok"] is True
    return "p01"


async def test_a_handoff_refuses_a_seat_whose_call_already_ended(svc: Services) -> None:
    """A seat left talking on an ended call (a half-written script) cannot end it twice."""
    acd = svc.store()
    seat = await _talking(svc, "CA-rules-1")
    await acd.redis.hset(acd.keys.call("CA-rules-1"), mapping={"st": "ended", "out": "stale"})
    before = await acd.call_info("CA-rules-1")
    with pytest.raises(ResponseError, match="forbidden call transition: ended -end->"):
        await acd.handoff(seat, "transfer", "110", keep=False)
    assert await acd.call_info("CA-rules-1") == before, "nothing written"
    assert "xfer" not in before


async def test_a_seat_with_a_call_is_not_removed_and_an_ended_call_is_not_queued(
        svc: Services) -> None:
    acd = svc.store()
    seat = await _talking(svc, "CA-rules-2")
    assert (await acd.remove_seat(seat)) == {"error": "seat has a call in progress"}
    assert (await acd.seat_info(seat))["st"] == "talking"
    assert (await acd.hangup("CA-rules-2", "completed"))["outcome"] == "answered"
    again = await acd.enqueue("CA-rules-2", "12345", EnqueueAction("pool", "any", 0, None),
                              "138****0000")
    assert again["st"] == "ended" and again.get("repeated") is True
    assert (await acd.call_info("CA-rules-2"))["st"] == "ended"


async def test_seat_actions_follow_the_seat_table(svc: Services) -> None:
    acd = svc.store()
    assert (await acd.seat("p01", "ready"))["error"] == "seat is not logged in"
    assert (await acd.seat("p01", "logout")).get("error") is None  # already offline
    assert (await acd.seat("p01", "dance"))["error"] == "unknown action dance"
    seat = await _talking(svc, "CA-rules-3")
    for action in ("break", "logout"):
        res = await acd.seat(seat, action)
        assert res["error"] == "seat has a call in progress" and res["st"] == "talking"
    assert (await acd.seat(seat, "login")).get("error") is None  # already logged in
    assert (await acd.seat_info(seat))["st"] == "talking"
