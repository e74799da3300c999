"""``create_app(settings)``: the one place that wires the service together.

Nothing is created at import time. The lifespan connects Redis (or starts the
embedded one), syncs the configured queues and seats into it, and runs the sweeper
that fires due timers (wrap-up ends, skill widening, overflow, stale reservations).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from redis.asyncio import BlockingConnectionPool, Redis

from ivr.clock import Clock, SystemClock
from ivr.configfiles import load
from ivr.core.config import CenterConfig
from ivr.settings import Settings
from ivr.store.acd import Acd
from ivr.store.connection import open_server
from ivr.telephony.rest import CallControl, NullCallControl, TwilioCallControl
from ivr.telephony.signature import SignatureChecker
from ivr.web import health, monitor, seats, voice
from ivr.web.services import Services

log = logging.getLogger("ivr")


def _call_control(settings: Settings) -> CallControl:
    if settings.rest_enabled and settings.twilio_account_sid:
        return TwilioCallControl(settings.twilio_account_sid, settings.twilio_auth_token)
    return NullCallControl()


async def sweep_once(svc: Services) -> int:
    """Fire the timers due now and pull out calls that got a seat; returns timers fired."""
    res = await svc.store().tick()
    await svc.redirect(res.get("redirect", []))
    return int(res.get("n", 0))


async def sweep_forever(svc: Services) -> None:
    """Fire due timers every ``sweep_interval_seconds``; survive Redis outages."""
    while True:
        try:
            await sweep_once(svc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis down: try again next round
            log.warning("sweeper: %s", exc)
        await asyncio.sleep(svc.settings.sweep_interval_seconds)


def create_app(settings: Settings, *, clock: Clock | None = None,
               call_control: CallControl | None = None,
               config: CenterConfig | None = None, sweeper: bool = True) -> FastAPI:
    """The service: routers, Redis, config and background duties, from settings."""
    svc = Services(
        settings=settings,
        config=config or load(settings.config_dir),
        clock=clock or SystemClock(),
        control=call_control or _call_control(settings),
        checker=SignatureChecker(settings.twilio_auth_token, settings.public_base_url,
                                 settings.validate_signatures),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server = open_server(settings.redis_url, settings.data_dir)
        pool = BlockingConnectionPool.from_url(
            server.url, decode_responses=True, max_connections=settings.redis_max_connections,
            timeout=settings.redis_timeout_seconds, socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds)
        redis = Redis.from_pool(pool)
        svc.acd = Acd(redis, settings.center, svc.clock, settings.call_retention_seconds,
                      resv_margin_seconds=settings.hold_loop_seconds + 30,
                      short_abandon_seconds=settings.short_abandon_seconds)
        try:
            await svc.redirect(await svc.acd.sync_config(svc.config))
        except Exception as exc:  # start anyway: webhooks answer with the apology
            log.error("could not sync config into Redis at start: %s", exc)
        task = asyncio.create_task(sweep_forever(svc)) if sweeper else None
        try:
            yield
        finally:
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await redis.aclose()
            server.close()

    app = FastAPI(
        title="12345 hotline call routing",
        version="0.1.0",
        description="Twilio webhooks, seat API and ACD for a unified 12345 hotline center.",
        lifespan=lifespan,
    )
    app.state.services = svc
    app.include_router(voice.router)
    app.include_router(seats.router)
    app.include_router(health.router)
    app.include_router(monitor.router)
    if settings.bench_endpoint:
        app.add_api_route("/voice/bare", health.bare, methods=["POST"], include_in_schema=False)
    return app
