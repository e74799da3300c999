"""A jambonz REST endpoint on loopback (real uvicorn, real HTTP) that records its requests.

It answers as jambonz's API does: ``POST .../Calls`` 201 ``{"sid"}``, ``PUT .../Calls/{sid}``
202, ``GET .../Calls/{sid}`` 200 with ``call_status`` (from ``statuses``, else 404).
``fail`` makes every request fail (500 / 404).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class FakeJambonz:
    """A jambonz REST endpoint on loopback (uvicorn) that records what it is sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any], str]] = []
        self.statuses: dict[str, str] = {}
        self.fail = False
        app = Starlette(routes=[
            Route("/v1/Accounts/{acct}/Calls", self._create, methods=["POST"]),
            Route("/v1/Accounts/{acct}/Calls/{sid}", self._update, methods=["PUT"]),
            Route("/v1/Accounts/{acct}/Calls/{sid}", self._fetch, methods=["GET"]),
        ])
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off", ws="none"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def _create(self, request: Request) -> Response:
        self.requests.append(("POST", request.url.path, await request.json(),
                              request.headers.get("authorization", "")))
        return JSONResponse({"sid": "call-7"}, status_code=500 if self.fail else 201)

    async def _update(self, request: Request) -> Response:
        self.requests.append(("PUT", request.url.path, await request.json(),
                              request.headers.get("authorization", "")))
        return Response(status_code=404 if self.fail else 202)

    async def _fetch(self, request: Request) -> Response:
        sid = request.path_params["sid"]
        self.requests.append(("GET", request.url.path, {}, request.headers.get("authorization", "")))
        if self.fail or sid not in self.statuses:
            return JSONResponse({"msg": "call not found"}, status_code=404)
        return JSONResponse({"call_sid": sid, "call_status": self.statuses[sid]})

    def puts(self) -> list[tuple[str, str]]:
        """(path, call_hook url) of every redirect received."""
        return [(p, b["call_hook"]["url"]) for m, p, b, _ in self.requests if m == "PUT"]

    def posts(self) -> list[dict[str, Any]]:
        """Bodies of the calls placed."""
        return [b for m, _, b, _ in self.requests if m == "POST"]


@pytest.fixture
def fake_jambonz() -> Iterator[FakeJambonz]:
    fake = FakeJambonz()
    fake.thread.start()
    deadline = time.monotonic() + 10
    while not fake.server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert fake.server.started
    yield fake
    fake.server.should_exit = True
    fake.thread.join(timeout=10)
