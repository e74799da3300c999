"""Every store script refuses bad arguments before it writes anything.

Redis does not roll a script back when it fails half-way, so a bad argument must raise
(a bug, loudly) while nothing has changed yet. Each case sets up a state in which the
script *would* write with good arguments, then proves the center's keys are unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from redis.exceptions import ResponseError

from ivr.core.config import CenterConfig
from ivr.core.engine import EnqueueAction
from tests.store.acd_env import Env, open_env

LONG = "x" * 200


def q(queue: str = "pool", priority: int = 0, widen: float | None = None) -> EnqueueAction:
    """An enqueue action with these (maybe bad) values."""
    return EnqueueAction(queue, "any", priority, widen)


@pytest.fixture
async def env(redis_url: str, base_config: CenterConfig) -> AsyncIterator[Env]:
    async with open_env(redis_url, base_config) as e:
        await e.ready("a2")
        await e.talking("CT", "a2")  # a2 talks on CT
        await e.enqueue("CW")  # CW waits
        await e.acd.begin("CI", "12345", "x")  # CI in the IVR
        yield e


async def refused(env: Env, run: Callable[[], Awaitable[Any]], match: str | None = "bad ARGV") -> None:
    before = await env.snapshot()
    with pytest.raises(ResponseError, match=match):
        await run()
    assert await env.snapshot() == before


CASES: dict[str, Callable[[Env], Awaitable[Any]]] = {
    "begin: long sid": lambda e: e.acd.begin(LONG, "12345", "x"),
    "begin: long line": lambda e: e.acd.begin("CN", LONG, "x"),
    "begin: long dialect": lambda e: e.acd.begin("CN", "12345", "x", dialect=LONG),
    "enqueue: priority 10": lambda e: e.acd.enqueue("CN", "12345", q(priority=10), "x"),
    "enqueue: negative priority": lambda e: e.acd.enqueue("CI", "12345", q(priority=-1), "x"),
    "enqueue: widen below -1": lambda e: e.acd.enqueue("CI", "12345", q(widen=-5.0), "x"),
    "enqueue: long queue": lambda e: e.acd.enqueue("CI", "12345", q(LONG), "x"),
    "enqueue: long language": lambda e: e.acd.enqueue("CI", "12345", q(), "x", language=LONG),
    "wait: long sid": lambda e: e.acd.wait(LONG),
    "answered: long seat": lambda e: e.acd.answered("CT", LONG),
    "answered: long leg": lambda e: e.acd.answered("CT", "a2", LONG),
    "dial_done: long status": lambda e: e.acd.dial_done("CT", "a2", LONG, 10),
    "hangup: long sid": lambda e: e.acd.hangup(LONG, "completed"),
    "hangup: long outcome": lambda e: e.acd.hangup("CI", "completed", LONG),
    "note: long topic": lambda e: e.acd.note("CI", "transfer", LONG, "12345"),
    "note: long kind": lambda e: e.acd.note("CI", LONG, "110", "12345"),
    "seat: long seat": lambda e: e.acd.seat(LONG, "login"),
    "seat: long action": lambda e: e.acd.seat("a1", LONG),
    "seat_remove: long seat": lambda e: e.acd.remove_seat(LONG),
    "tick: limit 0": lambda e: e.acd.tick(limit=0),
    "tick: negative stale": lambda e: e.acd.tick(stale_seconds=-1),
    "callback: long sid": lambda e: e.acd.callback_request(LONG, "+8613800138000"),
    "rate: long sid": lambda e: e.acd.rate(LONG, "1"),
    "seat_handoff: long kind": lambda e: e.acd.handoff("a2", LONG, "110", keep=False),
    "seat_handoff: long target": lambda e: e.acd.handoff("a2", "transfer", LONG, keep=False),
    "reconcile: limit 0": lambda e: e.acd.reconcile_candidates(60, 30, limit=0),
    "reconcile: negative age": lambda e: e.acd.reconcile_candidates(-1, 30),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_arguments_are_refused_before_any_write(env: Env, case: str) -> None:
    await refused(env, lambda: CASES[case](env))


async def test_a_time_before_the_epoch_is_refused(env: Env) -> None:
    env.clock.t = -1.0
    await refused(env, lambda: env.acd.begin("CN", "12345", "x"))
    await refused(env, lambda: env.acd.tick())


async def _offered_callback(env: Env) -> None:
    await env.acd.callback_request("CW", "+8613800138000")
    await env.acd.hangup("CW", "completed")
    await env.acd.hangup("CT", "completed")
    env.clock.advance(10)
    await env.acd.tick()  # a2's wrap-up ends: it is reserved for CW
    assert (await env.call("CW"))["st"] == "offered"


@pytest.mark.parametrize(("attempts", "retry"), [(0, 60.0), (3, -1.0)])
async def test_callback_failed_refuses_bad_numbers_before_writing(
        env: Env, attempts: int, retry: float) -> None:
    await _offered_callback(env)
    await refused(env, lambda: env.acd.callback_failed("CW", attempts, retry))


async def test_rating_outside_the_scale_is_refused(env: Env) -> None:
    await env.acd.hangup("CT", "completed")
    await refused(env, lambda: env.acd.rate("CT", "9"), match=None)


async def test_note_of_an_unknown_kind_is_refused(env: Env) -> None:
    await refused(env, lambda: env.acd.note("CI", "bogus", "110", "12345"), match=None)


async def test_seat_sync_refuses_missing_arguments_before_writing(env: Env) -> None:
    await env.ready("a1")
    await refused(env, lambda: env.acd._run("seat_sync", 1, "a1", "pool|any", "pool", "client:a1"),
                  match=None)
