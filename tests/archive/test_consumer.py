"""The consumer against real Redis and real databases (PostgreSQL and SQLite): hand-written events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from sqlalchemy import Table, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.archive.consumer import GROUP, Archiver
from ivr.archive.models import CALLS, ROLLUPS, SEATS
from ivr.core import cdr
from ivr.store.keys import Keys
from tests.archive.events import DAY0, abandoned, answered, xadd


@pytest.fixture
async def redis(redis_url: str, center: str) -> AsyncIterator[Redis]:
    r = Redis.from_url(redis_url, decode_responses=True)
    yield r
    await r.delete(Keys(center).events())
    await r.aclose()


def archiver(redis: Redis, center: str, engine: AsyncEngine, **kw: int) -> Archiver:
    return Archiver(redis, Keys(center), engine, **kw)  # type: ignore[arg-type]


async def rollup(engine: AsyncEngine, center: str, dim: str, key: str) -> cdr.Counts:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(ROLLUPS.c.counts).where(
            ROLLUPS.c.center == center, ROLLUPS.c.dim == dim, ROLLUPS.c.key == key))).all()
    out: cdr.Counts = {}
    for (counts,) in rows:
        cdr.merge(out, json.loads(counts))
    return out


async def count_rows(engine: AsyncEngine, table: Table, center: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(
            table.c.center == center))).scalar_one())


async def test_calls_and_seats_are_archived_with_rollups(redis: Redis, center: str,
                                                         engine: AsyncEngine) -> None:
    await xadd(redis, center, "call", answered("CA1", cbn="+8613800000000", zz_new="kept"))
    await xadd(redis, center, "call", abandoned("CA2", wait=3000))
    await xadd(redis, center, "seat", {"seat": "p01", "st": "ready", "from": DAY0,
                                       "to": DAY0 + 60_000, "next": "reserved", "call": ""})
    a = archiver(redis, center, engine)
    await a.start()
    assert await a.drain() == 3
    async with engine.connect() as conn:
        row = (await conn.execute(select(CALLS).where(CALLS.c.center == center,
                                                      CALLS.c.sid == "CA1"))).one()
    assert row.outcome == "answered"
    assert row.talk_ms == 120_000
    assert row.caller == "138****5678"
    assert "cbn" not in (row.extra or "")
    assert "+8613800000000" not in (row.extra or "")
    assert json.loads(row.extra) == {"st": "ended", "zz_new": "kept"}
    line = await rollup(engine, center, "line", "12345")
    assert line["calls"] == 2
    assert line["offered"] == 2
    assert line["answered"] == 1
    assert line["abandoned"] == 1
    assert line["abandoned_short"] == 1
    assert line["sl_answered"] == 1
    assert (await rollup(engine, center, "seat", "p01"))["st_ms:ready"] == 60_000
    pending = await redis.xpending(Keys(center).events(), GROUP)
    assert pending["pending"] == 0


async def test_redelivery_changes_nothing_and_later_versions_supersede(
        redis: Redis, center: str, engine: AsyncEngine) -> None:
    first = answered("CA1")
    await xadd(redis, center, "call", first)
    seat_ev = {"seat": "p01", "st": "talking", "from": DAY0, "to": DAY0 + 5000, "next": "wrapup",
               "call": "CA1"}
    await xadd(redis, center, "seat", seat_ev)
    a = archiver(redis, center, engine)
    await a.start()
    await a.drain()
    before = await rollup(engine, center, "center", "")
    # the same events again (a consumer died after its commit, before its ack)
    await xadd(redis, center, "call", first)
    await xadd(redis, center, "seat", seat_ev)
    await a.drain()
    assert await rollup(engine, center, "center", "") == before
    assert (await rollup(engine, center, "seat", "p01"))["st_ms:talking"] == 5000
    # the survey answer and the disposition come later, each with the whole record
    await xadd(redis, center, "call", answered("CA1", rating="1"))
    await xadd(redis, center, "call", answered("CA1", rating="1", cat="complaint", res="1",
                                               dept="市场监督管理局"))
    await a.drain()
    after = await rollup(engine, center, "line", "12345")
    assert after["answered"] == 1
    assert after["rated"] == 1
    assert after["rated_1"] == 1
    assert after["disposed"] == 1
    assert after["resolved"] == 1
    assert after["cat:complaint"] == 1
    assert await count_rows(engine, CALLS, center) == 1
    assert await count_rows(engine, SEATS, center) == 1


async def test_an_older_version_arriving_late_is_ignored(redis: Redis, center: str,
                                                         engine: AsyncEngine) -> None:
    a = archiver(redis, center, engine)
    await a.start()
    await xadd(redis, center, "call", answered("CA1"))
    newer = await xadd(redis, center, "call", answered("CA1", rating="3"))
    await a.drain()
    assert a.totals.calls == 1  # the two events of one batch collapse to the newer
    # an older entry redelivered after the newer one was stored: claimed from a dead consumer
    from ivr.archive.decode import decode
    batch = decode([("1-0", {"e": "call", "d": json.dumps(answered("CA1"))})])
    written = await a.write(batch)
    assert written.stale == 1
    assert written.calls == 0
    assert (await rollup(engine, center, "line", "12345"))["rated_3"] == 1
    assert newer


async def test_a_dead_consumers_events_are_claimed(redis: Redis, center: str,
                                                   engine: AsyncEngine) -> None:
    dead = archiver(redis, center, engine, batch=10)
    await dead.start()
    for i in range(5):
        await xadd(redis, center, "call", answered(f"CA{i}"))
    # the dead consumer read them and died before writing
    got = await redis.xreadgroup(GROUP, dead.name, {Keys(center).events(): ">"}, count=10)
    assert isinstance(got, list)  # RESP2: [[stream, [(id, fields), ...]]]
    assert len(got[0][1]) == 5
    alive = archiver(redis, center, engine, claim_idle_ms=1)
    import asyncio
    await asyncio.sleep(0.01)
    assert await alive.drain() == 5
    assert alive.totals.claimed == 5
    assert await count_rows(engine, CALLS, center) == 5
    summary = await redis.xpending(Keys(center).events(), GROUP)
    assert summary["pending"] == 0


async def test_malformed_events_are_skipped_not_blocking(redis: Redis, center: str,
                                                         engine: AsyncEngine) -> None:
    await redis.xadd(Keys(center).events(), {"e": "call", "d": "{not json"})
    await redis.xadd(Keys(center).events(), {"e": "seat", "d": json.dumps({"seat": "p01"})})
    await xadd(redis, center, "call", answered("CA9"))
    a = archiver(redis, center, engine)
    await a.start()
    assert await a.drain() == 3
    assert a.totals.rejected == 2
    assert a.totals.calls == 1


async def test_a_failed_write_keeps_the_events_for_the_next_round(
        redis: Redis, center: str, engine: AsyncEngine, db_url: str) -> None:
    from ivr.archive.db import make_engine

    await xadd(redis, center, "call", answered("CA1"))
    broken = make_engine(db_url.rsplit("/", 1)[0] + "/no_such_db_here" if db_url.startswith("post")
                         else "sqlite+aiosqlite:////nonexistent/dir/x.db")
    a = archiver(redis, center, broken)
    await a.start()
    with pytest.raises(DBAPIError):  # any database error, as SQLAlchemy wraps it
        await a.step(block=False)
    await broken.dispose()
    assert (await redis.xpending(Keys(center).events(), GROUP))["pending"] == 1
    a.engine = engine  # the database is back
    assert await a.drain() == 1
    assert await count_rows(engine, CALLS, center) == 1
    assert (await redis.xpending(Keys(center).events(), GROUP))["pending"] == 0


async def test_stream_deleted_under_a_blocked_read_is_recreated(
        redis: Redis, center: str, engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    """Deleting the stream while the consumer blocks in XREADGROUP (Redis 7 answers UNBLOCKED,
    then NOGROUP) is no error: the group comes back with MKSTREAM and new events are archived."""
    import asyncio
    import logging

    a = archiver(redis, center, engine, block_ms=2000)
    await a.start()
    stop = asyncio.Event()
    task = asyncio.create_task(a.run(stop))
    await asyncio.sleep(0.3)  # blocked in XREADGROUP now
    await redis.delete(Keys(center).events())
    await asyncio.sleep(0.3)
    await xadd(redis, center, "call", answered("CA9"))
    for _ in range(50):
        if a.totals.calls:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert a.totals.calls == 1
    assert a.totals.failures == 0, a.totals.last_error
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.records
    groups = await redis.xinfo_groups(Keys(center).events())
    assert [g["name"] for g in groups] == [GROUP]
