"""The timer and after-call scripts on real Redis: tick, callback, rate, reconcile."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ivr.core.config import CenterConfig
from tests.store.acd_env import SUB, TRAFFIC, Env, open_env


@pytest.fixture
async def env(redis_url: str, base_config: CenterConfig) -> AsyncIterator[Env]:
    async with open_env(redis_url, base_config) as e:
        yield e


# ---- tick -----------------------------------------------------------------------------

async def test_tick_with_nothing_due_changes_nothing(env: Env) -> None:
    await env.enqueue("CA1")
    before = await env.snapshot()
    assert await env.acd.tick() == {"n": 0, "redirect": []}
    assert await env.snapshot() == before


async def test_tick_ends_wrapup(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.hangup("CA1", "completed")
    env.clock.advance(9.9)
    await env.acd.tick()
    assert (await env.seat("a2"))["st"] == "wrapup"
    env.clock.advance(0.1)
    assert (await env.acd.tick())["n"] == 1
    assert (await env.seat("a2"))["st"] == "ready"
    assert await env.zset(env.keys.ready("pool", "any")) == ["a2"]
    assert "w:a2" not in await env.timers()


async def test_tick_ends_wrapup_into_a_waiting_call(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.hangup("CA1", "completed")
    await env.enqueue("CA2")
    env.clock.advance(10)
    assert (await env.acd.tick())["redirect"] == ["CA2"]
    assert (await env.seat("a2"))["call"] == "CA2"


async def test_tick_widens_a_skill_after_its_time(env: Env) -> None:
    await env.ready("a2")  # no 'traffic' skill
    await env.enqueue("CA1", TRAFFIC)
    env.clock.advance(29)
    await env.acd.tick()
    assert (await env.call("CA1"))["st"] == "waiting"
    env.clock.advance(1)
    res = await env.acd.tick()
    assert res["redirect"] == ["CA1"]
    call = await env.call("CA1")
    assert (call["st"], call["sk"], call["seat"]) == ("offered", "any", "a2")
    assert await env.zset(env.keys.wait("pool", "traffic")) == []


async def test_tick_widens_into_the_any_wait_set(env: Env) -> None:
    await env.enqueue("CA1", TRAFFIC)
    env.clock.advance(30)
    assert (await env.acd.tick())["redirect"] == []
    assert (await env.call("CA1"))["sk"] == "any"
    assert await env.zset(env.keys.wait("pool", "any")) == ["CA1"]


async def test_tick_overflows_a_subcenter_call_after_its_time(env: Env) -> None:
    await env.ready("s1")
    await env.acd.seat("s1", "break")  # logged in, not taking calls
    await env.enqueue("CA1", SUB)
    assert (await env.call("CA1"))["q"] == "sub"
    await env.ready("a2")
    env.clock.advance(60)
    assert (await env.acd.tick())["redirect"] == ["CA1"]
    call = await env.call("CA1")
    assert (call["q"], call["oq"], call["seat"]) == ("pool", "sub", "a2")
    assert (await env.counters("q", "sub"))["overflow_out"] == 1
    assert (await env.counters("q", "pool"))["overflow_in"] == 1


async def test_tick_requeues_an_expired_reservation(env: Env) -> None:
    await env.ready("a2")
    await env.enqueue("CA1")
    env.clock.advance(20 + 45)  # ring timeout and the reservation margin
    await env.ready("a1")
    res = await env.acd.tick()
    # a2 is ready again and the call is offered to the longest-idle ready seat
    assert res["n"] >= 1
    assert "CA1" in res["redirect"]
    assert (await env.counters("q", "pool"))["resv_expired"] == 1
    call = await env.call("CA1")
    assert call["st"] == "offered"
    assert call["seat"] in {"a1", "a2"}


async def test_tick_watchdog_ends_a_silent_caller(env: Env) -> None:
    await env.enqueue("CA1")
    env.clock.advance(30)
    await env.acd.wait("CA1")  # last seen here
    env.clock.advance(120)
    await env.acd.tick()
    call = await env.call("CA1")
    assert (call["st"], call["out"], call["wait"]) == ("ended", "lost", "30000")
    assert await env.zset(env.keys.wait("pool", "any")) == []
    counts = await env.counters("q", "pool")
    assert (counts["lost"], counts["abandoned"]) == (1, 1)


async def test_tick_watchdog_spares_a_callback(env: Env) -> None:
    await env.enqueue("CA1")
    await env.acd.callback_request("CA1", "+8613800138000")
    env.clock.advance(300)
    await env.acd.tick()
    assert (await env.call("CA1"))["st"] == "waiting"


async def test_tick_ends_stale_calls(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.begin("CA2", "12345", "x")
    env.clock.advance(3600)
    res = await env.acd.tick(stale_seconds=3000)
    assert res["redirect"] == []
    for sid in ("CA1", "CA2"):
        assert (await env.call(sid))["out"] == "stale"
    assert (await env.seat("a2"))["st"] == "ready"
    assert await env.zset(env.keys.live()) == []


async def test_tick_claims_each_timer_once(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.hangup("CA1", "completed")
    env.clock.advance(10)
    assert (await env.acd.tick())["n"] == 1
    before = await env.snapshot()
    assert (await env.acd.tick())["n"] == 0
    assert await env.snapshot() == before


async def test_tick_runs_at_most_limit_timers(env: Env) -> None:
    for i in range(5):
        await env.enqueue(f"CA{i}", TRAFFIC)
    env.clock.advance(31)
    assert (await env.acd.tick(limit=2))["n"] == 2
    assert (await env.acd.tick(limit=10))["n"] >= 3


# ---- callback -------------------------------------------------------------------------

async def test_callback_request_keeps_the_place(env: Env) -> None:
    await env.enqueue("CA1")
    assert await env.acd.callback_request("CA1", "+8613800138000") == {"ok": True}
    call = await env.call("CA1")
    assert (call["st"], call["cb"], call["cbn"], call["cba"]) == ("waiting", "1", "+8613800138000", "0")
    assert (await env.counters("q", "pool"))["callback_requested"] == 1
    before = await env.snapshot()
    assert (await env.acd.callback_request("CA1", "+8613800138000"))["ok"] is False
    assert await env.snapshot() == before


@pytest.mark.parametrize("state", ["ivr", "offered", "ended"])
async def test_callback_request_only_while_waiting(env: Env, state: str) -> None:
    if state == "ivr":
        await env.acd.begin("CA1", "12345", "x")
    else:
        await env.ready("a2")
        await env.enqueue("CA1")
        if state == "ended":
            await env.acd.hangup("CA1", "completed")
    before = await env.snapshot()
    assert await env.acd.callback_request("CA1", "+8613800138000") == {"ok": False, "st": state}
    assert await env.snapshot() == before


async def _offered_callback(env: Env) -> None:
    await env.enqueue("CA1")
    await env.acd.callback_request("CA1", "+8613800138000")
    await env.acd.hangup("CA1", "completed")  # the caller hangs up, keeping the place
    await env.ready("a2")
    assert (await env.call("CA1"))["st"] == "offered"


async def test_callback_failed_retries_later(env: Env) -> None:
    await _offered_callback(env)
    res = await env.acd.callback_failed("CA1", max_attempts=3, retry_seconds=120)
    assert res == {"outcome": "retry", "redirect": []}
    call, seat = await env.call("CA1"), await env.seat("a2")
    assert (call["st"], call["cba"], call["seat"]) == ("retry", "1", "")
    assert seat["st"] == "ready"
    assert await env.zset(env.keys.wait("pool", "any")) == []
    env.clock.advance(119)
    await env.acd.tick()
    assert (await env.call("CA1"))["st"] == "retry"
    env.clock.advance(1)
    assert (await env.acd.tick())["redirect"] == ["CA1"]
    assert (await env.call("CA1"))["st"] == "offered"


async def test_callback_failed_gives_up_after_the_last_attempt(env: Env) -> None:
    await _offered_callback(env)
    res = await env.acd.callback_failed("CA1", max_attempts=1, retry_seconds=60)
    assert res["outcome"] == "callback_failed"
    call = await env.call("CA1")
    assert (call["st"], call["out"]) == ("ended", "callback_failed")
    assert "cbn" not in call  # the number is erased when the callback ends
    assert (await env.counters("q", "pool"))["callback_failed"] == 1


async def test_callback_failed_on_a_call_not_offered_changes_nothing(env: Env) -> None:
    await env.enqueue("CA1")
    await env.acd.callback_request("CA1", "+8613800138000")
    before = await env.snapshot()
    assert await env.acd.callback_failed("CA1", 3, 60) == {"ok": False, "st": "waiting"}
    assert await env.snapshot() == before


async def test_callback_answered_counts_as_connected(env: Env) -> None:
    await _offered_callback(env)
    assert (await env.acd.answered("CA1", "a2"))["ok"] is True
    assert (await env.counters("q", "pool"))["callback_connected"] == 1


# ---- rate -----------------------------------------------------------------------------

async def _answered_call(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.hangup("CA1", "completed")


async def test_rating_is_recorded_once(env: Env) -> None:
    await _answered_call(env)
    assert await env.acd.rate("CA1", "2") == {"ok": True}
    assert (await env.call("CA1"))["rating"] == "2"
    counts = await env.counters("q", "pool")
    assert (counts["rated"], counts["rated_2"]) == (1, 1)
    before = await env.snapshot()
    assert (await env.acd.rate("CA1", "3"))["ok"] is False
    assert await env.snapshot() == before


async def test_disposition_is_recorded_once(env: Env) -> None:
    await _answered_call(env)
    assert await env.acd.dispose("CA1", "traffic", False, "交通局") == {"ok": True}
    call = await env.call("CA1")
    assert (call["cat"], call["res"], call["dept"]) == ("traffic", "0", "交通局")
    counts = await env.counters("q", "pool")
    assert (counts["disposed"], counts["handed"], counts["cat:traffic"]) == (1, 1, 1)
    before = await env.snapshot()
    assert (await env.acd.dispose("CA1", "other", True, ""))["ok"] is False
    assert await env.snapshot() == before


@pytest.mark.parametrize("state", ["talking", "abandoned", "unknown"])
async def test_rating_needs_an_answered_ended_call(env: Env, state: str) -> None:
    if state == "talking":
        await env.ready("a2")
        await env.talking("CA1", "a2")
    elif state == "abandoned":
        await env.enqueue("CA1")
        await env.acd.hangup("CA1", "completed")
    before = await env.snapshot()
    assert (await env.acd.rate("CA1", "1"))["ok"] is False
    assert (await env.acd.dispose("CA1", "x", True, ""))["ok"] is False
    assert await env.snapshot() == before


# ---- reconcile ------------------------------------------------------------------------

async def test_reconcile_claims_old_live_calls_once_per_period(env: Env) -> None:
    await env.acd.begin("CA1", "12345", "x")  # ivr
    await env.enqueue("CA2")  # waiting: the watchdog's, not claimed
    await env.ready("a2")  # CA2 offered now
    await env.enqueue("CA3")  # waiting
    env.clock.advance(10)
    await env.acd.begin("CA4", "12345", "x")  # too young
    env.clock.advance(50)
    claimed = await env.acd.reconcile_candidates(after_seconds=60, every_seconds=30)
    assert sorted(claimed) == ["CA1", "CA2"]
    assert int((await env.call("CA1"))["rc"]) == int(env.clock.now() * 1000)
    assert await env.acd.reconcile_candidates(60, 30) == []
    env.clock.advance(30)
    assert sorted(await env.acd.reconcile_candidates(60, 30)) == ["CA1", "CA2", "CA4"]


async def test_reconcile_respects_its_limit(env: Env) -> None:
    for i in range(5):
        await env.acd.begin(f"CA{i}", "12345", "x")
    env.clock.advance(100)
    assert len(await env.acd.reconcile_candidates(60, 30, limit=2)) == 2
    assert len(await env.acd.reconcile_candidates(60, 30, limit=10)) == 3
