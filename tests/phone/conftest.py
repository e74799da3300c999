from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ivr.clock import ManualClock
from ivr.core.config import CenterConfig
from ivr.phone.call import SPOKEN, Caller, CallEvent, CallSession, CallSpec, Listener
from ivr.phone.callers import ScriptedCaller
from ivr.phone.runtime import VirtualTime
from ivr.phone.seats import Behaviour, SeatAgent, fixed
from ivr.phone.service import LocalService, TimerSweeper, local_service, scratch_settings
from ivr.phone.switchboard import Switchboard
from ivr.settings import Settings
from ivr.store.invariants import violations

ROOT = Path(__file__).resolve().parents[2]
CALLER = "+8613812345678"


@pytest.fixture
def phone_settings(redis_url: str) -> Settings:
    return Settings(redis_url=redis_url, config_dir=ROOT, twilio_auth_token="test-token-123",
                    seat_secret="test-seat-secret")


@dataclass
class Rig:
    """The in-process service on a virtual clock, with simulated seats and callers."""

    ls: LocalService
    clock: ManualClock
    rt: VirtualTime
    sweeper: TimerSweeper
    board: Switchboard = field(default_factory=Switchboard)
    events: list[tuple[str, CallEvent]] = field(default_factory=list)

    @property
    def t(self) -> float:
        return self.clock.now() - 1_800_000_000.0

    def seat(self, seat: str, talk: float | None = 60.0, ring: float = 2.0,
             no_answer: float = 0.0, back: float = 30.0) -> SeatAgent:
        cfg = self.ls.svc.config.roster
        conf = next(s for s in cfg.seats if s.id == seat)
        wrap = max(cfg.queue(q).wrapup_seconds for q in conf.queues)
        agent = SeatAgent(seat, self.ls.seats, self.rt,
                          Behaviour(talk=fixed(talk), ring_seconds=ring, no_answer=no_answer,
                                    back_after_miss=back),
                          random.Random(seat), conf.queues, wrap)
        self.board.register(conf.endpoint, agent)
        return agent

    def call(self, to: str, caller: Caller | None = None, sid: str = "") -> CallSession:
        def record(call: CallSession, e: CallEvent) -> None:
            self.events.append((call.sid, e))

        listeners: list[Listener] = [record]
        spec = CallSpec(to, CALLER, self.ls.url("/voice/incoming"), self.ls.url("/voice/status"))
        call = CallSession(spec, self.ls.twilio, self.rt, caller or ScriptedCaller(), self.board,
                           self.ls.control, SPOKEN, listeners)
        if sid:
            call.sid = sid
        return call

    async def start(self, *coros: object) -> None:
        for coro in coros:
            self.rt.spawn(coro)  # type: ignore[arg-type]
        await self.rt.settle()

    async def run(self, seconds: float | None = None) -> None:
        horizon = None if seconds is None else self.clock.now() + seconds
        await self.rt.run_until(horizon, self.sweeper.after_event)

    def kinds(self, sid: str) -> list[str]:
        return [e.kind for s, e in self.events if s == sid]

    def of(self, sid: str, kind: str) -> list[CallEvent]:
        return [e for s, e in self.events if s == sid and e.kind == kind]

    async def state(self, sid: str) -> dict[str, str]:
        return await self.ls.svc.store().call_info(sid)

    async def seat_state(self, seat: str) -> str:
        return (await self.ls.svc.store().seat_info(seat)).get("st", "")

    async def violations(self) -> list[str]:
        acd = self.ls.svc.store()
        return await violations(acd.redis, acd.keys)


@pytest.fixture
async def rig(phone_settings: Settings, base_config: CenterConfig) -> AsyncIterator[Rig]:
    clock = ManualClock(1_800_000_000.0)
    local = scratch_settings(phone_settings, phone_settings.redis_url or "", "tcall")
    async with local_service(local, clock=clock, config=base_config, sweeper=False,
                             direct=True) as ls:
        rt = VirtualTime(clock)
        yield Rig(ls, clock, rt, TimerSweeper(ls.svc, rt))
        rt.cancel_all()
