"""Voice webhooks go straight from ASGI to their handler (``hooks.Webhooks``), answering
exactly what FastAPI's route for the same path answers; anything else still reaches FastAPI."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import httpx

from ivr.web.hooks import ROUTES, Webhooks
from ivr.web.services import Services
from tests.conftest import BASE, Phone

CALL = {"CallSid": "CAdispatch1", "From": "+8613800138000", "To": "12328"}


def _dispatcher(app: Any) -> Webhooks:
    layer = app.middleware_stack or app.build_middleware_stack()
    app.middleware_stack = layer
    while not isinstance(layer, Webhooks):
        layer = layer.app
    return layer


def _same(a: httpx.Response, b: httpx.Response) -> None:
    assert (a.status_code, a.headers.get("content-type"), a.headers.get("content-length"),
            a.content) == (b.status_code, b.headers.get("content-type"),
                           b.headers.get("content-length"), b.content)


async def test_every_documented_voice_webhook_is_dispatched(app_env: dict[str, Any]) -> None:
    paths = [p for p in app_env["app"].openapi()["paths"] if p.startswith(("/voice/", "/jambonz/"))]
    webhooks = [p for p in paths if not p.endswith("/fallback")]
    assert len(webhooks) >= 14
    assert set(webhooks) <= set(ROUTES), set(webhooks) - set(ROUTES)


async def test_direct_answers_equal_fastapi_route_answers(app_env: dict[str, Any], phone: Phone,
                                                          svc: Services) -> None:
    dispatcher = _dispatcher(app_env["app"])
    assert (await phone.post("/voice/incoming", True, **CALL)).status_code == 200
    wait = "/voice/wait?lang=zh-CN&loop=1&pos=1"
    requests = [(wait, True, {"CallSid": CALL["CallSid"]}),
                (wait, False, {"CallSid": CALL["CallSid"]}),  # unsigned: 403
                ("/voice/wait?lang=xx&loop=zz", True, {"CallSid": CALL["CallSid"]}),  # bad query
                ("/voice/status", True, {"CallSid": "CAunknown", "CallStatus": "ringing"}),
                ("/voice/gather?ln=12328&f=nope", True, {})]  # no CallSid: the apology
    for path, sign, params in requests:
        direct = await phone.post(path, sign=sign, **params)
        dispatcher.routes = {}  # turned off: FastAPI's route answers
        try:
            routed = await phone.post(path, sign=sign, **params)
        finally:
            dispatcher.routes = ROUTES
        _same(direct, routed)
    # a GET is not a webhook: FastAPI still answers it (method not allowed)
    assert (await phone.client.get(f"{BASE}/voice/wait")).status_code == 405


async def test_a_body_in_several_chunks_is_read_whole(app_env: dict[str, Any], svc: Services) -> None:
    body = urlencode(CALL).encode()
    path = "/voice/incoming"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "https", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "client": ("127.0.0.1", 1), "server": ("ivr.test", 443),
             "headers": [(b"host", b"ivr.test"),
                         (b"content-type", b"application/x-www-form-urlencoded"),
                         (b"x-twilio-signature", svc.checker.sign(BASE + path, CALL).encode())]}
    chunks = [body[:7], body[7:20], body[20:]]

    async def receive() -> dict[str, Any]:
        if not chunks:
            await asyncio.sleep(3600)
        part = chunks.pop(0)
        return {"type": "http.request", "body": part, "more_body": bool(chunks)}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app_env["app"](scope, receive, send)
    assert sent[0]["status"] == 200
    assert b"<Redirect" in sent[1]["body"]
    assert (await svc.store().call_info(CALL["CallSid"])).get("st") == "waiting"


async def test_a_client_gone_before_its_body_changes_nothing(app_env: dict[str, Any],
                                                             svc: Services) -> None:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "https", "path": "/voice/incoming", "raw_path": b"/voice/incoming",
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1),
             "server": ("ivr.test", 443), "headers": [(b"host", b"ivr.test")]}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app_env["app"](scope, receive, send)
    assert sent == []
    assert await svc.store().call_info(CALL["CallSid"]) == {}
