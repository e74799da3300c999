"""The minimal one-script webhooks the benchmark compares the service against (issue 14).

Mounted only with ``IVR_BENCH_ENDPOINT=true``. ``POST /voice/min`` does what any webhook
backed by Redis must: read the form body, run one script by its SHA through redis-py's
asyncio client, and answer fixed TwiML, as a FastAPI route. It is the floor the real
``/voice/incoming`` is measured against in ``bench/bench_webhook.py``; what the real
webhook costs above it is the service's own work (signature, routing, ACD script,
rendering). ``POST /voice/min-asgi`` (``MinimalAsgi``) does the same work as plain ASGI,
the way the voice webhooks are served (``ivr.web.hooks.Webhooks``): the floor without
FastAPI's per-request routing and request handling.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ivr.web.services import Services

MIN_TWIML = ('<?xml version="1.0" encoding="UTF-8"?><Response><Say>ok</Say>'
             '<Redirect method="POST">/voice/min</Redirect></Response>')
# KEYS[1] the call's hash (keys.py Keys.call); ARGV[1] the time in ms.
# Writes one field with a one-minute expiry; returns 1.
MIN_SCRIPT = ("redis.call('HSET', KEYS[1], 'bench', ARGV[1]) "
              "redis.call('PEXPIRE', KEYS[1], 60000) return 1")
ASGI_PATH = "/voice/min-asgi"


async def _one_script(app: Any, body: bytes) -> Response:
    """Parse the form, run one EVALSHA, answer fixed TwiML."""
    svc: Services = app.state.services
    acd = svc.store()
    script = getattr(app.state, "min_script", None)
    if script is None:
        script = app.state.min_script = acd.redis.register_script(MIN_SCRIPT)
    form = dict(parse_qsl(body.decode("utf-8", "replace")))
    await script(keys=[acd.keys.call(form.get("CallSid", "none"))],
                 args=[int(svc.clock.now() * 1000)])
    return Response(MIN_TWIML, media_type="application/xml")


async def minimal(request: Request) -> Response:
    """Parse the form, run one EVALSHA, answer fixed TwiML (a FastAPI route)."""
    return await _one_script(request.app, await request.body())


class MinimalAsgi:
    """``POST /voice/min-asgi``: what ``minimal`` does, as plain ASGI in front of the router."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer POST /voice/min-asgi; pass anything else on."""
        if scope["type"] != "http" or scope["path"] != ASGI_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        response = await _one_script(scope["app"], b"".join(chunks))
        await response(scope, receive, send)
