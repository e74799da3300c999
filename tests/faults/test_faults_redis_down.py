"""Redis goes away and comes back: callers are always answered, the service heals itself.

The server here is a redis-server of the test's own with the append-only file on, so
``SHUTDOWN`` then a start on the same port and folder brings the same data back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ivr.app import create_app, sweep_once
from ivr.auth import seat_token
from ivr.clock import Clock, ManualClock, SystemClock
from ivr.settings import DEV_ADMIN_TOKEN, DEV_MONITOR_TOKEN, Settings
from ivr.store.invariants import violations
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import BASE, ROOT, Phone
from tests.faults.conftest import needs_redis
from tests.faults.servers import RedisServer
from tests.twiml_helpers import verbs

pytestmark = needs_redis
ADMIN = {"Authorization": f"Bearer {DEV_ADMIN_TOKEN}"}
MONITOR = {"Authorization": f"Bearer {DEV_MONITOR_TOKEN}"}
BACKUP = "+861088888888"
#: Query strings that make each call-path webhook reach Redis.
QUERIES = {
    "/voice/gather": "?ln=12345&f=entry-12345&r=1&n=emergency&t=0",
    "/voice/dial-done": "?call=CA2&seat=p01",
    "/voice/seat-answered": "?call=CA2&seat=p01",
    "/voice/transfer-done": "?target=police&ln=12345&f=entry-12345&r=1&n=to_pool",
}
#: Webhooks a caller is listening to: on an outage they must dial the backup number.
CALLER_FACING = ("/voice/incoming", "/voice/gather", "/voice/wait", "/voice/dial-done")


def settings_for(server: RedisServer, tmp_path: Path, **kw: Any) -> Settings:
    return Settings(redis_url=server.url, center="d" + uuid.uuid4().hex[:8], data_dir=tmp_path,
                    config_dir=ROOT, public_base_url=BASE, twilio_auth_token="down-token",
                    backup_number=BACKUP, **kw)


@contextlib.asynccontextmanager
async def service(settings: Settings, clock: Clock, sweeper: bool = False) -> AsyncIterator[dict[str, Any]]:
    app = create_app(settings, clock=clock, call_control=RecordingCallControl(), sweeper=sweeper)
    async with app.router.lifespan_context(app):
        svc: Services = app.state.services
        # raise_app_exceptions=False: an unhandled error is seen as the 500 a client gets
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield {"app": app, "svc": svc, "client": client, "phone": Phone(client, svc)}


def voice_paths(app: Any) -> list[str]:
    """Every POST webhook the app serves under /voice (whatever routers it has today)."""
    paths = app.openapi()["paths"]
    return sorted(p for p, ops in paths.items() if p.startswith("/voice/") and "post" in ops)


async def before_the_outage(phone: Phone) -> None:
    """A seat talking on CA1, a caller waiting as CA2."""
    assert (await phone.seat("p01", "login")).status_code == 200
    await phone.twiml("/voice/incoming", CallSid="CA1", From="+8613800000000", To="12328")
    await phone.twiml("/voice/seat-answered?call=CA1&seat=p01", CallSid="CB1")
    root = await phone.twiml("/voice/incoming", CallSid="CA2", From="+8613800000001", To="12328")
    assert verbs(root)[-1] == "Redirect"


async def test_webhooks_apologise_within_a_second_while_redis_is_down(
        aof_redis: RedisServer, tmp_path: Path) -> None:
    async with service(settings_for(aof_redis, tmp_path), SystemClock(), sweeper=True) as env:
        phone: Phone = env["phone"]
        await before_the_outage(phone)
        aof_redis.shutdown()
        paths = voice_paths(env["app"])
        assert set(CALLER_FACING) <= set(paths)
        slow: list[str] = []
        for path in paths:
            t0 = time.perf_counter()
            # the caller is still on the line (a final CallStatus on a Dial action means they
            # hung up while the seat rang: nobody to apologise to); the status callback ends it
            status = "completed" if path == "/voice/status" else "in-progress"
            resp = await phone.post(path + QUERIES.get(path, ""), CallSid="CA2", From="+8613800000001",
                                    To="12328", Digits="1", CallStatus=status,
                                    DialCallStatus="no-answer")
            took = time.perf_counter() - t0
            assert resp.status_code == 200, (path, resp.status_code, resp.text)
            root = ET.fromstring(resp.text)
            assert root.tag == "Response", path
            if path in CALLER_FACING:
                assert verbs(root) == ["Say", "Dial"], (path, resp.text)
                assert (root.find("Dial").text or "") == BACKUP  # type: ignore[union-attr]
            if took >= 1.0:
                slow.append(f"{path} {took:.2f}s")
        assert slow == []
        health = await env["client"].get("/healthz")
        assert health.status_code == 503
        assert health.json()["redis"] is False


async def test_monitor_api_answers_503_while_redis_is_down(aof_redis: RedisServer, tmp_path: Path) -> None:
    async with service(settings_for(aof_redis, tmp_path), ManualClock()) as env:
        aof_redis.shutdown()
        resp = await env["client"].get("/api/metrics", headers=MONITOR)
        assert resp.status_code == 503, resp.text
        assert "Redis" in resp.text, resp.text


async def test_seat_and_admin_apis_answer_503_while_redis_is_down(
        aof_redis: RedisServer, tmp_path: Path) -> None:
    async with service(settings_for(aof_redis, tmp_path), ManualClock()) as env:
        c: httpx.AsyncClient = env["client"]
        etag = (await c.get("/api/lines/12328", headers=MONITOR)).headers["ETag"]
        line = (await c.get("/api/lines/12328", headers=MONITOR)).json()["data"]
        aof_redis.shutdown()
        token = {"Authorization": "Bearer " + seat_token(env["svc"].settings.seat_secret, "p01")}
        answers = {
            "seat state": await c.get("/api/seats/p01", headers=token),
            "seat login": await c.post("/api/seats/p01/login", headers=token),
            "line change": await c.put("/api/lines/12328", json=line | {"name": "x"},
                                       headers={**ADMIN, "If-Match": etag}),
            "audit": await c.get("/api/audit", headers=MONITOR),
        }
        wrong = {what: (r.status_code, r.text[:80]) for what, r in answers.items()
                 if r.status_code != 503 or "redis" not in r.text.lower()}
        assert wrong == {}


async def test_the_service_recovers_by_itself_when_redis_returns(
        aof_redis: RedisServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = settings_for(aof_redis, tmp_path, sweep_interval_seconds=0.1)
    async with service(settings, SystemClock(), sweeper=True) as one, \
            service(settings, SystemClock(), sweeper=True) as two:
        phone: Phone = one["phone"]
        await before_the_outage(phone)
        aof_redis.shutdown()
        root = await phone.twiml("/voice/wait", CallSid="CA2")
        assert verbs(root) == ["Say", "Dial"]
        await asyncio.sleep(1.5)  # the sweepers and config watchers fail a few rounds meanwhile
        aof_redis.start()
        back = time.perf_counter()
        recovered = None
        for _ in range(500):  # 10 s at most
            root = await phone.twiml("/voice/wait", CallSid="CA2")
            if verbs(root) != ["Say", "Dial"]:
                recovered = time.perf_counter() - back
                break
            await asyncio.sleep(0.02)
        assert recovered is not None, "the webhooks did not recover within 10 s"
        assert verbs(root)[-1] == "Redirect", "CA2 is still waiting, its place kept"
        # the seat API works again and the state is what it was
        seat = await phone.seat("p02", "login")
        assert seat.status_code == 200, seat.text
        acd = one["svc"].store()
        assert (await acd.call_info("CA1"))["st"] == "talking"
        # the config watchers resubscribed: a change reaches the other worker
        c: httpx.AsyncClient = one["client"]
        resp = await c.get("/api/lines/12328", headers=MONITOR)
        changed = resp.json()["data"] | {"name": "交通运输热线（恢复后）"}
        put = await c.put("/api/lines/12328", json=changed,
                          headers={**ADMIN, "If-Match": resp.headers["ETag"]})
        assert put.status_code == 200, put.text
        t0 = time.perf_counter()
        for _ in range(60):
            if two["svc"].config.version == one["svc"].config.version:
                break
            await asyncio.sleep(0.05)
        config_lag = time.perf_counter() - t0
        assert two["svc"].config.version == one["svc"].config.version
        assert config_lag < 2.5  # the watcher sleeps 1 s after a failure, then polls every 1 s
        # the sweepers fire timers again: CA1 ends, p01 wraps up, then it takes CA2
        await phone.twiml("/voice/dial-done?call=CA1&seat=p01", CallSid="CA1", DialCallStatus="completed",
                          DialCallDuration="3")
        assert (await acd.seat_info("p01"))["st"] in ("wrapup", "ready", "reserved")
        assert await violations(acd.redis, acd.keys) == []
        with capsys.disabled():
            print(f"\n[faults] webhooks recovered {recovered * 1000:.0f} ms after Redis answered PING; "
                  f"config change reached the other worker in {config_lag * 1000:.0f} ms")


async def test_webhooks_answer_within_a_second_when_redis_hangs(
        aof_redis: RedisServer, tmp_path: Path) -> None:
    """A frozen Redis (SIGSTOP: connections open, nothing answers) costs one socket timeout."""
    settings = settings_for(aof_redis, tmp_path, redis_timeout_seconds=0.5)
    async with service(settings, ManualClock()) as env:
        phone: Phone = env["phone"]
        await before_the_outage(phone)
        assert aof_redis.proc is not None
        os.kill(aof_redis.proc.pid, signal.SIGSTOP)
        try:
            for path in CALLER_FACING:
                t0 = time.perf_counter()
                resp = await phone.post(path + QUERIES.get(path, ""), CallSid="CA2", To="12328",
                                        From="+8613800000001", DialCallStatus="no-answer")
                took = time.perf_counter() - t0
                assert resp.status_code == 200
                assert verbs(ET.fromstring(resp.text)) == ["Say", "Dial"], resp.text
                assert took < 1.0, f"{path} took {took:.2f} s with IVR_REDIS_TIMEOUT_SECONDS=0.5"
        finally:
            os.kill(aof_redis.proc.pid, signal.SIGCONT)


async def test_a_burst_of_webhooks_answers_within_a_second_when_redis_hangs_with_defaults(
        aof_redis: RedisServer, tmp_path: Path) -> None:
    async with service(settings_for(aof_redis, tmp_path), ManualClock()) as env:
        phone: Phone = env["phone"]
        await before_the_outage(phone)
        assert aof_redis.proc is not None
        os.kill(aof_redis.proc.pid, signal.SIGSTOP)
        try:
            async def arrive(i: int) -> float:
                t0 = time.perf_counter()
                resp = await phone.post("/voice/incoming", CallSid=f"CX{i}", To="12328",
                                        From=f"+86139{i:08d}")
                assert verbs(ET.fromstring(resp.text)) == ["Say", "Dial"]
                return time.perf_counter() - t0

            took = await asyncio.gather(*(arrive(i) for i in range(100)))
        finally:
            os.kill(aof_redis.proc.pid, signal.SIGCONT)
        assert max(took) < 1.0, f"slowest {max(took):.2f} s"


async def ghost_after(settings: Settings, minutes: float) -> dict[str, str]:
    """A caller waits, hangs up, and the status callback is lost; ``minutes`` later a seat logs in.

    Returns the seat's state then. Nothing polls the hold loop any more: Twilio stopped it.
    """
    clock = ManualClock()
    async with service(settings, clock) as env:
        phone: Phone = env["phone"]
        svc: Services = env["svc"]
        root = await phone.twiml("/voice/incoming", CallSid="CA7", From="+8613800000000", To="12328")
        assert verbs(root)[-1] == "Redirect"
        for _ in range(int(minutes * 2)):
            clock.advance(30)
            await sweep_once(svc)
        await phone.seat("p01", "login")
        acd = svc.store()
        return {"seat": (await acd.seat_info("p01"))["st"], "call": (await acd.call_info("CA7"))["st"]}


async def test_the_stale_call_sweep_ends_a_ghost_after_stale_call_seconds(
        aof_redis: RedisServer, tmp_path: Path) -> None:
    got = await ghost_after(settings_for(aof_redis, tmp_path, stale_call_seconds=600), minutes=11)
    assert got == {"seat": "ready", "call": "ended"}


async def test_a_waiting_caller_who_stopped_polling_is_ended_within_minutes(
        aof_redis: RedisServer, tmp_path: Path) -> None:
    got = await ghost_after(settings_for(aof_redis, tmp_path), minutes=2)
    assert got == {"seat": "ready", "call": "ended"}


async def test_redis_back_empty_the_service_reseeds_and_seats_log_in_again(
        redis_proc: RedisServer, tmp_path: Path) -> None:
    """No persistence (or a failover to an empty replica): live state is gone, service is not."""
    async with service(settings_for(redis_proc, tmp_path), SystemClock(), sweeper=True) as env:
        phone: Phone = env["phone"]
        await before_the_outage(phone)
        redis_proc.shutdown()
        redis_proc.start()  # the same port, nothing in it
        t0 = time.perf_counter()
        status = 0
        while time.perf_counter() - t0 < 10:
            status = (await phone.seat("p02", "login")).status_code
            if status == 200:
                break
            await asyncio.sleep(0.05)
        assert status == 200, "the roster was not synced back into the empty Redis"
        root = await phone.twiml("/voice/incoming", CallSid="CA8", From="+8613900000008", To="12328")
        assert verbs(root)[0] == "Dial"
        acd = env["svc"].store()
        assert await violations(acd.redis, acd.keys) == []
        took = time.perf_counter() - t0
        print(f"\n[faults] empty Redis: seats log in again {1e3 * took:.0f} ms after the restart")
