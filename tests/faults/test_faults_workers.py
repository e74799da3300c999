"""Several workers, one truth: uvicorn processes on two loopback "hosts" share one Redis.

Host A runs ``uvicorn --workers 2``, host B one more uvicorn on another port; each has
its own IVR_PUBLIC_BASE_URL, and the storm signs every request for the host it goes to.
Every worker runs the background sweeper at once. Midway, host B is killed with SIGKILL:
its requests in flight are sent again to host A, and every timer still fires.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ivr.app import create_app, sweep_once
from ivr.clock import ManualClock
from ivr.config import import_config
from ivr.core.config import CenterConfig
from ivr.settings import DEV_SEAT_SECRET, Settings
from ivr.store.connection import make_client
from ivr.store.invariants import violations
from ivr.store.keys import Keys
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import BASE, Phone
from tests.faults.conftest import needs_redis
from tests.faults.servers import RedisServer, Uvicorn, service_env
from tests.faults.storm import (
    Host,
    Storm,
    StormParams,
    compare,
    settle,
    storm_config,
    write_storm_config,
)

pytestmark = needs_redis
TOKEN = "workers-auth-token"


# ---------------------------------------------------------------- sweepers in every worker


@contextlib.asynccontextmanager
async def workers(settings: Settings, clock: ManualClock, cfg: CenterConfig,
                  n: int) -> AsyncIterator[list[dict[str, Any]]]:
    """``n`` apps on one center, each with its own Redis connections (as worker processes)."""
    async with contextlib.AsyncExitStack() as stack:
        out: list[dict[str, Any]] = []
        for _ in range(n):
            control = RecordingCallControl()
            app = create_app(settings, clock=clock, call_control=control, config=cfg, sweeper=False)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE))
            svc: Services = app.state.services
            out.append({"svc": svc, "phone": Phone(client, svc), "control": control})
        try:
            yield out
        finally:
            redis = out[0]["svc"].store().redis
            keys = [k async for k in redis.scan_iter(match=Keys(settings.center).pattern())]
            if keys:
                await redis.delete(*keys)


async def test_sweepers_in_every_worker_fire_each_timer_once(
        redis_proc: RedisServer, tmp_path: Path, base_config: CenterConfig) -> None:
    """30 seats end wrap-up while 30 callers wait; four sweepers race: each seat takes one call."""
    cfg = storm_config(base_config, seats=30, wrapup_seconds=10)
    settings = Settings(redis_url=redis_proc.url, center="w" + uuid.uuid4().hex[:8], data_dir=tmp_path,
                        public_base_url=BASE, twilio_auth_token=TOKEN)
    clock = ManualClock()
    async with workers(settings, clock, cfg, 4) as ws:
        phone: Phone = ws[0]["phone"]
        acd = ws[0]["svc"].store()
        seats = [s.id for s in cfg.roster.seats]
        for s in seats:
            assert (await phone.seat(s, "login")).status_code == 200
        for i in range(30):  # each seat takes a call and talks, then goes into wrap-up
            sid = f"CA{i:03d}"
            await phone.twiml("/voice/incoming", CallSid=sid, From=f"+86138{i:08d}", To="12315")
            seat = (await acd.call_info(sid))["seat"]
            await phone.twiml(f"/voice/seat-answered?call={sid}&seat={seat}", CallSid="CB" + sid)
            await phone.twiml(f"/voice/dial-done?call={sid}&seat={seat}", CallSid=sid,
                              DialCallStatus="completed", DialCallDuration="5")
        assert {(await acd.seat_info(s))["st"] for s in seats} == {"wrapup"}
        for i in range(30, 60):  # 30 callers wait
            await phone.twiml("/voice/incoming", CallSid=f"CA{i:03d}", From=f"+86138{i:08d}", To="12315")
        clock.advance(11)
        fired = 0
        for _ in range(3):  # every worker's sweeper, all at once, three rounds
            fired += sum(await asyncio.gather(*(sweep_once(w["svc"]) for w in ws)))
        assert fired == 30, "each wrap-up timer fires exactly once"
        redirected = [sid for w in ws for sid in w["control"].redirected()]
        assert sorted(redirected) == [f"CA{i:03d}" for i in range(30, 60)], "each caller is pulled out once"
        holders = [(await acd.seat_info(s)).get("call") for s in seats]
        assert sorted(holders) == sorted(redirected), "each seat took exactly one call"
        assert await violations(acd.redis, acd.keys) == []


# ---------------------------------------------------------------- real processes


@pytest.fixture
def hosts(redis_proc: RedisServer, tmp_path: Path, base_config: CenterConfig) -> Iterator[dict[str, Any]]:
    """Host A (two workers) and host B (one worker), started on one Redis and one center."""
    center = "w" + uuid.uuid4().hex[:8]
    cfg_dir = write_storm_config(base_config, tmp_path / "config", seats=60, wrapup_seconds=0.5,
                                 widen_after=1.0)
    settings = Settings(redis_url=redis_proc.url, center=center, data_dir=tmp_path / "data")
    asyncio.run(import_config(settings, cfg_dir, who="test"))  # no start-up race to seed it
    started: list[Uvicorn] = []
    try:
        for name, n in (("a", 2), ("b", 1)):
            uv = Uvicorn(workers=n, logdir=tmp_path)
            uv.env = service_env(redis_url=redis_proc.url, center=center, public_base_url=uv.base,
                                 auth_token=TOKEN, data_dir=tmp_path / f"data-{name}",
                                 IVR_CONFIG_DIR=str(cfg_dir), IVR_HOLD_LOOP_SECONDS="2",
                                 IVR_SWEEP_INTERVAL_SECONDS="0.1", IVR_REDIS_MAX_CONNECTIONS="256",
                                 IVR_SURVEY="false")
            started.append(uv)
            uv.start()
        yield {"a": started[0], "b": started[1], "center": center, "redis": redis_proc,
               "seats": [f"st{i:03d}" for i in range(60)]}
    finally:
        for uv in started:
            uv.stop()


async def test_storm_through_two_hosts_and_three_workers_with_a_host_killed(
        hosts: dict[str, Any]) -> None:
    a: Uvicorn = hosts["a"]
    b: Uvicorn = hosts["b"]
    params = StormParams(calls=1000, seats=60, spread_seconds=15.0, patience=(1.0, 5.0),
                         poll_seconds=0.5, talk_seconds=(0.0, 0.3), seat_break=0.1, concurrency=200,
                         seed=11)
    limits = httpx.Limits(max_connections=150, max_keepalive_connections=150)
    timeout = httpx.Timeout(10.0)
    killed_at: list[float] = []
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as ca, \
            httpx.AsyncClient(limits=limits, timeout=timeout) as cb:
        storm = Storm([Host("a", ca, a.base), Host("b", cb, b.base)], TOKEN, DEV_SEAT_SECRET,
                      hosts["seats"], params)

        async def kill_b() -> None:
            await asyncio.sleep(params.spread_seconds * 0.4)
            b.kill()  # SIGKILL, mid-request for some callers
            killed_at.append(time.monotonic())

        rec = await storm.run(during=kill_b())
    redis = make_client(hosts["redis"].url, Settings())
    keys = Keys(hosts["center"])
    try:
        summary = (f"answered {rec.count('answered')} abandoned {rec.count('abandoned')} "
                   f"noanswer {rec.noanswers} requests {rec.requests} retries {rec.retries} "
                   f"seat events {rec.seat_events} in {rec.last_end - rec.first_arrival:.1f} s")
        print(summary)
        errors = {sid: o for sid, o in rec.outcomes.items() if o.startswith("error")}
        assert errors == {}, summary
        assert len(rec.outcomes) == params.calls
        assert rec.double_holds == [], "a seat was dialed for a second call while busy"
        assert rec.bad_twiml == [], rec.statuses
        assert set(rec.statuses) == {200}, rec.statuses
        assert set(rec.seat_statuses) <= {200, 409}, rec.seat_statuses
        assert rec.retries > 0, "host B was killed mid-run"
        assert not storm.hosts[1].alive, "host B was killed mid-run"
        assert rec.count("answered") > params.calls // 4, summary
        assert rec.count("abandoned") > 0, summary
        # duties kept firing after B died: wrap-ups end, widened calls are served
        await settle(redis, keys)
        assert await violations(redis, keys) == []
        assert await compare(redis, keys, rec, hosts["seats"]) == []
        assert b.proc is not None
        assert b.proc.poll() is not None
        assert a.proc is not None, a.log_tail()
        assert a.proc.poll() is None, a.log_tail()
        assert "Traceback" not in a.log_tail(100_000), a.log_tail()
    finally:
        await redis.aclose()
