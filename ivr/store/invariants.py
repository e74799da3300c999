"""Check the ACD's invariants over the live Redis state (tests, simulator, operators).

1. A seat never holds two calls: each offered/talking call names a seat whose
   ``call`` field names it back, and no two calls name the same seat.
2. A call is in exactly one state: waiting calls are in exactly one wait set, and
   no call in another state is in any wait set.
3. Work-conserving: no seat is ready while a call it may take is waiting.
4. Ready seats are in their ready sets, and only ready seats are.
This reads everything, so it is O(calls + seats): for checks, not for the hot path.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

from redis.asyncio import Redis

from ivr.store.keys import Keys


def glob_escape(text: str) -> str:
    """``text`` as a literal in a Redis MATCH pattern."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


async def violations(redis: Redis, keys: Keys) -> list[str]:
    """Every invariant broken right now, as readable sentences (empty when all hold)."""
    out: list[str] = []
    seats = sorted(cast(set[str], await redis.smembers(keys.seats())))
    seat_info: dict[str, dict[str, Any]] = {}
    for s in seats:
        seat_info[s] = cast(dict[str, Any], await redis.hgetall(keys.seat(s)))
    calls: dict[str, dict[str, Any]] = {}
    call_prefix = keys.call("")  # a CallSid may itself contain ':' (jambonz, SIP ids)
    async for k in redis.scan_iter(match=glob_escape(call_prefix) + "*", count=1000):
        calls[k[len(call_prefix):]] = cast(dict[str, Any], await redis.hgetall(k))
    wait_sets: dict[str, list[str]] = defaultdict(list)
    queues = {q for info in seat_info.values() for q in info.get("qs", "").split(",") if q}
    queues |= {c.get("q", "") for c in calls.values() if c.get("q")}
    for q in queues:
        for skill in cast(set[str], await redis.smembers(keys.wskills(q))):
            for sid in cast(list[str], await redis.zrange(keys.wait(q, skill), 0, -1)):
                wait_sets[sid].append(f"{q}|{skill}")
    holders: dict[str, str] = {}
    for sid, c in calls.items():
        st = c.get("st")
        if st == "waiting":
            want = f"{c.get('q')}|{c.get('sk')}"
            if wait_sets.get(sid) != [want]:
                out.append(f"call {sid} is waiting but in wait sets {wait_sets.get(sid)}, not [{want}]")
        elif sid in wait_sets:
            out.append(f"call {sid} is {st} but still in wait sets {wait_sets[sid]}")
        if st in ("offered", "talking"):
            seat = c.get("seat", "")
            if seat in holders:
                out.append(f"seat {seat} holds two calls: {holders[seat]} and {sid}")
            holders[seat] = sid
            if seat_info.get(seat, {}).get("call") != sid:
                out.append(f"call {sid} is {st} at seat {seat}, which holds "
                           f"{seat_info.get(seat, {}).get('call')!r}")
    for s, info in seat_info.items():
        st = info.get("st", "offline")
        sets = [tuple(x.split("|", 1)) for x in info.get("sets", "").split(",") if x]
        for q, skill in sets:
            in_ready = await redis.zscore(keys.ready(q, skill), s) is not None
            if in_ready != (st == "ready"):
                out.append(f"seat {s} is {st} but {'in' if in_ready else 'not in'} ready set {q}|{skill}")
            if st == "ready" and await redis.zcard(keys.wait(q, skill)):
                out.append(f"seat {s} is ready while calls wait in {q}|{skill}")
        if st in ("reserved", "talking") and holders.get(info.get("call", "")) is None:
            if info.get("call") not in holders.values():
                out.append(f"seat {s} is {st} with call {info.get('call')!r} that is not offered/talking")
    return out
