"""The archive inside a running service: engine, migrations, consumer task, retention.

``create_app`` starts one per worker; with ``IVR_ARCHIVE`` on it runs a consumer in the
background (the ACD then has the Lua scripts write the events, capped). Migrations run
first, in the same task, so a database that is away at start-up only delays the archive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.archive.consumer import Archiver
from ivr.archive.db import database_url, make_engine, migrate
from ivr.archive.models import CALLS, SEATS
from ivr.core import cdr
from ivr.settings import Settings
from ivr.store.connection import Breaker, make_client
from ivr.store.keys import Keys

log = logging.getLogger("ivr.archive")
RETENTION_EVERY = 6 * 3600.0


def stream_client(url: str, settings: Settings) -> Redis:
    """A Redis client for the consumer: longer timeouts than webhooks (blocking reads)."""
    quiet = settings.model_copy(update={"redis_timeout_seconds": 5.0, "redis_max_connections": 4,
                                        "redis_cluster": settings.redis_cluster})
    return make_client(url, quiet, Breaker(0.0))


async def apply_retention(engine: AsyncEngine, settings: Settings, now_ms: int) -> tuple[int, int]:
    """Delete records past ``archive_retention_days``; erase callers past ``archive_caller_days``.

    Rollups (no personal data) are kept. Returns (rows deleted, callers erased).
    """
    today = cdr.day_of_ms(now_ms)
    t, s = CALLS, SEATS
    center = settings.center
    async with engine.begin() as conn:
        cut = today - settings.archive_retention_days
        n = (await conn.execute(delete(t).where(t.c.center == center, t.c.day < cut))).rowcount
        await conn.execute(delete(s).where(s.c.center == center, s.c.day < cut))
        erased = (await conn.execute(update(t).where(
            t.c.center == center, t.c.day < today - settings.archive_caller_days,
            t.c.caller.is_not(None)).values(caller=None))).rowcount
    return int(n or 0), int(erased or 0)


async def keep_retention(engine: AsyncEngine, settings: Settings,
                         every: float = RETENTION_EVERY) -> None:
    """Apply the retention now and then every ``every`` seconds, until cancelled."""
    while True:
        try:
            gone, erased = await apply_retention(engine, settings, int(time.time() * 1000))
            if gone or erased:
                log.info("archive: retention deleted %d records, erased %d callers", gone, erased)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("archive: retention: %s", exc)
        await asyncio.sleep(every)


@dataclass
class ArchiveService:
    """The archive of one worker."""

    settings: Settings
    redis_url: str
    engine: AsyncEngine | None = None
    archiver: Archiver | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    redis: Redis | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        """Migrate, then consume (with ``IVR_ARCHIVE``), in a background task.

        The Lua scripts write events when the ACD's ``event_cap`` (``IVR_ARCHIVE_STREAM_CAP``)
        is above 0; ``create_app`` passes it.
        """
        st = self.settings
        keys = Keys(st.center)
        self.engine = make_engine(database_url(st))
        if st.archive and st.archive_stream_cap > 0:
            self.redis = stream_client(self.redis_url, st)
            self.archiver = Archiver(self.redis, keys, self.engine,
                                     short_ms=int(st.short_abandon_seconds * 1000),
                                     batch=st.archive_batch,
                                     claim_idle_ms=int(st.archive_claim_idle_seconds * 1000))
        self.tasks.append(asyncio.create_task(self._run(self.engine)))

    async def _run(self, engine: AsyncEngine) -> None:
        delay = 0.5
        while True:
            try:
                await migrate(engine)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("archive: database not ready (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.ready.set()
        if self.archiver is not None:
            self.tasks.append(asyncio.create_task(keep_retention(engine, self.settings)))
            await self.archiver.run()

    async def stop(self) -> None:
        """Cancel the tasks; close the engine and the consumer's Redis client.

        A migration under way is let finish first (up to 5 s): cancelled inside a database
        call, its driver thread (aiosqlite) would answer later into a closed event loop.
        """
        if self.tasks and not self.ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), 5.0)
        for task in self.tasks:  # redis-py may swallow one cancel: cancel until done
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.5)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()
        if self.redis is not None:
            await self.redis.aclose()
        if self.engine is not None:
            await self.engine.dispose()
