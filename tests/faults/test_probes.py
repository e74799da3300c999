"""Liveness and readiness: /livez never depends on Redis, /readyz says whether Redis answers.

An orchestrator restarts a worker whose liveness fails and stops sending traffic to one
that is not ready. During a Redis outage a worker answers every caller with the apology
and a backup dial, which is right, so it must stay alive (no restart) while not ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ivr.app import create_app
from ivr.clock import SystemClock
from ivr.settings import Settings
from ivr.telephony.rest import RecordingCallControl
from ivr.web.health import READY_TIMEOUT
from ivr.web.services import Services
from tests.conftest import BASE, ROOT, Phone
from tests.faults.conftest import needs_redis
from tests.faults.servers import RedisServer, free_port
from tests.twiml_helpers import verbs

BACKUP = "+861088888888"


def settings_for(url: str, tmp_path: Path, **kw: Any) -> Settings:
    return Settings(redis_url=url, center="h" + uuid.uuid4().hex[:8], data_dir=tmp_path,
                    config_dir=ROOT, public_base_url=BASE, twilio_auth_token="probe-token",
                    backup_number=BACKUP, **kw)


@contextlib.asynccontextmanager
async def phone_for(settings: Settings) -> AsyncIterator[Phone]:
    app = create_app(settings, clock=SystemClock(), call_control=RecordingCallControl(),
                     sweeper=False)
    async with app.router.lifespan_context(app):
        svc: Services = app.state.services
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            yield Phone(client, svc)


async def probes(client: httpx.AsyncClient) -> dict[str, httpx.Response]:
    return {path: await client.get(path) for path in ("/livez", "/readyz", "/healthz")}


def assert_not_ready(got: dict[str, httpx.Response], reason_part: str) -> None:
    assert got["/livez"].status_code == 200, got["/livez"].text
    assert got["/livez"].json() == {"status": "alive"}
    ready = got["/readyz"]
    assert ready.status_code == 503, ready.text
    assert ready.headers["content-type"] == "application/json"
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["redis"] is False
    assert reason_part in body["reason"], body
    assert got["/healthz"].status_code == 503


async def test_probes_with_redis_up(app_env: dict[str, Any]) -> None:
    got = await probes(app_env["client"])
    assert got["/livez"].status_code == 200
    assert got["/livez"].json() == {"status": "alive"}
    assert got["/readyz"].status_code == 200
    assert got["/readyz"].json() == {"status": "ready", "redis": True}
    assert got["/healthz"].status_code == 200
    assert got["/healthz"].json()["redis"] is True


@needs_redis
async def test_redis_stops_and_returns(redis_proc: RedisServer, tmp_path: Path) -> None:
    """Alive throughout; not ready while Redis is down; ready again once it is back."""
    async with phone_for(settings_for(redis_proc.url, tmp_path)) as phone:
        client = phone.client
        assert (await client.get("/readyz")).status_code == 200
        redis_proc.shutdown()
        assert_not_ready(await probes(client), "Redis unreachable")
        # meanwhile callers are answered: the apology and a dial to the backup number
        root = await phone.twiml("/voice/incoming", CallSid="CA1", From="+8613800000000",
                                 To="12345")
        assert "Dial" in verbs(root)
        assert BACKUP in ET.tostring(root, encoding="unicode")
        assert_not_ready(await probes(client), "Redis unreachable")
        redis_proc.start()
        deadline = time.monotonic() + 10
        while (ready := await client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, ready.text
            await asyncio.sleep(0.1)
        assert ready.json() == {"status": "ready", "redis": True}


@needs_redis
async def test_unreachable_from_start(tmp_path: Path) -> None:
    """A worker started while Redis is away is alive (no restart loop) but not ready."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    async with phone_for(settings_for(url, tmp_path)) as phone:
        assert_not_ready(await probes(phone.client), "Redis unreachable")


@pytest.fixture
def frozen(redis_proc: RedisServer) -> Iterator[RedisServer]:
    """The server, to be stopped with SIGSTOP: connections are accepted, nothing answers."""
    try:
        yield redis_proc
    finally:
        assert redis_proc.proc is not None
        os.kill(redis_proc.proc.pid, signal.SIGCONT)


@needs_redis
async def test_hung_redis_answers_within_the_probe_timeout(frozen: RedisServer,
                                                           tmp_path: Path) -> None:
    """A Redis that accepts but never answers: /readyz says so after READY_TIMEOUT, not later.

    The client's own command timeout is set far above the probe's, so only the probe's
    timeout can answer in time.
    """
    settings = settings_for(frozen.url, tmp_path, redis_timeout_seconds=8.0)
    async with phone_for(settings) as phone:
        client = phone.client
        assert (await client.get("/readyz")).status_code == 200
        assert frozen.proc is not None
        os.kill(frozen.proc.pid, signal.SIGSTOP)
        started = time.monotonic()
        ready = await client.get("/readyz")
        took = time.monotonic() - started
        live = await client.get("/livez")
        os.kill(frozen.proc.pid, signal.SIGCONT)
    assert ready.status_code == 503, ready.text
    assert f"within {READY_TIMEOUT:g} s" in ready.json()["reason"]
    assert took < READY_TIMEOUT + 1.0, took
    assert live.status_code == 200
