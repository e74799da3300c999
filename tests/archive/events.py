"""Events of the archive's stream contract, written by hand (as the Lua scripts write them)."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from ivr.store.keys import Keys

DAY0 = 1_800_000_000_000  # Friday 2027-01-15 16:00 Asia/Shanghai, in ms


def answered(sid: str, *, t: int = DAY0, wait: int = 8000, talk: int = 120_000, seat: str = "p01",
             line: str = "12345", queue: str = "pool", **more: str) -> dict[str, str]:
    rec = {"sid": sid, "st": "ended", "ln": line, "fr": "138****5678", "t1": str(t),
           "tq": str(t + 2000), "t0": str(t + 2000), "toff": str(t + 2000 + wait - 1000),
           "ans": str(t + 2000 + wait), "tend": str(t + 2000 + wait + talk), "wait": str(wait),
           "talk": str(talk), "seat": seat, "out": "answered", "q": queue, "sk": "any",
           "pr": "0", "lg": "zh-CN"}
    rec.update(more)
    return rec


def abandoned(sid: str, *, t: int = DAY0, wait: int = 30_000, line: str = "12345",
              queue: str = "pool", **more: str) -> dict[str, str]:
    rec = {"sid": sid, "st": "ended", "ln": line, "fr": "139****0000", "t1": str(t),
           "tq": str(t), "t0": str(t), "tend": str(t + wait), "wait": str(wait),
           "out": "abandoned", "q": queue, "sk": "any", "pr": "0", "lg": "zh-CN"}
    rec.update(more)
    return rec


async def xadd(redis: Redis, center: str, kind: str, data: dict[str, Any]) -> str:
    return str(await redis.xadd(Keys(center).events(),
                                {"e": kind, "d": json.dumps(data, ensure_ascii=False)},
                                maxlen=100_000, approximate=True))
