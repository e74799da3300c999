"""The simulator asserts the invariants while it runs, and each assertion can fail."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from ivr.clock import ManualClock
from ivr.core.config import CenterConfig
from ivr.phone.runtime import VirtualTime
from ivr.phone.seats import SeatAgent
from ivr.phone.service import LocalService, local_service
from ivr.phone.switchboard import Offer
from ivr.phone.transport import Reply
from ivr.settings import Settings
from ivr.sim.checks import Checker
from ivr.sim.engine import Simulation
from ivr.sim.recorder import CallRecord, Recorder
from ivr.sim.scenario import Scenario, with_seats
from ivr.store.keys import BUCKET_SECONDS
from tests.specs.lint import jambonz_findings, twiml_findings


async def test_a_mixed_hour_across_merge_modes_keeps_every_invariant(
        sim_settings: Settings, base_config: CenterConfig) -> None:
    config = with_seats(base_config, {"pool": 10})
    scenario = Scenario(rates={"12345": 70, "12358": 25, "12328": 25, "12366": 30, "12360": 5},
                        hours=1.0, aht=150.0, patience=60.0, ring_seconds=4.0, no_answer=0.1,
                        seed=5, check_every=600.0)
    linted: list[str] = []
    findings: list[tuple[str, list[str]]] = []

    def lint(url: str, reply: Reply) -> None:  # every TwiML answer of the run, as Twilio reads it
        if reply.content_type.startswith("application/xml"):
            linted.append(url)
            if found := twiml_findings(reply.text):
                findings.append((url, found))

    result = await Simulation(scenario, config, sim_settings, inspect=lint).run()
    assert findings == [], findings[:5]
    assert len(linted) > 500, "the lint saw the run's documents"
    assert result.problems == []
    assert result.full_checks >= 7
    assert result.verified == len(result.records) > 100
    outcomes = {r.outcome for r in result.records}
    assert {"answered", "abandoned"} <= outcomes
    assert sum(r.noanswer for r in result.records) > 0, "some seats let calls ring out"
    assert sum(a.missed_calls for a in result.agents) > 0
    assert all(r.ended is not None for r in result.records), "every call ended"
    assert {r.queue for r in result.records if r.answered} == {"pool", "sub-12360"}
    assert {r.queue for r in result.records if r.line == "12366"} == {"pool"}, \
        "00:00-01:00 in Beijing: the 12366 sub-center is closed and overflows to the pool"


async def test_a_jambonz_hour_speaks_only_verbs_the_jambonz_specs_accept(
        sim_settings: Settings, base_config: CenterConfig) -> None:
    config = with_seats(base_config, {"pool": 6})
    scenario = Scenario(rates={"12345": 60, "12328": 20, "12366": 20}, hours=0.5, aht=150.0,
                        patience=60.0, ring_seconds=4.0, no_answer=0.1, seed=8, check_every=600.0)
    linted: list[str] = []
    findings: list[tuple[str, list[str]]] = []

    def lint(url: str, reply: Reply) -> None:  # every verb array of the run, as jambonz reads it
        if reply.content_type.startswith("application/json") and "/jambonz/" in url:
            linted.append(url)
            if found := jambonz_findings(json.loads(reply.text)):
                findings.append((url, found))

    result = await Simulation(scenario, config, sim_settings, dialect="jambonz", inspect=lint).run()
    assert findings == [], findings[:5]
    assert len(linted) > 100, "the lint saw the run's documents"
    assert result.problems == []


async def test_the_same_seed_gives_the_same_run(sim_settings: Settings,
                                                base_config: CenterConfig) -> None:
    scenario = Scenario(rates={"12345": 120, "12328": 40}, hours=0.3, aht=100.0, patience=40.0,
                        seed=9, check_every=3600.0)

    async def run() -> list[tuple[str, str, float | None]]:
        local = sim_settings.model_copy(update={"center": sim_settings.center + "x"})
        result = await Simulation(scenario, base_config, local).run()
        return [(r.sid, r.outcome, r.wait) for r in result.records]

    first = await run()
    sim_settings = sim_settings.model_copy(update={"center": sim_settings.center + "y"})
    assert await run() == first
    assert len(first) > 30


@dataclass
class Bench:
    ls: LocalService
    checker: Checker
    recorder: Recorder
    agent: SeatAgent
    now: float


@pytest.fixture
async def bench(sim_settings: Settings, base_config: CenterConfig) -> AsyncIterator[Bench]:
    clock = ManualClock(1_800_000_000.0)
    async with local_service(sim_settings, clock=clock, config=base_config,
                             sweeper=False) as ls:
        rt = VirtualTime(clock)
        seat = next(s for s in base_config.roster.seats if s.id == "p05")
        agent = SeatAgent("p05", ls.seats, rt, queues=seat.queues)
        recorder = Recorder(lambda ep: "pool", lambda q: 15000)
        checker = Checker(ls.svc, base_config, recorder, {"client:p05": agent}, {"p05": seat},
                          clock.now())
        yield Bench(ls, checker, recorder, agent, clock.now())
        rt.cancel_all()


async def test_a_ready_seat_beside_a_waiting_call_is_caught_after_one_event(
        bench: Bench) -> None:
    await bench.agent.login()
    rec = bench.recorder.add("CAwaiting", "12345", bench.now, None)
    rec.queued = bench.now
    bench.recorder.on_hold[rec.sid] = rec
    acd = bench.ls.svc.store()
    await acd.redis.zadd(acd.keys.wait("pool", "any"), {"CAwaiting": 1})  # tampered: no script

    async def event() -> None:
        pipe = acd.redis.pipeline(transaction=False)
        judge = bench.checker.probe(bench.now, pipe)
        assert judge is not None
        await judge(await pipe.execute())

    await event()
    assert bench.checker.problems == [], "one event of grace"
    await event()
    await event()
    assert bench.checker.problems == [
        "t=0.000s: seat p05 sits ready while calls wait in pool|any"]
    await bench.checker.checkpoint(bench.now)
    assert any("ready while calls wait" in p for p in bench.checker.problems[1:]), \
        "violations() sees it too"


async def test_a_probe_reads_nothing_when_neither_redis_nor_the_idle_seats_changed(
        bench: Bench) -> None:
    await bench.agent.login()
    rec = bench.recorder.add("CAheld", "12345", bench.now, None)
    rec.queued = bench.now
    bench.recorder.on_hold[rec.sid] = rec
    acd = bench.ls.svc.store()

    async def probe(version: object) -> bool:
        pipe = acd.redis.pipeline(transaction=False)
        judge = bench.checker.probe(bench.now, pipe, version)
        if judge is not None:
            await judge(await pipe.execute())
        return judge is not None

    assert await probe((1, 0)), "same Redis, same idle seats"
    assert not await probe((1, 0)), "same Redis, same idle seats"
    assert bench.checker.wc_skipped == 1
    assert await probe((2, 0)), "Redis may have changed: read again"
    await acd.redis.zadd(acd.keys.wait("pool", "any"), {"CAheld": 1})  # tampered: no script
    assert await probe((3, 0)), "one event of grace"
    assert bench.checker.problems == [], "one event of grace"
    assert await probe((3, 0)), "a suspect is never skipped"
    assert bench.checker.problems == [
        "t=0.000s: seat p05 sits ready while calls wait in pool|any"]


async def test_counters_that_differ_from_what_was_seen_are_reported(bench: Bench) -> None:
    bench.recorder.tally[("l", "12328")]["answered"] += 1
    assert await bench.checker.counter_mismatches() == [
        "counter answered of line 12328: service 0, simulator 1"]
    acd = bench.ls.svc.store()
    bucket = int(bench.now) // BUCKET_SECONDS * BUCKET_SECONDS
    await acd.redis.hincrby(acd.keys.cnt("l", "12328", bucket), "answered", 1)
    assert await bench.checker.counter_mismatches() == []


async def test_a_call_whose_recorded_outcome_differs_is_reported(bench: Bench) -> None:
    acd = bench.ls.svc.store()
    await acd.redis.hset(acd.keys.call("CAx"), mapping={"st": "ended", "out": "abandoned",
                                                        "q": "pool", "wait": "1000"})
    rec = CallRecord("CAx", "12328", bench.now, queued=bench.now, answered=bench.now + 1,
                     ended=bench.now + 60, outcome="answered")
    bench.recorder.ended.append(rec)
    await bench.checker.verify_outcomes(bench.now + 61)
    (problem,) = bench.checker.problems
    assert "lived 'answered'" in problem
    assert "outcome 'abandoned'" in problem
    assert rec.queue == "pool"


def test_a_seat_that_rings_while_it_holds_a_call_is_reported() -> None:
    clock = ManualClock(0.0)
    agent = SeatAgent("p01", None, VirtualTime(clock), rng=random.Random(1))  # type: ignore[arg-type]
    agent.state = "idle"
    agent.ring(Offer("CA1", "CAc1", "client:p01", "+86", 0.0))
    agent.ring(Offer("CA2", "CAc2", "client:p01", "+86", 0.0))
    assert agent.violations == ["0.000: seat p01 rang for CA2 while it holds CA1"]
