"""Issue 10 item 1 over two workers: Redis is away for 0.1–5 s while talks end, then back.

Two real uvicorn workers (one per loopback "host", each its own journal) share one
redis-server of the test's own with the append-only file on. Seats talk to callers;
Redis is shut down; each talk's Dial action goes to one worker and its final status
callback to the other; Redis starts again on the same port and folder. Within a few
sweep intervals: no seat is stuck talking or reserved, every call has exactly one
outcome, the ``answered`` counters equal the calls recorded answered, and
``violations()`` is empty.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ivr.auth import seat_token
from ivr.config import import_config
from ivr.core.config import CenterConfig
from ivr.settings import DEV_SEAT_SECRET, Settings
from ivr.store.connection import make_client
from ivr.store.invariants import violations
from ivr.store.keys import Keys
from ivr.telephony.signature import SignatureChecker
from tests.faults.conftest import needs_redis
from tests.faults.servers import RedisServer, Uvicorn, service_env
from tests.faults.storm import ACCOUNT, counters, write_storm_config

pytestmark = needs_redis
TOKEN = "outage-talks-auth-token"
SEATS = [f"st{i:03d}" for i in range(8)]
SWEEP = 0.2  # IVR_SWEEP_INTERVAL_SECONDS of both workers


@pytest.fixture
def workers(aof_redis: RedisServer, tmp_path: Path, base_config: CenterConfig) -> Iterator[dict[str, Any]]:
    """Two uvicorn workers on one Redis and one center, each with its own data folder."""
    center = "o" + uuid.uuid4().hex[:8]
    cfg_dir = write_storm_config(base_config, tmp_path / "config", seats=len(SEATS), wrapup_seconds=0.5)
    asyncio.run(import_config(Settings(redis_url=aof_redis.url, center=center,
                                       data_dir=tmp_path / "seed"), cfg_dir, who="test"))
    started: list[Uvicorn] = []
    try:
        for name in ("a", "b"):
            uv = Uvicorn(logdir=tmp_path)
            uv.env = service_env(redis_url=aof_redis.url, center=center, public_base_url=uv.base,
                                 auth_token=TOKEN, data_dir=tmp_path / f"data-{name}",
                                 IVR_CONFIG_DIR=str(cfg_dir), IVR_SWEEP_INTERVAL_SECONDS=str(SWEEP),
                                 IVR_SURVEY="false", IVR_BACKUP_NUMBER="+861088888888")
            started.append(uv.start())
        yield {"hosts": started, "center": center, "redis": aof_redis}
    finally:
        for uv in started:
            uv.stop()


class Twilio:
    """Signs each webhook for the worker it is sent to and parses the TwiML answer."""

    def __init__(self, client: httpx.AsyncClient, hosts: list[Uvicorn]) -> None:
        self.client = client
        self.hosts = hosts
        self.checkers = [SignatureChecker(TOKEN, h.base) for h in hosts]

    async def post(self, worker: int, url: str, **params: str) -> ET.Element:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        full = self.hosts[worker].base + path
        resp = await self.client.post(full, data=params, headers={
            "X-Twilio-Signature": self.checkers[worker].sign(full, params)})
        assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
        return ET.fromstring(resp.text)

    async def login(self, worker: int, seat: str) -> None:
        resp = await self.client.post(
            f"{self.hosts[worker].base}/api/seats/{seat}/login",
            headers={"Authorization": f"Bearer {seat_token(DEV_SEAT_SECRET, seat)}"})
        assert resp.status_code == 200, resp.text


def base_params(i: int) -> dict[str, str]:
    return {"CallSid": f"CA{i:032d}", "AccountSid": ACCOUNT, "From": f"+86138{i:08d}", "To": "12328",
            "Direction": "inbound", "ApiVersion": "2010-04-01"}


async def talk(tw: Twilio, i: int) -> str:
    """Caller i reaches a seat that answers; returns the Dial's action URL."""
    root = await tw.post(i % 2, "/voice/incoming", **base_params(i), CallStatus="ringing")
    dial = root.find("Dial")
    assert dial is not None, ET.tostring(root, "unicode")
    noun = next(iter(dial))
    await tw.post(i % 2, noun.get("statusCallback", ""), CallSid=f"CB{i:032d}",
                  ParentCallSid=f"CA{i:032d}", AccountSid=ACCOUNT, CallStatus="in-progress")
    return dial.get("action", "")


@pytest.mark.parametrize("away", [0.1, 1.5, 5.0])
async def test_talks_that_end_while_redis_is_away_leave_no_seat_stuck(
        workers: dict[str, Any], away: float) -> None:
    hosts: list[Uvicorn] = workers["hosts"]
    server: RedisServer = workers["redis"]
    redis = make_client(server.url, Settings())
    keys = Keys(workers["center"])
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            tw = Twilio(client, hosts)
            for n, seat in enumerate(SEATS):
                await tw.login(n % 2, seat)
            actions = [await talk(tw, i) for i in range(len(SEATS))]
            sids = [f"CA{i:032d}" for i in range(len(SEATS))]
            talking = [await redis.hget(keys.seat(s), "st") for s in SEATS]
            assert talking == ["talking"] * len(SEATS)

            server.shutdown()  # AOF on: the data comes back when it starts again
            t0 = time.monotonic()
            for i, action in enumerate(actions):
                seat = parse_qs(urlsplit(action).query)["seat"][0]
                assert seat in SEATS
                # the Dial action to one worker, the final status callback to the other
                end = await tw.post(i % 2, action, **base_params(i), CallStatus="in-progress",
                                    DialCallStatus="completed", DialCallDuration="30")
                assert end.find("Hangup") is not None, \
                    "the caller whose talk just ended hears goodbye, not the backup number"
                assert end.find("Dial") is None, \
                    "the caller whose talk just ended hears goodbye, not the backup number"
                await tw.post((i + 1) % 2, "/voice/status", **base_params(i), CallStatus="completed",
                              CallDuration="45")
            await asyncio.sleep(max(0.0, away - (time.monotonic() - t0)))
            server.start()

        back = time.monotonic()
        problems: list[str] = ["not checked yet"]
        while time.monotonic() - back < 30 * SWEEP + 5:
            problems = []
            for s in SEATS:
                info = await redis.hgetall(keys.seat(s))
                # wrap-up (0.5 s) over too: violations() reads seat and sets one at a time,
                # so a wrap-up ending between its reads would look like a broken invariant
                if info.get("st") != "ready" or info.get("call"):
                    problems.append(f"seat {s} is {info.get('st')!r} with call {info.get('call')!r}")
            for sid in sids:
                c = await redis.hgetall(keys.call(sid))
                if (c.get("st"), c.get("out")) != ("ended", "answered"):
                    problems.append(f"call {sid} is {c.get('st')!r}/{c.get('out')!r}")
            if not problems:
                break
            await asyncio.sleep(SWEEP)
        healed = time.monotonic() - back
        assert problems == [], problems
        cnt = await counters(redis, keys)
        assert (cnt["offered"], cnt["answered"], cnt.get("abandoned", 0)) == (len(sids), len(sids), 0), cnt
        assert await redis.zcard(keys.live()) == 0, "every call has one outcome and is over"
        assert await violations(redis, keys) == []
        for uv in hosts:
            assert "Traceback" not in uv.log_tail(100_000), uv.log_tail()
        print(f"\n[faults] Redis away {away:.1f} s while {len(sids)} talks ended on two workers: "
              f"healed {healed * 1000:.0f} ms after it came back")
    finally:
        await redis.aclose()
