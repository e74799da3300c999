"""Redis restarts with persistence on: waiting calls, seats, config and counters survive.

A clean restart (SHUTDOWN, then redis-server on the same folder and port) must give back
every key of the center exactly, while the service keeps running and carries on by
itself. A crash (SIGKILL) under a stream of arrivals measures what each persistence
setting loses of the writes Redis had acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ivr.app import create_app, sweep_once
from ivr.clock import ManualClock
from ivr.settings import DEV_ADMIN_TOKEN, DEV_MONITOR_TOKEN, Settings
from ivr.store.invariants import violations
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import BASE, ROOT, Phone
from tests.faults.conftest import needs_redis
from tests.faults.servers import RedisServer
from tests.faults.storm import counters, snapshot
from tests.twiml_helpers import dial_target, verbs

pytestmark = needs_redis
ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"}
MONITOR = {"Authorization": f"Bearer {DEV_MONITOR_TOKEN}"}


@contextlib.asynccontextmanager
async def service(server: RedisServer, tmp_path: Path, clock: ManualClock) -> AsyncIterator[dict[str, Any]]:
    settings = Settings(redis_url=server.url, center="p" + uuid.uuid4().hex[:8], data_dir=tmp_path,
                        config_dir=ROOT, public_base_url=BASE, twilio_auth_token="persist-token")
    app = create_app(settings, clock=clock, call_control=RecordingCallControl(), sweeper=False)
    async with app.router.lifespan_context(app):
        svc: Services = app.state.services
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            yield {"svc": svc, "client": client, "phone": Phone(client, svc)}


async def until_up(phone: Phone, limit: float = 10.0) -> float:
    """Seconds until a hold-loop webhook is served from Redis again (not the apology)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        root = await phone.twiml("/voice/wait", CallSid="CA4")
        if verbs(root) != ["Say", "Dial"]:
            return time.perf_counter() - t0
        await asyncio.sleep(0.02)
    raise AssertionError(f"the service did not recover within {limit} s")


async def test_a_clean_restart_keeps_calls_seats_config_and_counters(
        aof_redis: RedisServer, tmp_path: Path) -> None:
    clock = ManualClock()
    async with service(aof_redis, tmp_path, clock) as env:
        phone: Phone = env["phone"]
        c: httpx.AsyncClient = env["client"]
        svc: Services = env["svc"]
        acd = svc.store()
        # config: an admin renames a line
        resp = await c.get("/api/lines/12328", headers=MONITOR)
        line = resp.json()["data"] | {"name": "交通运输服务热线"}
        put = await c.put("/api/lines/12328", json=line, headers={**ADMIN, "If-Match": resp.headers["ETag"]})
        assert put.status_code == 200, put.text
        # seats: p01 talks on CA1, p02 wraps up after CA2, p03 is on break, the rest offline
        for s in ("p01", "p02", "p03"):
            await phone.seat(s, "login")
        await phone.seat("p03", "break")
        for sid, seat in (("CA1", "p01"), ("CA2", "p02")):
            root = await phone.twiml("/voice/incoming", CallSid=sid, From=f"+86138000000{sid[-1]}",
                                     To="12328")
            assert dial_target(root)[1] == seat
            await phone.twiml(f"/voice/seat-answered?call={sid}&seat={seat}", CallSid="CB" + sid)
        clock.advance(30)
        await phone.twiml("/voice/dial-done?call=CA2&seat=p02", CallSid="CA2", DialCallStatus="completed",
                          DialCallDuration="30")
        # callers: CA3 abandoned, CA4 and CA5 wait in this order
        for sid in ("CA3", "CA4", "CA5"):
            await phone.twiml("/voice/incoming", CallSid=sid, From=f"+86139000000{sid[-1]}", To="12328")
            clock.advance(1)
        await phone.twiml("/voice/status", CallSid="CA3", CallStatus="completed")
        before = await snapshot(acd.redis, acd.keys)
        cnt_before = await counters(acd.redis, acd.keys)
        assert cnt_before["offered"] == 5
        assert cnt_before["answered"] == 2
        assert cnt_before["abandoned"] == 1

        aof_redis.shutdown()
        root = await phone.twiml("/voice/wait", CallSid="CA4")
        assert verbs(root) == ["Say", "Dial"], "down: the apology"
        aof_redis.start()
        took = await until_up(phone)

        after = await snapshot(acd.redis, acd.keys)
        assert after == before
        assert (await acd.seat_info("p01"))["st"] == "talking"
        assert (await acd.seat_info("p02"))["st"] == "wrapup"
        assert (await acd.seat_info("p03"))["st"] == "break"
        assert (await acd.call_info("CA4"))["st"] == "waiting"
        assert svc.config.line("12328").name == "交通运输服务热线"  # type: ignore[union-attr]
        # and the center carries on: p02's wrap-up ends and it takes CA4, first in line
        clock.advance(15)
        await sweep_once(svc)
        assert (await acd.call_info("CA4"))["seat"] == "p02"
        assert (await acd.call_info("CA5"))["st"] == "waiting"
        assert await violations(acd.redis, acd.keys) == []
        print(f"\n[faults] clean restart: {len(before)} keys identical; service back {took * 1000:.0f} ms "
              "after redis-server answered PING")


PERSISTENCE: dict[str, dict[str, Any]] = {
    "aof-always": {"appendonly": True, "appendfsync": "always"},
    "aof-everysec": {"appendonly": True, "appendfsync": "everysec"},
    "rdb-1s": {"appendonly": False, "extra": ["--save", "1 1"]},
    "none": {"appendonly": False},
}


@pytest.mark.parametrize("mode", list(PERSISTENCE))
async def test_what_a_crash_loses_under_each_persistence_setting(mode: str, tmp_path: Path) -> None:
    """Arrivals stream in; Redis is SIGKILLed; count the acknowledged calls that are gone."""
    opts: dict[str, Any] = dict(PERSISTENCE[mode])
    extra = opts.pop("extra", [])
    server = RedisServer(tmp_path / "redis", extra=extra, **opts).start()
    try:
        async with service(server, tmp_path, ManualClock()) as env:
            phone: Phone = env["phone"]
            acd = env["svc"].store()
            acked: list[tuple[str, float]] = []
            t_end = time.perf_counter() + 2.5
            i = 0
            while time.perf_counter() < t_end and i < 5000:
                sid = f"CK{i:05d}"
                root = await phone.twiml("/voice/incoming", CallSid=sid, From=f"+86138{i:08d}", To="12315")
                assert verbs(root)[-1] == "Redirect"
                acked.append((sid, time.perf_counter()))
                i += 1
            server.kill()
            killed = time.perf_counter()
            server.start()
            await until_up_any(acd)
            lost = [(sid, t) for sid, t in acked if not await acd.redis.exists(acd.keys.call(sid))]
            window = killed - min(t for _, t in lost) if lost else 0.0
            print(f"\n[faults] {mode}: SIGKILL after {len(acked)} acknowledged arrivals; lost {len(lost)} "
                  f"(the last {window:.2f} s)")
            if mode.startswith("aof"):
                assert lost == [], "the append-only file keeps every acknowledged write on a crash"
            elif mode == "none":
                assert len(lost) == len(acked)
            else:
                assert window < 3.0
    finally:
        server.stop()


async def until_up_any(acd: Any, limit: float = 10.0) -> None:
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        with contextlib.suppress(Exception):
            if await acd.redis.ping():
                return
        await asyncio.sleep(0.02)
    raise AssertionError("Redis did not come back")
