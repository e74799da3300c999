"""Hundreds of simultaneous arrivals and seat events; afterwards every invariant holds."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ivr.app import create_app
from ivr.clock import ManualClock
from ivr.core.config import CenterConfig, build
from ivr.core.roster import Roster, Seat
from ivr.settings import Settings
from ivr.store.invariants import violations
from ivr.store.keys import Keys
from ivr.telephony.rest import RecordingCallControl
from ivr.web.services import Services
from tests.conftest import BASE, Phone

LINES = ["12345", "12328", "12315", "12358", "12366", "12360", "+8699999"]
SKILLS = [[], ["12328"], ["12315", "12358"], ["12328", "12315"]]


def big_config(base: CenterConfig, pool_seats: int = 40) -> CenterConfig:
    seats = [Seat(id=f"x{i:03d}", endpoint=f"client:x{i:03d}", queues=("pool",),
                  skills=tuple(SKILLS[i % len(SKILLS)])) for i in range(pool_seats)]
    seats += [s for s in base.roster.seats if not s.queues[0] == "pool"]
    roster = Roster(queues=base.roster.queues, seats=tuple(seats), schedules=base.roster.schedules)
    flows = {fid: base.flows.latest(fid) for fid in base.flows.current}
    return build(base.plan, flows, roster)


@pytest.fixture
async def big(settings: Settings, base_config: CenterConfig) -> AsyncIterator[dict[str, Any]]:
    clock = ManualClock()
    app = create_app(settings, clock=clock, call_control=RecordingCallControl(),
                     config=big_config(base_config), sweeper=False)
    async with app.router.lifespan_context(app):
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE,
                                     limits=limits) as client:
            svc: Services = app.state.services
            yield {"svc": svc, "phone": Phone(client, svc), "clock": clock}
            keys = [k async for k in svc.store().redis.scan_iter(match=Keys(settings.center).pattern())]
            if keys:
                await svc.store().redis.delete(*keys)


async def test_storm_of_arrivals_and_seat_events_keeps_invariants(big: dict[str, Any]) -> None:
    svc: Services = big["svc"]
    phone: Phone = big["phone"]
    clock: ManualClock = big["clock"]
    rng = random.Random(7)
    seats = [s.id for s in svc.config.roster.seats]
    n_calls = 300

    async def arrive(i: int) -> None:
        await phone.twiml("/voice/incoming", CallSid=f"CA{i:04d}", From=f"+86138{i:08d}",
                          To=rng.choice(LINES))

    # arrivals and logins interleaved, all at once
    jobs = [arrive(i) for i in range(n_calls)] + [phone.seat(s, "login") for s in seats]
    rng.shuffle(jobs)
    await asyncio.gather(*jobs)
    assert await violations(svc.store().redis, svc.store().keys) == []

    # a second wave: answers, hang-ups, no-answers, breaks and readies, all at once
    async def settle(i: int) -> None:
        sid = f"CA{i:04d}"
        info = await svc.store().call_info(sid)
        roll = rng.random()
        if info.get("st") == "offered":
            seat = info["seat"]
            if roll < 0.7:
                await phone.twiml(f"/voice/seat-answered?call={sid}&seat={seat}", CallSid="CAc")
                await phone.twiml(f"/voice/dial-done?seat={seat}", CallSid=sid,
                                  DialCallStatus="completed", DialCallDuration="30")
            else:
                await phone.twiml(f"/voice/dial-done?seat={seat}", CallSid=sid,
                                  DialCallStatus="no-answer", DialCallDuration="0")
        elif roll < 0.3:
            await phone.twiml("/voice/status", CallSid=sid, CallStatus="completed")
        await phone.twiml("/voice/wait", CallSid=sid)

    async def seat_churn(seat: str) -> None:
        for action in rng.sample(["ready", "break", "ready", "logout", "login"], 3):
            await phone.seat(seat, action)

    clock.advance(15)
    jobs2 = [settle(i) for i in range(n_calls)] + [seat_churn(s) for s in seats]
    rng.shuffle(jobs2)
    await asyncio.gather(*jobs2)
    assert await violations(svc.store().redis, svc.store().keys) == []

    # let every wrap-up end and every seat come back; everything must still hold
    for s in seats:
        await phone.seat(s, "login")
        await phone.seat(s, "ready")
    clock.advance(120)
    from ivr.app import sweep_once
    await sweep_once(svc)
    assert await violations(svc.store().redis, svc.store().keys) == []

    # every call is in exactly one state, and the counters add up
    states: dict[str, int] = {}
    for i in range(n_calls):
        st = (await svc.store().call_info(f"CA{i:04d}"))["st"]
        states[st] = states.get(st, 0) + 1
    assert sum(states.values()) == n_calls
    outcomes = [(await svc.store().call_info(f"CA{i:04d}")).get("out") for i in range(n_calls)]
    assert "rate_limited" not in outcomes
    holders = [(await svc.store().seat_info(s)).get("call") for s in seats]
    busy = [c for c in holders if c]
    assert len(busy) == len(set(busy)), "a call is held by two seats"
    assert states.get("offered", 0) + states.get("talking", 0) == len(busy)
