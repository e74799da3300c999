"""A center's ACD on real Redis with a manual clock, for the store script tests.

Each test gets its own center (its own hash tag) and a small roster: the 12345 ``pool``
(seats ``a1`` with skill ``traffic`` and ``a2``) and a sub-center ``sub`` (seat ``s1``)
that overflows to the pool after 60 s or when none of its seats is logged in. Its keys are
deleted afterwards.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from redis.asyncio import Redis

from ivr.clock import ManualClock
from ivr.core.config import CenterConfig
from ivr.core.engine import EnqueueAction
from ivr.core.roster import Roster
from ivr.store.acd import Acd, Result
from ivr.store.keys import Keys

ROSTER = Roster.model_validate({
    "queues": [
        {"id": "pool", "name": "12345", "wrapup_seconds": 10, "ring_timeout_seconds": 20,
         "default_aht_seconds": 200, "sl_seconds": 15},
        {"id": "sub", "name": "sub-center", "kind": "subcenter", "wrapup_seconds": 0,
         "overflow": {"to": "pool", "after_seconds": 60, "when_no_seats": True}},
    ],
    "seats": [
        {"id": "a1", "name": "A1", "endpoint": "client:a1", "queues": ["pool"], "skills": ["traffic"]},
        {"id": "a2", "name": "A2", "endpoint": "client:a2", "queues": ["pool"]},
        {"id": "s1", "name": "S1", "endpoint": "sip:s1@pbx.test", "queues": ["sub"]},
    ],
})
POOL = EnqueueAction("pool", "any", 0, None)
TRAFFIC = EnqueueAction("pool", "traffic", 0, 30.0)
SUB = EnqueueAction("sub", "any", 0, None)


class ScriptReplies(Acd):
    """The ACD with each script's JSON reply left undecoded (a dict, typed ``Any``).

    The store tests pin the reply shapes that ``ivr/store/results.py`` decodes for the
    service, so they read the replies as the scripts wrote them.
    """

    async def _reply(self, decode: Any, name: str, *args: str | int | float,
                     at_ms: int | None = None) -> Any:
        return await self._run(name, *args, at_ms=at_ms)


def script_replies(acd: Acd) -> Any:
    """The same center's ACD (one Redis, one clock), answering undecoded script replies."""
    return ScriptReplies(acd.redis, acd.keys.center, acd.clock)


class Env:
    """The ACD under test and plain Redis reads of the state it leaves."""

    def __init__(self, acd: Acd, redis: Redis, clock: ManualClock, config: CenterConfig) -> None:
        self.acd: Any = acd  # a ScriptReplies: replies are dicts
        self.redis = redis
        self.clock = clock
        self.keys: Keys = acd.keys
        self.config = config

    async def call(self, sid: str) -> dict[str, str]:
        """A call's hash."""
        info: dict[str, str] = await self.acd.call_info(sid)
        return info

    async def seat(self, seat: str) -> dict[str, str]:
        """A seat's hash."""
        info: dict[str, str] = await self.acd.seat_info(seat)
        return info

    async def zset(self, key: str) -> list[str]:
        """Members of a sorted set, lowest score first."""
        return cast(list[str], await self.redis.zrange(key, 0, -1))

    async def members(self, key: str) -> set[str]:
        """Members of a set."""
        return cast(set[str], await self.redis.smembers(key))

    async def timers(self) -> list[str]:
        """Pending timers, ``kind:id``."""
        return await self.zset(self.keys.timers())

    async def counters(self, kind: str, name: str) -> dict[str, int]:
        """A queue's (``q``) or line's (``l``) counters, summed over every bucket."""
        out: dict[str, int] = {}
        pattern = self.keys.cnt(kind, name, 0)[:-1] + "*"
        async for key in self.redis.scan_iter(match=pattern):
            for f, v in cast(dict[str, str], await self.redis.hgetall(key)).items():
                out[f] = out.get(f, 0) + int(v)
        return out

    async def snapshot(self) -> dict[str, object]:
        """Every key of the center with its value (to prove that nothing was written)."""
        out: dict[str, object] = {}
        async for key in self.redis.scan_iter(match=self.keys.pattern()):
            kind = await self.redis.type(key)
            if kind == "hash":
                out[key] = await self.redis.hgetall(key)
            elif kind == "zset":
                out[key] = await self.redis.zrange(key, 0, -1, withscores=True)
            elif kind == "set":
                out[key] = await self.redis.smembers(key)
            elif kind == "string":
                out[key] = await self.redis.get(key)
            else:
                out[key] = await self.redis.xlen(key) if kind == "stream" else kind
        return out

    async def enqueue(self, sid: str, action: EnqueueAction = POOL, line: str = "12345",
                      **kw: str) -> Result:
        """A call straight into a queue."""
        reply: Result = await self.acd.enqueue(sid, line, action, "138****8000", **kw)
        return reply

    async def ready(self, *seats: str) -> None:
        """Log seats in (they become ready)."""
        for s in seats:
            res = await self.acd.seat(s, "login")
            assert res.get("error") is None, res

    async def talking(self, sid: str, seat: str, action: EnqueueAction = POOL) -> None:
        """A call answered by ``seat`` (which must be ready and the best match)."""
        res = await self.enqueue(sid, action)
        assert (res["st"], res.get("seat")) == ("offered", seat), res
        assert (await self.acd.answered(sid, seat, "CA-leg-" + sid))["ok"] is True


@asynccontextmanager
async def open_env(redis_url: str, base_config: CenterConfig,
                   event_cap: int = 0) -> AsyncIterator[Env]:
    """An ACD of a fresh center with the test roster synced; its keys are deleted after."""
    center = "s" + uuid.uuid4().hex[:10]
    redis = Redis.from_url(redis_url, decode_responses=True)
    clock = ManualClock()
    acd = ScriptReplies(redis, center, clock, retention_seconds=3600, event_cap=event_cap,
                        rate_limit=(3, 60.0), watchdog_seconds=120.0)
    config = dataclasses.replace(base_config, roster=ROSTER)
    try:
        await acd.sync_config(config)
        yield Env(acd, redis, clock, config)
    finally:
        keys = [k async for k in redis.scan_iter(match=acd.keys.pattern())]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
