"""``create_app(settings)``: the one place that wires the service together.

Nothing is created at import time. The lifespan connects Redis (or starts the
embedded one), loads the config from Redis (seeding it from the YAML folders on the
very first start), syncs queues and seats into the ACD, and runs two background
duties in every worker: the sweeper that fires due timers (wrap-up ends, skill
widening, overflow, stale reservations) and the config watcher that swaps in a new
config version within a second of its publication.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ivr.archive.service import ArchiveService
from ivr.clock import Clock, SystemClock
from ivr.config import load
from ivr.core.config import CenterConfig
from ivr.settings import Settings
from ivr.store.acd import Acd
from ivr.store.config import ConfigStore
from ivr.store.connection import make_client, open_server
from ivr.store.journal import OUTAGE, Journal
from ivr.telephony.jambonz_rest import JambonzCallControl
from ivr.telephony.rest import CallControl, NullCallControl, TwilioCallControl
from ivr.telephony.signature import SignatureChecker
from ivr.web import (
    admin,
    admin_flows,
    benchmark,
    fallback,
    health,
    monitor,
    rates,
    reports,
    seats,
    voice,
    voice_service,
)
from ivr.web.config import reload_config
from ivr.web.fallback import Fallback, dialects
from ivr.web.hooks import Webhooks
from ivr.web.roles import TokenBook
from ivr.web.services import Services, StoreUnavailable

log = logging.getLogger("ivr")


def _call_control(settings: Settings) -> CallControl:
    if settings.rest_enabled and settings.twilio_account_sid:
        return TwilioCallControl(settings.twilio_account_sid, settings.twilio_auth_token)
    return NullCallControl()


def _jambonz_control(settings: Settings, given: CallControl | None,
                     shared: CallControl | None) -> CallControl:
    """The jambonz REST API: ``given``, else from settings, else ``shared``, else none.

    ``shared``: a double passed as ``call_control`` (tests) serves every dialect.
    """
    if given is not None:
        return given
    if settings.jambonz_rest_enabled and settings.jambonz_api_url and settings.jambonz_account_sid:
        status = (settings.public_base_url or "").rstrip("/") + "/jambonz/status"
        return JambonzCallControl(settings.jambonz_api_url, settings.jambonz_account_sid,
                                  settings.jambonz_api_key, status_url=status)
    return shared if shared is not None else NullCallControl()


async def sweep_once(svc: Services) -> int:
    """Apply events kept in an outage, fire due timers, pull out calls that got a seat.

    Returns the number of timers fired.
    """
    await svc.replay()
    res = await svc.store().tick(stale_seconds=svc.settings.stale_call_seconds)
    await svc.redirect(res.redirect)
    return res.timers


async def sweep_forever(svc: Services) -> None:
    """Fire due timers every ``sweep_interval_seconds``; survive Redis outages.

    Now and then, also check long calls against the platform's own status (``reconcile``).
    """
    next_check = 0.0
    while True:
        try:
            await sweep_once(svc)
            if svc.clock.now() >= next_check:
                next_check = svc.clock.now() + svc.settings.reconcile_every_seconds / 2
                await svc.reconcile()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis down: try again next round
            log.warning("sweeper: %s", exc)
        await asyncio.sleep(svc.settings.sweep_interval_seconds)


async def _stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel background duties until they are done.

    A cancellation that lands inside a redis-py call can be swallowed there, so one
    ``cancel()`` is not always enough: cancel again until each task has ended.
    """
    for task in tasks:
        while not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=0.5)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()


