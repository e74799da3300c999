"""Nothing is lost: the database stops and a consumer is killed (SIGKILL) during a storm.

A throwaway PostgreSQL server (never the machine's shared one) is stopped while calls keep
coming; an ``ivr archive`` process that holds unacknowledged events is killed. After the
database is back, every call is archived exactly once and every figure equals the live
Redis counters.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ivr.archive.consumer import GROUP
from ivr.archive.lag import archive_lag
from ivr.archive.models import CALLS, ROLLUPS
from ivr.clock import ManualClock
from ivr.core import cdr
from ivr.settings import Settings
from ivr.web.services import Services
from tests.archive.pgserver import PgServer
from tests.conftest import BASE, ROOT, Phone
from tests.web.test_journeys import counters

SEATS = ("p01", "p02", "p03")
COMPARED = ("calls", "offered", "answered", "abandoned", "abandoned_short", "sl_answered",
            "wait_answered_ms", "wait_abandoned_ms", "handled", "handled_ms", "ended_in_ivr")


@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    server = PgServer()
    server.start()
    yield server
    server.close()


@pytest.fixture
def settings(redis_url: str, center: str, tmp_path: Path, pg: PgServer) -> Settings:
    return Settings(redis_url=redis_url, center=center, data_dir=tmp_path, config_dir=ROOT,
                    public_base_url=BASE, twilio_auth_token="test-token-123",
                    hold_loop_seconds=10, database_url=pg.url, archive_batch=20,
                    archive_claim_idle_seconds=5.0, redis_timeout_seconds=5.0)  # a busy machine


async def one_call(phone: Phone, clock: ManualClock, i: int) -> None:
    sid = f"CA{i:04d}"
    root = await phone.twiml("/voice/incoming", CallSid=sid, From=f"+86138{i:08d}", To="12328")
    client = root.find("Dial/Client")
    clock.advance(1)
    if client is not None and i % 4:
        seat = (client.text or "").strip()
        await phone.twiml(f"/voice/seat-answered?call={sid}&seat={seat}", CallSid="L" + sid)
        clock.advance(2)
        await phone.twiml(f"/voice/dial-done?call={sid}&seat={seat}&lang=zh-CN", CallSid=sid,
                          DialCallStatus="completed", DialCallDuration="2")
        await phone.seat(seat, "ready")
    await phone.twiml("/voice/status", CallSid=sid, CallStatus="completed")


async def storm(phone: Phone, clock: ManualClock, first: int, n: int) -> None:
    for k in range(first, first + n, 5):
        await asyncio.gather(*(one_call(phone, clock, i) for i in range(k, min(k + 5, first + n))))


def start_consumer(settings: Settings, log: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "IVR_REDIS_URL": settings.redis_url or "", "IVR_CENTER": settings.center,
           "IVR_DATABASE_URL": settings.database_url or "", "IVR_ARCHIVE_BATCH": "20",
           "IVR_DATA_DIR": str(settings.data_dir)}
    ivr = Path(sys.executable).parent / "ivr"
    return subprocess.Popen([str(ivr), "archive"], env=env, stdout=log, stderr=subprocess.STDOUT)


async def wait_for(pred: Any, what: str, seconds: float = 60) -> None:
    for _ in range(int(seconds * 20)):
        if await pred():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_database_outage_and_killed_consumer_lose_nothing(
        app_env: dict[str, Any], phone: Phone, svc: Services, clock: ManualClock,
        pg: PgServer, settings: Settings) -> None:
    for s in SEATS:
        await phone.seat(s, "login")
    app = app_env["app"]
    await wait_for(lambda: _ready(app), "the archive to migrate")
    log = open(settings.data_dir / "consumer.log", "wb")  # noqa: SIM115
    other = start_consumer(settings, log)
    redis, keys = svc.store().redis, svc.store().keys

    async def two_consumers() -> bool:
        return len(await redis.xinfo_consumers(keys.events(), GROUP)) == 2

    try:
        await storm(phone, clock, 0, 20)
        await wait_for(two_consumers, "the ivr archive process to join the group")
        await storm(phone, clock, 20, 20)
        pg.stop("immediate")  # the database goes away; calls keep flowing
        await storm(phone, clock, 40, 60)

        async def other_holds_events() -> bool:
            info = await redis.xinfo_consumers(keys.events(), GROUP)
            return any(c["pending"] > 0 and c["name"] != app.state.archive.archiver.name
                       for c in info)

        await storm(phone, clock, 100, 20)
        try:
            await wait_for(other_holds_events, "the other consumer to hold unarchived events")
        except AssertionError:
            info = await redis.xinfo_consumers(keys.events(), GROUP)
            raise AssertionError(f"{info} {other.poll()} "
                                 + (settings.data_dir / "consumer.log").read_text()[-3000:]) from None
        other.send_signal(signal.SIGKILL)  # dies with events delivered, not acknowledged
        other.wait(10)
        lag = await archive_lag(redis, keys, int(clock.now() * 1000))
        assert lag["pending"] > 0 or lag["undelivered"]
        pg.start()  # back: the archive catches up, taking over the dead consumer's events
        await storm(phone, clock, 120, 20)

        async def caught_up() -> bool:
            lag = await archive_lag(redis, keys, 0)
            return not lag["pending"] and not lag["undelivered"]

        await wait_for(caught_up, "the archive to catch up", 90)
    finally:
        if other.poll() is None:
            other.kill()
            other.wait(10)
        log.close()
    engine = app.state.archive.engine
    async with engine.connect() as conn:
        n = (await conn.execute(select(func.count()).select_from(CALLS).where(
            CALLS.c.center == settings.center))).scalar_one()
        sids = {r[0] for r in await conn.execute(select(CALLS.c.sid).where(
            CALLS.c.center == settings.center))}
        rows = (await conn.execute(select(ROLLUPS.c.counts).where(
            ROLLUPS.c.center == settings.center, ROLLUPS.c.dim == "line",
            ROLLUPS.c.key == "12328"))).all()
    missing = sorted({f"CA{i:04d}" for i in range(140)} - sids)
    assert n == 140, (vars(app.state.archive.archiver.totals), missing)
    assert not missing, (vars(app.state.archive.archiver.totals), missing)
    archived: cdr.Counts = {}
    for (c,) in rows:
        cdr.merge(archived, json.loads(c))
    live = await counters(svc, "l", "12328")
    assert archived["answered"] > 20, archived
    assert archived["abandoned"] > 20, archived
    for k in COMPARED:
        assert archived.get(k, 0) == live.get(k, 0), (k, archived.get(k), live.get(k))
    assert app.state.archive.archiver.totals.claimed > 0
    assert app.state.archive.archiver.totals.failures > 0


async def _ready(app: Any) -> bool:
    return bool(app.state.archive.ready.is_set())
