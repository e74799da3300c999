"""The archive consumer: the center's event stream into the database, nothing lost.

Every worker (and ``ivr archive``) runs one consumer of the group ``archive`` on the
stream ``ivr:{center}:events``. A round takes, in this order: its own pending entries
(delivered before, not acknowledged: a failed write), entries another consumer left
pending for ``archive_claim_idle_seconds`` (a dead worker; XAUTOCLAIM, Redis 6.2), then
new ones. Each batch is written in one transaction (``ivr.archive.writer``) and
acknowledged only after the commit; a redelivered entry changes nothing twice. While the
database is away nothing is acknowledged: the stream keeps the events (up to its cap,
``archive_stream_cap``) and the archive catches up when the database returns. After a
short batch the consumer lingers (``linger_ms``) so events gather: a busy worker writes a
few large transactions a second, not one per event, which keeps its webhooks fast. A
stream or group deleted under the consumer (even mid-XREADGROUP) is recreated (MKSTREAM).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.archive.decode import Batch, decode
from ivr.archive.writer import Written, write_batch
from ivr.store.keys import Keys

log = logging.getLogger("ivr.archive")
GROUP = "archive"


def consumer_name() -> str:
    """A name unique to this process (host, pid, random)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def ensure_group(redis: Redis, keys: Keys) -> None:
    """Create the consumer group (from the stream's start) unless it exists."""
    try:
        await redis.xgroup_create(keys.events(), GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def vanished(exc: ResponseError) -> bool:
    """Whether a read failed because the stream or group was deleted (UNBLOCKED, NOGROUP)."""
    return str(exc).startswith(("UNBLOCKED", "NOGROUP"))


@dataclass
class Totals:
    """What a consumer has done since it started."""

    batches: int = 0
    events: int = 0
    calls: int = 0
    seats: int = 0
    stale: int = 0
    rejected: int = 0
    claimed: int = 0
    failures: int = 0
    last_error: str = ""


@dataclass
class Archiver:
    """One consumer of the center's event stream."""

    redis: Redis
    keys: Keys
    engine: AsyncEngine
    short_ms: int = 5000
    batch: int = 2000
    claim_idle_ms: int = 60_000
    block_ms: int = 1000
    linger_ms: int = 500  # after a short batch, let events gather (fewer, larger writes)
    name: str = field(default_factory=consumer_name)
    totals: Totals = field(default_factory=Totals)
    _claim_from: str = "0-0"

    async def start(self) -> None:
        """Create the group if needed."""
        await ensure_group(self.redis, self.keys)

    async def _read(self, block: bool) -> list[tuple[str, dict[str, str]]]:
        key = self.keys.events()
        own: Any = await self.redis.xreadgroup(GROUP, self.name, {key: "0"}, count=self.batch)
        entries: list[Any] = own[0][1] if own else []
        gone = [e[0] for e in entries if not e[1]]  # trimmed by the cap while pending
        if gone:
            log.error("archive: %d events were trimmed before they were archived (the stream "
                      "cap is too small for this outage)", len(gone))
            await self.redis.xack(key, GROUP, *gone)
        entries = [e for e in entries if e[1]]
        if entries:
            return entries
        res: Any = await self.redis.xautoclaim(key, GROUP, self.name, self.claim_idle_ms,
                                          start_id=self._claim_from, count=self.batch)
        self._claim_from = res[0] if res[1] else "0-0"
        claimed = [e for e in res[1] if e[1]]
        if claimed:
            self.totals.claimed += len(claimed)
            log.warning("archive: %s took over %d events of a silent consumer", self.name,
                        len(claimed))
            return claimed
        new: Any = await self.redis.xreadgroup(GROUP, self.name, {key: ">"}, count=self.batch,
                                          block=self.block_ms if block else None)
        return new[0][1] if new else []

    async def write(self, batch: Batch) -> Written:
        """Write a decoded batch in one transaction."""
        async with self.engine.begin() as conn:
            return await write_batch(conn, self.keys.center, batch, self.short_ms)

    async def step(self, block: bool = True) -> int:
        """One round: read, write, acknowledge. Returns the events handled (0 = none)."""
        try:
            entries = await self._read(block)
        except ResponseError as exc:
            if not vanished(exc):
                raise
            log.info("archive: the event stream or its group vanished (%s); recreating it",
                     str(exc).split(" ", 1)[0])
            self._claim_from = "0-0"
            await ensure_group(self.redis, self.keys)
            return 0
        if not entries:
            return 0
        batch = decode(entries)
        written = await self.write(batch)
        await self.redis.xack(self.keys.events(), GROUP, *batch.ids)
        t = self.totals
        t.batches += 1
        t.events += len(batch.ids)
        t.calls += written.calls
        t.seats += written.seats
        t.stale += written.stale
        t.rejected += batch.rejected
        return len(batch.ids)

    async def drain(self) -> int:
        """Archive everything there is now (tests, ``ivr archive --once``); returns events."""
        n = 0
        while (k := await self.step(block=False)) > 0:
            n += k
        return n

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Consume until cancelled (or ``stop`` is set); wait and retry while anything fails."""
        await self._until_started(stop)
        delay = 0.5
        while stop is None or not stop.is_set():
            try:
                if await self.step() < self.batch and self.linger_ms > 0:
                    await self._linger(stop)
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database or Redis away: keep the events, try again
                self.totals.failures += 1
                self.totals.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("archive: %s; retrying in %.1f s", self.totals.last_error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _linger(self, stop: asyncio.Event | None) -> None:
        """Wait ``linger_ms`` (or until ``stop``): one write per linger, not one per event."""
        if stop is None:
            await asyncio.sleep(self.linger_ms / 1000)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self.linger_ms / 1000)

    async def _until_started(self, stop: asyncio.Event | None) -> None:
        delay = 0.5
        while stop is None or not stop.is_set():
            try:
                await self.start()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("archive: cannot create the consumer group yet: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
