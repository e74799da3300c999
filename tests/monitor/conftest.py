"""A real uvicorn server on a free loopback port (browsers and SSE clients need one)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from redis import Redis

from ivr.app import create_app
from ivr.clock import ManualClock
from ivr.core.config import CenterConfig
from ivr.settings import Settings
from ivr.store.keys import Keys
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import BASE


def monitor_headers(settings: Settings) -> dict[str, str]:
    """The Authorization header of the monitor role, when a token is configured."""
    token = settings.monitor_token.split(",")[0].strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture
async def mclient(app_env: dict[str, Any], settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the in-process app that carries the monitor token."""
    transport = httpx.ASGITransport(app=app_env["app"])
    async with httpx.AsyncClient(transport=transport, base_url=BASE,
                                 headers=monitor_headers(settings)) as client:
        yield client


@dataclass
class LiveServer:
    """A running service: its URL, its Services and a client for signed webhooks."""

    url: str
    svc: Services
    clock: ManualClock
    client: httpx.Client

    def webhook(self, path: str, **params: str) -> httpx.Response:
        """POST a webhook signed for the public URL, as Twilio would, to the real server."""
        sig = self.svc.checker.sign(BASE + path, params)
        resp = self.client.post(self.url + path, data=params,
                                headers={"X-Twilio-Signature": sig})
        assert resp.status_code == 200, resp.text
        return resp


@pytest.fixture
def live_server(settings: Settings, clock: ManualClock, control: RecordingCallControl,
                base_config: CenterConfig, redis_url: str) -> Iterator[LiveServer]:
    app = create_app(settings, clock=clock, call_control=control, config=base_config,
                     sweeper=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", lifespan="on",
                            timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "server did not start"
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(timeout=10) as client:
        yield LiveServer(url, app.state.services, clock, client)
    server.should_exit = True
    thread.join(15)
    sock.close()
    assert not thread.is_alive(), "server did not stop"
    redis = Redis.from_url(redis_url)
    keys = list(redis.scan_iter(match=Keys(settings.center).pattern()))
    if keys:
        redis.delete(*keys)
    redis.close()