class BodyTooLarge(HTTPException):
    """A request body went over ``IVR_MAX_BODY_BYTES`` while it was being read."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body over {max_bytes} bytes",
                         headers={"Connection": "close"})


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 (plain ASGI: no per-request task).

    A declared Content-Length over the limit is refused before the app runs. Every body
    (also a chunked one, which declares no length) is counted as it streams in: at the
    first byte over the limit, reading stops and the client gets 413 with
    ``Connection: close``, whatever the app would have answered; the rest is never read.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, detail: str) -> None:
        await JSONResponse({"detail": detail}, status_code=413,
                           headers={"Connection": "close"})(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length, then pass the request on with its body counted."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size = dict(scope["headers"]).get(b"content-length")
        if size is not None and (not size.isdigit() or int(size) > self.max_bytes):
            await self._refuse(scope, receive, send, f"request body over {self.max_bytes} bytes"
                               if size.isdigit() else "invalid Content-Length")
            return
        received, over, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, over
            if over:
                raise BodyTooLarge(self.max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if over:  # whatever the app answers (an apology, say): 413 goes out instead
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except BodyTooLarge:
            if started:
                raise
        if over and not started:
            await self._refuse(scope, receive, send, f"request body over {self.max_bytes} bytes")


def create_app(settings: Settings, *, clock: Clock | None = None,
               call_control: CallControl | None = None,
               config: CenterConfig | None = None, sweeper: bool = True,
               jambonz_control: CallControl | None = None) -> FastAPI:
    """The service: routers, Redis, config and background duties, from settings.

    ``call_control`` stands in for Twilio's REST API and ``jambonz_control`` for jambonz's
    (tests); a ``call_control`` given alone serves both dialects.
    """
    svc = Services(
        settings=settings,
        config=config or load(settings.config_dir),
        clock=clock or SystemClock(),
        control=call_control or _call_control(settings),
        checker=SignatureChecker(settings.twilio_auth_token, settings.public_base_url,
                                 settings.validate_signatures),
        tokens=TokenBook.from_settings(settings),
        journal=Journal(settings.data_dir / "journal"),
    )
    svc.controls = {"twilio": svc.control,
                    "jambonz": _jambonz_control(settings, jambonz_control, call_control)}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server = open_server(settings.redis_url, settings.data_dir)
        svc.breaker.seconds = settings.redis_breaker_seconds
        redis = make_client(server.url, settings, svc.breaker)
        svc.acd = Acd(redis, settings.center, svc.clock, settings.call_retention_seconds,
                      resv_margin_seconds=settings.hold_loop_seconds + 30,
                      short_abandon_seconds=settings.short_abandon_seconds,
                      rate_limit=(settings.rate_limit_calls, settings.rate_limit_window_seconds),
                      watchdog_seconds=max(settings.hold_watchdog_seconds,
                                           3 * settings.hold_loop_seconds + 30),
                      event_cap=settings.archive_stream_cap if settings.archive else 0)
        svc.cfgstore = ConfigStore(redis, svc.acd.keys, svc.clock)
        try:
            await reload_config(svc)
        except OUTAGE as exc:  # start anyway: webhooks answer with the apology
            log.warning("could not load config from Redis at start (using the files): %s", exc)
        except Exception:  # a bug, not an outage: said loudly, and the files still serve
            log.exception("could not load config from Redis at start (using the files)")
        tasks = [asyncio.create_task(svc.cfgstore.watch(lambda: svc.config.version,
                                                        lambda: reload_config(svc)))]
        if sweeper:
            tasks.append(asyncio.create_task(sweep_forever(svc)))
        app.state.archive = ArchiveService(settings, server.url)
        await app.state.archive.start()
        try:
            yield
        finally:
            await _stop(tasks)
            await app.state.archive.stop()
            svc.journal.close()
            jambonz = svc.controls["jambonz"]
            if isinstance(jambonz, JambonzCallControl) and jambonz is not jambonz_control:
                await jambonz.aclose()
            await redis.aclose()
            server.close()

    app = FastAPI(
        title="12345 hotline call routing",
        version="0.1.0",
        description="Twilio webhooks, seat API, admin API and ACD for a unified 12345 hotline.",
        lifespan=lifespan,
        # closed unless IVR_PUBLIC_DOCS (open by default in development only)
        docs_url="/docs" if settings.docs_open else None,
        redoc_url="/redoc" if settings.docs_open else None,
        openapi_url="/openapi.json" if settings.docs_open else None,
    )
    app.state.services = svc
    app.state.dialects = dialects(settings, svc.checker, svc.controls, svc.config.speech)
    app.state.fallback = Fallback(settings, svc.checker, app.state.dialects)

    async def store_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("%s %s: Redis unavailable: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": "the call store (Redis) is unavailable; try again shortly"},
                            status_code=503, headers={"Retry-After": "2"})

    for exc_type in (RedisError, StoreUnavailable):
        app.add_exception_handler(exc_type, store_down)

    if settings.bench_endpoint:  # the benchmark's plain-ASGI floor (POST /voice/min-asgi)
        app.add_middleware(benchmark.MinimalAsgi)
    app.add_middleware(Webhooks)  # voice webhooks straight to their handler, inside the limit
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.bench_endpoint:  # first, so route matching costs it nothing extra
        app.add_api_route("/voice/bare", health.bare, methods=["POST"], include_in_schema=False)
        app.add_api_route("/voice/min", benchmark.minimal, methods=["POST"], include_in_schema=False)
    for module in (voice, voice_service, fallback, seats, admin, admin_flows, monitor, rates, reports,
                   health):
        app.include_router(module.router)
    return app
