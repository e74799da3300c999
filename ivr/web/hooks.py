"""Plumbing of the voice webhooks: dialect, signature check, parsing, always-a-document answers.

The webhooks are the hot path, so they skip FastAPI's parameter machinery: a handler
receives the parsed request (``Hook``) and returns a call document (``Doc``).
``VoiceRouter`` registers it once per dialect: under ``/voice`` for Twilio and under
``/jambonz`` for jambonz (documented in the OpenAPI schema). The path picks the dialect,
which checks the request's signature against the public URL (403 otherwise, nothing
changed), parses it and renders the answer; handlers never see the dialect, only the
path prefix their own URLs go back to (``Hook.path``). Any failure becomes an apology
and a dial to the backup number, so a caller never hears the platform's error.
A handler gets ``webhook_budget_seconds``; after a Redis failure, webhooks answer the
apology at once for ``redis_breaker_seconds`` (a breaker) instead of queueing on a hung
Redis, then let the next request probe it again.

Our own query values come back in Twilio's requests and may have been tampered with,
so they are checked where the request is parsed (``clean_query``): ``lang``/``lg`` must
be a language of the flows (else dropped, so the handler's default applies), numbers
must be finite, identifiers such as ``room`` must be safe; a value that fails is
dropped, as if absent. Every answer is rendered by the request's dialect.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError, ResponseError
from starlette.datastructures import URL, Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from ivr.core.waiting import APOLOGY
from ivr.telephony import compose
from ivr.telephony.dialect import BY_PREFIX, PREFIXES, Dialect
from ivr.telephony.doc import Doc
from ivr.telephony.signature import form_pairs
from ivr.web.services import Services

log = logging.getLogger("ivr.voice")
LANG_KEYS = frozenset({"lang", "lg"})
INT_KEYS = frozenset({"r", "t", "pr", "loop", "pos"})
FLOAT_KEYS = frozenset({"wd"})
_INT = re.compile(r"^-?[0-9]{1,9}$")
_IDENT = re.compile(r"^[\w.:+@-]{1,128}$")  # ids, numbers, call SIDs, rooms; no controls


def _valid(key: str, value: str, languages: Collection[str]) -> bool:
    if key in LANG_KEYS:
        return value in languages
    if value == "":
        return True
    if key in INT_KEYS:
        return _INT.match(value) is not None
    if key in FLOAT_KEYS:
        try:
            return math.isfinite(float(value))
        except ValueError:
            return False
    return _IDENT.match(value) is not None


def clean_query(query: Mapping[str, str], languages: Collection[str]) -> dict[str, str]:
    """Our own query values that pass their type (language, int, finite float, identifier)."""
    return {k: v for k, v in query.items() if _valid(k, v, languages)}


@dataclass
class Hook:
    """One webhook request: its parameters (Twilio's names), our query, the path prefix."""

    params: dict[str, str]
    query: dict[str, str]
    prefix: str = "/voice"

    @property
    def dialect(self) -> str:
        """The telephony dialect this request came in on (``twilio``, ``jambonz``)."""
        return BY_PREFIX.get(self.prefix, "twilio")

    def path(self, name: str) -> str:
        """The path of webhook ``name`` (``/wait``) on the prefix this request came in on."""
        return self.prefix + name

    def param(self, name: str) -> str:
        """A POST parameter ('' when absent)."""
        return self.params.get(name, "")

    def param_int(self, name: str) -> int:
        """An integer POST parameter; absent or mangled gives 0, never an error."""
        try:
            return int(self.params.get(name) or 0)
        except ValueError:
            return 0

    def arg(self, name: str, default: str = "") -> str:
        """A query parameter of our own URL."""
        return self.query.get(name, default)

    def arg_int(self, name: str, default: int) -> int:
        """An integer query parameter; a mangled one gives the default, never an error."""
        try:
            return int(self.query.get(name, default))
        except ValueError:
            return default

    def arg_float(self, name: str, default: float | None = None) -> float | None:
        """A finite number query parameter; absent, mangled, inf or nan give the default."""
        try:
            value = float(self.query.get(name, ""))
        except ValueError:
            return default
        return value if math.isfinite(value) else default

    def qlang(self, name: str, default: str) -> str:
        """A language query parameter (checked against the flows' languages), else ``default``."""
        return self.query.get(name) or default


Handler = Callable[[Services, Hook], Awaitable[Doc]]
#: Longest call sid accepted (Twilio's are 34 characters, jambonz's 36); the scripts refuse longer.
MAX_SID = 128
#: Handlers of call events (a talk ended, a call ended, a seat answered, ...) that must not be
#: lost while Redis is away: they run even while the breaker is open and keep the event.
EVENTS: set[str] = set()
RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "TwiML (under /voice) or a jambonz verb array (under /jambonz)",
          "content": {"application/xml": {"schema": {"type": "string"}},
                      "application/json": {"schema": {"type": "array"}}}},
    403: {"description": "missing or invalid X-Twilio-Signature / Jambonz-Signature"},
}


