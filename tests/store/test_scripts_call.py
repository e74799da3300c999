"""The call scripts on real Redis: begin, enqueue, wait, answered, dial_done, hangup, note.

Each test drives the script through Acd and asserts the state it leaves: the call's
record, the wait and ready sets, the seat, the timers and the counters; a repeated call
changes nothing where the script's header says so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ivr.core.config import CenterConfig
from ivr.core.engine import EnqueueAction
from tests.store.acd_env import SUB, TRAFFIC, Env, open_env


@pytest.fixture
async def env(redis_url: str, base_config: CenterConfig) -> AsyncIterator[Env]:
    async with open_env(redis_url, base_config) as e:
        yield e


# ---- begin ----------------------------------------------------------------------------

async def test_begin_makes_an_ivr_record(env: Env) -> None:
    now_ms = int(env.clock.now() * 1000)
    res = await env.acd.begin("CA1", "12328", "138****8000", dialect="jambonz")
    assert res == {"st": "ivr"}
    call = await env.call("CA1")
    assert call["st"] == "ivr"
    assert call["ln"] == "12328"
    assert call["fr"] == "138****8000"
    assert call["dl"] == "jambonz"
    assert int(call["t1"]) == now_ms
    assert await env.zset(env.keys.live()) == ["CA1"]
    assert (await env.counters("l", "12328"))["calls"] == 1
    assert 0 < await env.redis.ttl(env.keys.call("CA1")) <= 3600


async def test_begin_twice_changes_nothing(env: Env) -> None:
    await env.acd.begin("CA1", "12328", "138****8000")
    before = await env.snapshot()
    env.clock.advance(5)
    res = await env.acd.begin("CA1", "12345", "other")
    assert res["st"] == "ivr"
    assert await env.snapshot() == before


async def test_begin_after_the_end_cannot_revive_a_call(env: Env) -> None:
    await env.acd.hangup("CA1", "completed")  # the end arrived first
    assert (await env.call("CA1"))["out"] == "ended_early"
    res = await env.acd.begin("CA1", "12345", "x")
    assert res["st"] == "ended"
    assert (await env.call("CA1"))["st"] == "ended"
    assert await env.zset(env.keys.live()) == []


async def test_begin_over_the_repeated_call_limit(env: Env) -> None:
    for i in range(3):
        assert (await env.acd.begin(f"CA{i}", "12345", "x", number="+8613800138000"))["st"] == "ivr"
    res = await env.acd.begin("CA9", "12345", "x", number="+8613800138000")
    assert res == {"st": "limited"}
    call = await env.call("CA9")
    assert (call["st"], call["out"]) == ("ended", "rate_limited")
    assert "CA9" not in await env.zset(env.keys.live())
    counts = await env.counters("l", "12345")
    assert (counts["calls"], counts["rate_limited"]) == (4, 1)
    # another caller, and the same caller in the next window, are let in
    assert (await env.acd.begin("CB", "12345", "x", number="+8613900139000"))["st"] == "ivr"
    env.clock.advance(61)
    assert (await env.acd.begin("CC", "12345", "x", number="+8613800138000"))["st"] == "ivr"


# ---- enqueue / wait -------------------------------------------------------------------

async def test_enqueue_with_no_seat_waits(env: Env) -> None:
    res = await env.enqueue("CA1", language="en-US", dialect="twilio")
    assert res["st"] == "waiting"
    assert res["pos"] == 1
    assert res["logged"] == 0
    assert res["aht"] == 200_000
    assert res["waited"] == 0
    call = await env.call("CA1")
    assert (call["st"], call["q"], call["sk"], call["lg"], call["dl"]) == (
        "waiting", "pool", "any", "en-US", "twilio")
    assert await env.zset(env.keys.wait("pool", "any")) == ["CA1"]
    assert await env.zset(env.keys.live()) == ["CA1"]
    assert "p:CA1" in await env.timers()  # the hold-loop watchdog
    counts = await env.counters("q", "pool")
    assert counts["offered"] == 1
    assert (await env.counters("l", "12345"))["calls"] == 1


async def test_enqueue_positions_follow_priority_then_arrival(env: Env) -> None:
    await env.enqueue("CA1")
    env.clock.advance(1)
    await env.enqueue("CA2")
    env.clock.advance(1)
    await env.enqueue("CA3", EnqueueAction("pool", "any", 5, None))
    assert await env.zset(env.keys.wait("pool", "any")) == ["CA3", "CA1", "CA2"]
    assert [(await env.acd.wait(s))["pos"] for s in ("CA3", "CA1", "CA2")] == [1, 2, 3]


async def test_enqueue_offers_to_a_ready_seat_at_once(env: Env) -> None:
    await env.ready("a2")
    res = await env.enqueue("CA1")
    assert (res["st"], res["seat"], res["ep"], res["ring"]) == ("offered", "a2", "client:a2", 20_000)
    call, seat = await env.call("CA1"), await env.seat("a2")
    assert (call["st"], call["seat"]) == ("offered", "a2")
    assert (seat["st"], seat["call"]) == ("reserved", "CA1")
    assert await env.zset(env.keys.wait("pool", "any")) == []
    assert await env.zset(env.keys.ready("pool", "any")) == []
    assert "r:CA1" in await env.timers()


async def test_enqueue_matches_skills(env: Env) -> None:
    await env.ready("a2")  # no traffic skill
    res = await env.enqueue("CA1", TRAFFIC)
    assert res["st"] == "waiting"
    assert await env.zset(env.keys.wait("pool", "traffic")) == ["CA1"]
    assert "k:CA1" in await env.timers()  # widening to 'any' after 30 s
    await env.ready("a1")  # has the skill: takes the call
    assert (await env.call("CA1"))["seat"] == "a1"


async def test_enqueue_repeated_changes_nothing(env: Env) -> None:
    await env.enqueue("CA1")
    before = await env.snapshot()
    env.clock.advance(3)
    res = await env.enqueue("CA1", EnqueueAction("sub", "x", 9, None))
    assert res["st"] == "waiting"
    assert res["repeated"] is True
    assert await env.snapshot() == before


async def test_enqueue_after_the_end_stays_ended(env: Env) -> None:
    await env.enqueue("CA1")
    await env.acd.hangup("CA1", "completed")
    res = await env.enqueue("CA1")
    assert res["st"] == "ended"
    assert await env.zset(env.keys.wait("pool", "any")) == []


async def test_enqueue_from_the_ivr_keeps_the_record(env: Env) -> None:
    await env.acd.begin("CA1", "12328", "138****8000", dialect="jambonz")
    await env.enqueue("CA1", line="12328", dialect="twilio")
    call = await env.call("CA1")
    assert call["dl"] == "jambonz"  # the record's dialect is kept
    assert (await env.counters("l", "12328"))["calls"] == 1  # counted once


async def test_enqueue_turned_away_from_a_closed_queue(env: Env) -> None:
    await env.enqueue("CA1", closed_from="sub")
    call = await env.call("CA1")
    assert (call["q"], call["oq"]) == ("pool", "sub")
    assert (await env.counters("q", "sub")) == {"offered": 1, "overflow_out": 1}
    assert (await env.counters("q", "pool"))["overflow_in"] == 1


async def test_enqueue_to_a_subcenter_without_seats_overflows(env: Env) -> None:
    res = await env.enqueue("CA1", SUB)
    assert res["st"] == "waiting"
    assert res["q"] == "pool"
    call = await env.call("CA1")
    assert (call["q"], call["oq"], call["sk"]) == ("pool", "sub", "any")
    assert await env.zset(env.keys.wait("pool", "any")) == ["CA1"]


async def test_enqueue_over_the_limit(env: Env) -> None:
    for i in range(3):
        await env.enqueue(f"CA{i}", number="+8613800138000")
    assert await env.enqueue("CA9", number="+8613800138000") == {"st": "limited"}
    assert (await env.call("CA9"))["out"] == "rate_limited"
    assert "CA9" not in await env.zset(env.keys.wait("pool", "any"))


async def test_wait_reports_and_feeds_the_watchdog(env: Env) -> None:
    await env.enqueue("CA1")
    env.clock.advance(50)
    res = await env.acd.wait("CA1")
    assert (res["st"], res["pos"], res["waited"]) == ("waiting", 1, 50_000)
    call = await env.call("CA1")
    assert int(call["seen"]) == int(env.clock.now() * 1000)
    score = await env.redis.zscore(env.keys.timers(), "p:CA1")
    assert score == int(env.clock.now() * 1000) + 120_000


async def test_wait_for_an_unknown_call(env: Env) -> None:
    before = await env.snapshot()
    assert (await env.acd.wait("nope"))["st"] == "unknown"
    assert await env.snapshot() == before
    assert await env.call("nope") == {}


# ---- answered -------------------------------------------------------------------------

async def test_answered_starts_the_talk(env: Env) -> None:
    await env.ready("a2")
    await env.enqueue("CA1")
    env.clock.advance(4)
    assert await env.acd.answered("CA1", "a2", "CA-leg") == {"ok": True, "st": "talking"}
    call, seat = await env.call("CA1"), await env.seat("a2")
    assert (call["st"], call["wait"], call["leg"]) == ("talking", "4000", "CA-leg")
    assert seat["st"] == "talking"
    assert "r:CA1" not in await env.timers()
    counts = await env.counters("q", "pool")
    assert (counts["answered"], counts["sl_answered"], counts["wait_answered_ms"]) == (1, 1, 4000)
    assert counts["wa:5"] == 1


async def test_every_counter_bucket_expires_within_three_days_of_its_last_count(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    env.clock.advance(60)  # the same 15-minute bucket: the fields exist, no new TTL
    await env.ready("a1")
    await env.talking("CA2", "a1")
    keys = [k async for k in env.redis.scan_iter(match=env.keys.cnt("q", "pool", 0)[:-1] + "*")]
    keys += [k async for k in env.redis.scan_iter(match=env.keys.cnt("l", "12345", 0)[:-1] + "*")]
    assert len(keys) == 2
    for key in keys:
        assert 3 * 86400 - 120 <= await env.redis.ttl(key) <= 3 * 86400, key
    assert (await env.counters("q", "pool"))["answered"] == 2


async def test_answered_is_recorded_once(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    before = await env.snapshot()
    assert (await env.acd.answered("CA1", "a2", "x"))["ok"] is False
    assert await env.snapshot() == before


async def test_answered_by_another_seat_does_not_apply(env: Env) -> None:
    await env.ready("a2")
    await env.enqueue("CA1")
    before = await env.snapshot()
    assert await env.acd.answered("CA1", "a1") == {"ok": False, "st": "offered"}
    assert await env.snapshot() == before


# ---- dial_done ------------------------------------------------------------------------

async def test_dial_done_completed_ends_the_talk(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    env.clock.advance(100)
    res = await env.acd.dial_done("CA1", "a2", "completed", 100)
    assert res == {"next": "hangup", "redirect": []}
    call, seat = await env.call("CA1"), await env.seat("a2")
    assert (call["st"], call["out"], call["talk"]) == ("ended", "answered", "100000")
    assert (seat["st"], seat["call"], seat["last"]) == ("wrapup", "", "CA1")
    assert "w:a2" in await env.timers()
    assert await env.zset(env.keys.live()) == []
    counts = await env.counters("q", "pool")
    assert (counts["handled"], counts["handled_ms"]) == (1, 100_000)
    assert await env.redis.hget(env.keys.qstat("pool"), "aht") == "100000"


async def test_dial_done_answered_without_the_answer_callback(env: Env) -> None:
    await env.ready("a2")
    await env.enqueue("CA1")
    env.clock.advance(70)
    res = await env.acd.dial_done("CA1", "a2", "completed", 60)
    assert res["next"] == "hangup"
    call = await env.call("CA1")
    assert (call["out"], call["wait"], call["talk"]) == ("answered", "10000", "60000")


async def test_dial_done_no_answer_requeues_at_the_head(env: Env) -> None:
    await env.enqueue("CA0")
    await env.ready("a2")  # takes CA0
    env.clock.advance(1)
    await env.enqueue("CA1")  # waits behind nobody: CA0 is offered
    res = await env.acd.dial_done("CA0", "a2", "no-answer", 0)
    assert res["next"] == "wait"
    assert res["st"] == "waiting"
    assert res["pos"] == 1
    seat = await env.seat("a2")
    assert (seat["st"], seat["call"], seat["missed"]) == ("break", "", "1")
    assert await env.zset(env.keys.wait("pool", "any")) == ["CA0", "CA1"]
    assert (await env.counters("q", "pool"))["noanswer"] == 1
    assert "r:CA0" not in await env.timers()


async def test_dial_done_no_answer_goes_to_the_next_ready_seat(env: Env) -> None:
    await env.ready("a2")
    await env.enqueue("CA1")
    await env.ready("a1")
    res = await env.acd.dial_done("CA1", "a2", "busy", 0)
    assert (res["next"], res["seat"]) == ("dial", "a1")
    assert (await env.seat("a1"))["call"] == "CA1"


async def test_dial_done_repeated_changes_nothing(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.dial_done("CA1", "a2", "completed", 10)
    before = await env.snapshot()
    res = await env.acd.dial_done("CA1", "a2", "completed", 10)
    assert res["next"] == "hangup"
    assert res["st"] == "ended"
    assert await env.snapshot() == before


async def test_dial_done_of_a_warm_transfer_joins_the_conference(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.handoff("a2", "transfer", "110", keep=True)
    res = await env.acd.dial_done("CA1", "a2", "completed", 10)
    assert res["next"] == "conference"
    assert (await env.call("CA1"))["st"] == "talking"
    res = await env.acd.dial_done("CA1", "a2", "completed", 30)
    assert res["next"] == "hangup"
    assert (await env.call("CA1"))["out"] == "answered"


# ---- hangup ---------------------------------------------------------------------------

async def test_hangup_in_the_ivr(env: Env) -> None:
    await env.acd.begin("CA1", "12328", "x")
    res = await env.acd.hangup("CA1", "completed")
    assert res == {"outcome": "ivr_end", "redirect": []}
    call = await env.call("CA1")
    assert (call["st"], call["out"]) == ("ended", "ivr_end")
    assert await env.zset(env.keys.live()) == []
    assert (await env.counters("l", "12328"))["ended_in_ivr"] == 1


async def test_hangup_in_the_ivr_records_the_given_outcome(env: Env) -> None:
    await env.acd.begin("CA1", "12328", "x")
    assert (await env.acd.hangup("CA1", "completed", "transferred:110"))["outcome"] == "transferred:110"


async def test_hangup_while_waiting_is_an_abandon(env: Env) -> None:
    await env.enqueue("CA1")
    env.clock.advance(3)
    assert (await env.acd.hangup("CA1", "completed"))["outcome"] == "abandoned"
    call = await env.call("CA1")
    assert (call["st"], call["out"], call["wait"]) == ("ended", "abandoned", "3000")
    assert await env.zset(env.keys.wait("pool", "any")) == []
    assert not [t for t in await env.timers() if t.endswith(":CA1")]
    counts = await env.counters("q", "pool")
    assert (counts["abandoned"], counts["abandoned_short"], counts["wb:5"]) == (1, 1, 1)


async def test_hangup_while_offered_frees_the_seat_for_the_next_call(env: Env) -> None:
    await env.ready("a2")
    await env.enqueue("CA1")
    await env.enqueue("CA2")
    env.clock.advance(10)
    res = await env.acd.hangup("CA1", "completed")
    assert res == {"outcome": "abandoned", "redirect": ["CA2"]}
    assert (await env.seat("a2"))["call"] == "CA2"
    assert (await env.counters("q", "pool")).get("abandoned_short", 0) == 0


async def test_hangup_while_talking_ends_the_talk(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    env.clock.advance(30)
    assert (await env.acd.hangup("CA1", "completed"))["outcome"] == "answered"
    assert (await env.seat("a2"))["st"] == "wrapup"
    assert (await env.call("CA1"))["talk"] == "30000"


async def test_hangup_is_idempotent(env: Env) -> None:
    await env.enqueue("CA1")
    await env.acd.hangup("CA1", "completed")
    before = await env.snapshot()
    env.clock.advance(5)
    res = await env.acd.hangup("CA1", "completed")
    assert res["outcome"] == "abandoned"
    assert res["repeated"] is True
    assert await env.snapshot() == before


async def test_hangup_before_any_webhook(env: Env) -> None:
    res = await env.acd.hangup("CA1", "canceled")
    assert res["outcome"] == "ended_early"
    assert (await env.call("CA1"))["st"] == "ended"
    assert await env.zset(env.keys.live()) == []


async def test_hangup_of_a_callback_keeps_the_place(env: Env) -> None:
    await env.enqueue("CA1")
    assert (await env.acd.callback_request("CA1", "+8613800138000"))["ok"] is True
    assert (await env.acd.hangup("CA1", "completed"))["outcome"] == "callback_pending"
    call = await env.call("CA1")
    assert (call["st"], call["gone"]) == ("waiting", "1")
    assert await env.zset(env.keys.wait("pool", "any")) == ["CA1"]


# ---- note -----------------------------------------------------------------------------

async def test_note_records_the_reason_once(env: Env) -> None:
    await env.acd.begin("CA1", "12328", "x")
    assert await env.acd.note("CA1", "transfer", "110", "12328") == {"ok": True}
    assert (await env.call("CA1"))["pend"] == "transferred:110"
    before = await env.snapshot()
    assert await env.acd.note("CA1", "transfer", "110", "12328") == {"ok": False}
    assert await env.snapshot() == before
    counts = await env.counters("l", "12328")
    assert (counts["transferred"], counts["transfer:110"]) == (1, 1)
    assert (await env.acd.hangup("CA1", "completed"))["outcome"] == "transferred:110"


async def test_note_makes_the_record_when_none_exists(env: Env) -> None:
    assert (await env.acd.note("CA1", "exclusion", "petition", "12345", "138****"))["ok"] is True
    call = await env.call("CA1")
    assert (call["st"], call["ln"], call["fr"], call["pend"]) == (
        "ivr", "12345", "138****", "exclusion:petition")
    counts = await env.counters("l", "12345")
    assert (counts["calls"], counts["excluded"], counts["exclusion:petition"]) == (1, 1, 1)


async def test_note_closed_counts_on_the_queue(env: Env) -> None:
    await env.acd.begin("CA1", "12366", "x")
    await env.acd.note("CA1", "closed", "sub", "12366")
    assert (await env.counters("q", "sub"))["closed"] == 1


@pytest.mark.parametrize("state", ["waiting", "ended"])
async def test_note_on_a_call_out_of_the_ivr_changes_nothing(env: Env, state: str) -> None:
    await env.enqueue("CA1")
    if state == "ended":
        await env.acd.hangup("CA1", "completed")
    before = await env.snapshot()
    assert await env.acd.note("CA1", "transfer", "110", "12345") == {"ok": False, "st": state}
    assert await env.snapshot() == before
