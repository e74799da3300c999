"""Place one call through the service: what ``ivr call`` does, as a function.

:func:`place_call` plays Twilio (or jambonz, ``dialect``) toward the in-process app (httpx ``ASGITransport``
and the app's lifespan, on a scratch center) or toward a running server (``url``),
with a scripted caller or the keyboard, optional demo seats, and in wall-clock or
virtual time (``fast``). Ctrl-C hangs up; a second Ctrl-C gives up at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

from ivr.clock import ManualClock
from ivr.config import load
from ivr.core.config import CenterConfig
from ivr.core.errors import ConfigError
from ivr.phone.call import SPOKEN, Caller, CallEvent, CallSession, CallSpec, Input, Timing
from ivr.phone.callers import ScriptedCaller
from ivr.phone.demo import demo_seat_ids
from ivr.phone.jambonz import Jambonz
from ivr.phone.runtime import RealTime, Runtime, VirtualTime
from ivr.phone.seats import Behaviour, SeatAgent, fixed
from ivr.phone.service import TimerSweeper, local_service, scratch_redis, scratch_settings
from ivr.phone.switchboard import AutoAnswer, FarEnd, PhoneCallControl, Switchboard
from ivr.phone.terminal import KeyboardCaller, KeyReader, Printer
from ivr.phone.transport import HttpxTransport, Platform, SeatApi, Twilio
from ivr.settings import Settings

FAST_HORIZON = 3600.0  # a virtual-time call with nobody to answer ends after an hour


@dataclass
class CallOptions:
    """Everything ``ivr call`` can be told."""

    number: str
    from_: str = "+8613800138000"
    url: str | None = None
    auth_token: str | None = None
    inputs: list[Input] = field(default_factory=list)
    keyboard: bool = False
    hangup_after: float | None = None
    demo: bool = False
    demo_per_queue: int = 3
    talk: float | None = None
    ring: float = 2.0
    transfer: str = "completed"
    fast: bool = False
    at: float | None = None  # virtual start time (epoch seconds) with ``fast``
    verbose: bool = False
    settings: Settings | None = None
    dialect: str = "twilio"  # the platform the call comes in on: twilio or jambonz


@dataclass
class CallResult:
    """How the call went."""

    session: CallSession
    events: list[CallEvent]
    violations: list[str]

    @property
    def ok(self) -> bool:
        """No application error and no seat rule broken."""
        return not self.session.errors and not self.violations

    def as_json(self) -> dict[str, Any]:
        """The call as JSON data: sid, who hung up, errors and every event."""
        t0 = self.events[0].t if self.events else 0.0
        events = [{**e.as_dict(), "t": round(e.t - t0, 3)} for e in self.events]
        return {"sid": self.session.sid, "to": self.session.spec.to,
                "hung_up_by": self.session.hung_up_by, "errors": self.session.errors,
                "violations": self.violations, "events": events}


@dataclass
class _Line:
    """The pieces a call needs, whichever way the service is reached."""

    twilio: Platform  # Twilio or jambonz: who posts the call's webhooks
    seats: SeatApi
    base: str
    runtime: Runtime
    control: PhoneCallControl | None
    config: CenterConfig | None
    sweeper: TimerSweeper | None = None


def _local_config(settings: Settings) -> CenterConfig | None:
    try:
        return load(settings.config_dir)
    except (ConfigError, OSError):
        return None


@contextlib.asynccontextmanager
async def _connect(opts: CallOptions, settings: Settings) -> AsyncIterator[_Line]:
    if opts.url:
        if opts.fast:
            raise ValueError("--fast needs the in-process service (no --url)")
        base = opts.url.rstrip("/")
        async with httpx.AsyncClient(timeout=20) as client:
            transport = HttpxTransport(client)
            platform: Platform = (
                Jambonz(transport, opts.auth_token or settings.jambonz_webhook_secret)
                if opts.dialect == "jambonz"
                else Twilio(transport, opts.auth_token or settings.twilio_auth_token))
            yield _Line(platform,
                        SeatApi(transport, base, settings.seat_secret), base,
                        RealTime(time.time), None, _local_config(settings))
        return
    with scratch_redis(settings.redis_url) as redis_url:
        local = scratch_settings(settings, redis_url)
        start = opts.at if opts.at is not None else round(time.time())
        clock = ManualClock(start) if opts.fast else None
        async with local_service(local, clock=clock, sweeper=not opts.fast) as ls:
            if clock is not None:
                rt = VirtualTime(clock)
                yield _Line(ls.platform(opts.dialect), ls.seats, ls.base, rt, ls.control,
                            ls.svc.config, TimerSweeper(ls.svc, rt))
            else:
                yield _Line(ls.platform(opts.dialect), ls.seats, ls.base, RealTime(time.time),
                            ls.control, ls.svc.config)


def _agents(opts: CallOptions, line: _Line, board: Switchboard) -> list[SeatAgent]:
    if not opts.demo or line.config is None:
        return []
    talk = opts.talk if opts.talk is not None or opts.keyboard else 10.0
    behaviour = Behaviour(talk=fixed(talk), ring_seconds=opts.ring)
    agents = []
    for sid in demo_seat_ids(line.config, opts.demo_per_queue):
        seat = next(s for s in line.config.roster.seats if s.id == sid)
        wrap = max(line.config.roster.queue(q).wrapup_seconds for q in seat.queues)
        agent = SeatAgent(sid, line.seats, line.runtime, behaviour,
                          random.Random(sid),  # noqa: S311 (simulated seats, reproducible)
                          seat.queues, wrap)
        board.register(seat.endpoint, agent)
        agents.append(agent)
    return agents


async def _drive(line: _Line, session: CallSession, agents: list[SeatAgent]) -> None:
    rt = line.runtime
    if isinstance(rt, VirtualTime):
        for agent in agents:
            rt.spawn(agent.login())
        await rt.settle()
        rt.spawn(session.run())
        await rt.settle()
        after = line.sweeper.after_event if line.sweeper else None
        await rt.run_until(None, after)
        rt.cancel_all()
        return
    for agent in agents:
        await agent.login()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    presses = 0

    def on_sigint() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            session.hang_up()
        elif task is not None:
            task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    try:
        await session.run()
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        if line.control is None:  # a running server: leave no demo seat behind
            for agent in agents:
                await agent.logout()


async def place_call(opts: CallOptions, out: TextIO | None = None) -> CallResult:
    """Make the call described by ``opts``; print it to ``out`` as it happens."""
    settings = opts.settings or Settings()
    events: list[CallEvent] = []
    async with _connect(opts, settings) as line:
        board = Switchboard(softphone=AutoAnswer(opts.ring, opts.talk if opts.keyboard
                                                 else (opts.talk or 10.0)),
                            number=FarEnd(opts.transfer))
        agents = _agents(opts, line, board)
        names = {s.endpoint: s.name for s in line.config.roster.seats} if line.config else {}
        listeners: list[Any] = [lambda call, e: events.append(e)]
        if out is not None:
            listeners.append(Printer(out, names, opts.verbose))
        keys = KeyReader(sys.stdin) if opts.keyboard else None
        caller: Caller = (KeyboardCaller(keys, out or sys.stdout) if keys is not None
                          else ScriptedCaller(list(opts.inputs)))
        timing = SPOKEN if isinstance(line.runtime, VirtualTime) else Timing()
        prefix = line.base + line.twilio.prefix  # /voice (Twilio) or /jambonz
        spec = CallSpec(opts.number, opts.from_, prefix + "/incoming", prefix + "/status")
        session = CallSession(spec, line.twilio, line.runtime, caller, board, line.control,
                              timing, listeners)
        horizon = opts.hangup_after
        if horizon is None and opts.fast:
            horizon = FAST_HORIZON
        if horizon is not None:
            line.runtime.call_later(horizon, session.hang_up)
        with keys.active() if keys is not None else contextlib.nullcontext():
            await _drive(line, session, agents)
    return CallResult(session, events, [v for a in agents for v in a.violations])