def apology(svc: Services, hook: Hook) -> Doc:
    """The apology and the backup line; the backup dial's action is the fallback (hangs up)."""
    return compose.apology(svc.settings.backup_number, svc.url(hook.path("/fallback")))


@dataclass(frozen=True)
class Route:
    """A voice webhook as served: its handler, the dialect of its path and the path prefix."""

    handler: Handler
    dialect: str
    prefix: str


#: Every voice webhook by its full path (``/voice/wait``), for ``Webhooks`` (filled by ``post``).
ROUTES: dict[str, Route] = {}


class VoiceRouter:
    """An APIRouter whose routes are signature-checked, always-a-document voice webhooks."""

    def __init__(self) -> None:
        self.router = APIRouter(tags=["voice"])

    def post(self, path: str, summary: str, event: bool = False) -> Callable[[Handler], Handler]:
        """Register a handler for POST ``path`` in each dialect (``event``: see ``EVENTS``)."""

        def register(handler: Handler) -> Handler:
            if event:
                EVENTS.add(handler.__name__)
            for name, prefix in PREFIXES.items():
                self._add(name, prefix, path, summary, handler)
            return handler

        return register

    def _add(self, name: str, prefix: str, path: str, summary: str, handler: Handler) -> None:
        route = ROUTES[prefix + path] = Route(handler, name, prefix)

        async def endpoint(request: Request) -> Response:
            return await serve(request.app, route, await request.body(), request.scope,
                               request.url.path, lambda: str(request.url))

        endpoint.__doc__ = handler.__doc__
        self.router.add_api_route(prefix + path, endpoint, methods=["POST"],
                                  summary=f"{summary} ({name})", response_class=Response,
                                  responses=RESPONSES, name=f"{handler.__name__}_{name}")


class Webhooks:
    """Plain ASGI in front of the router: a POST to a voice webhook goes straight to ``serve``.

    The same answer as through FastAPI's route (which stays registered, documented, and
    serves anything this does not take: other methods, a ``root_path``), without its
    per-request routing, dependency solving and request object. Sits inside the body limit.
    """

    def __init__(self, app: ASGIApp, routes: Mapping[str, Route] | None = None) -> None:
        self.app = app
        self.routes = ROUTES if routes is None else routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a voice webhook POST; pass anything else on."""
        route = (self.routes.get(scope["path"]) if scope["type"] == "http"
                 and scope["method"] == "POST" and not scope.get("root_path") else None)
        if route is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nobody to answer
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        response = await serve(scope["app"], route, body, scope, scope["path"],
                               lambda: str(URL(scope=scope)))
        await response(scope, receive, send)


def _languages(svc: Services) -> frozenset[str]:
    """The languages a ``lang`` query value may name: the flows' and the apology's (per config)."""
    config = svc.config
    cached = _LANGUAGES.get(id(config))
    if cached is None or cached[0] is not config:
        _LANGUAGES.clear()
        cached = _LANGUAGES[id(config)] = (config, config.flows.languages() | APOLOGY.keys())
    return cached[1]


_LANGUAGES: dict[int, tuple[object, frozenset[str]]] = {}


async def serve(app: Any, route: Route, body: bytes, scope: Scope, path: str,
                request_url: Callable[[], str]) -> Response:
    """Verify, parse, run the handler and render its answer (an apology on any failure)."""
    svc: Services = app.state.services
    name, handler = route.dialect, route.handler
    dialect: Dialect = app.state.dialects[name]
    raw_query = scope.get("query_string", b"")
    query = raw_query.decode("latin-1")
    url = svc.checker.public_url(request_url, path + (f"?{query}" if query else ""))
    params = dialect.read(url, body, Headers(scope=scope))
    if params is None:
        return JSONResponse({"detail": f"invalid or missing {name} signature"
                             if name != "twilio" else "invalid or missing X-Twilio-Signature"},
                            status_code=403)
    hook = Hook(params, clean_query(dict(form_pairs(query)), _languages(svc)) if query else {},
                route.prefix)
    if len(hook.params.get("CallSid", "")) > MAX_SID or (
            svc.breaker.is_open() and handler.__name__ not in EVENTS):
        # a sid no telephony platform sends, or Redis just failed: answer at once (call
        # events still run while the breaker is open: they are kept for later, see events.py)
        return Response(dialect.render(apology(svc, hook)), media_type=dialect.media_type)
    try:
        async with asyncio.timeout(svc.settings.webhook_budget_seconds):
            r = await handler(svc, hook)
    except ResponseError:  # a script refused its arguments or failed: a bug, not an outage
        log.exception("voice webhook %s: a Redis script failed; caller sent to the backup number",
                      handler.__name__)
        r = apology(svc, hook)
    except (RedisError, TimeoutError) as exc:
        svc.breaker.trip()
        log.warning("voice webhook %s: Redis failed (%s); caller sent to the backup number",
                    handler.__name__, type(exc).__name__)
        r = apology(svc, hook)
    except Exception:
        log.exception("voice webhook %s failed; caller sent to the backup number",
                      handler.__name__)
        r = apology(svc, hook)
    return Response(dialect.render(r), media_type=dialect.media_type)
