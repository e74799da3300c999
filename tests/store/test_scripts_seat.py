"""The seat scripts on real Redis: seat (login/ready/break/logout), seat_sync, seat_remove,
seat_handoff; each asserted by the seat hash, the ready and logged-in sets and the timers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ivr.core import states
from ivr.core.config import CenterConfig
from ivr.core.roster import Roster
from tests.store.acd_env import ROSTER, SUB, Env, open_env


@pytest.fixture
async def env(redis_url: str, base_config: CenterConfig) -> AsyncIterator[Env]:
    async with open_env(redis_url, base_config) as e:
        yield e


# ---- seat -----------------------------------------------------------------------------

async def test_roster_sync_writes_offline_seats(env: Env) -> None:
    assert await env.members(env.keys.seats()) == {"a1", "a2", "s1"}
    a1 = await env.seat("a1")
    assert (a1["st"], a1["ep"], a1["qs"], a1["name"]) == ("offline", "client:a1", "pool", "A1")
    assert set(a1["sets"].split(",")) == {"pool|any", "pool|traffic"}
    assert await env.members(env.keys.logged("pool")) == set()



async def test_config_sync_writes_only_fields_the_tables_name(env: Env) -> None:
    """The meta and queue-settings hashes Python writes hold fields states.py names (and
    the scripts read through MF/QF), so a field renamed on one side fails here."""
    meta = await env.redis.hgetall(env.keys.meta())
    assert meta
    assert set(meta) <= set(states.META_FIELDS)
    for queue in ("pool", "sub"):
        qcfg = await env.redis.hgetall(env.keys.qcfg(queue))
        assert set(qcfg) == set(states.QUEUE_FIELDS), queue
    seat = await env.seat("a1")
    assert set(seat) <= set(states.SEAT_FIELDS)

async def test_login_makes_a_seat_ready_in_every_set(env: Env) -> None:
    res = await env.acd.seat("a1", "login")
    assert (res["st"], res["call"], res["redirect"]) == ("ready", "", [])
    assert "error" not in res
    assert await env.zset(env.keys.ready("pool", "any")) == ["a1"]
    assert await env.zset(env.keys.ready("pool", "traffic")) == ["a1"]
    assert await env.members(env.keys.logged("pool")) == {"a1"}


async def test_login_takes_the_best_waiting_call(env: Env) -> None:
    await env.enqueue("CA1")
    env.clock.advance(1)
    await env.enqueue("CA2")
    res = await env.acd.seat("a2", "login")
    assert (res["st"], res["call"], res["redirect"]) == ("reserved", "CA1", ["CA1"])
    assert await env.zset(env.keys.ready("pool", "any")) == []


async def test_login_twice_changes_nothing(env: Env) -> None:
    await env.ready("a1")
    before = await env.snapshot()
    env.clock.advance(5)
    res = await env.acd.seat("a1", "login")
    assert res["st"] == "ready"
    assert "error" not in res
    assert await env.snapshot() == before


async def test_the_longest_idle_seat_is_offered_first(env: Env) -> None:
    await env.ready("a2")
    env.clock.advance(1)
    await env.ready("a1")
    assert (await env.enqueue("CA1"))["seat"] == "a2"
    assert (await env.enqueue("CA2"))["seat"] == "a1"


async def test_break_leaves_the_ready_sets_and_ready_comes_back(env: Env) -> None:
    await env.ready("a1")
    res = await env.acd.seat("a1", "break")
    assert res["st"] == "break"
    assert await env.zset(env.keys.ready("pool", "any")) == []
    assert await env.members(env.keys.logged("pool")) == {"a1"}  # still logged in
    assert (await env.enqueue("CA1"))["st"] == "waiting"
    res = await env.acd.seat("a1", "ready")
    assert (res["st"], res["call"], res["redirect"]) == ("reserved", "CA1", ["CA1"])


async def test_logout_leaves_every_set(env: Env) -> None:
    await env.ready("a1")
    res = await env.acd.seat("a1", "logout")
    assert res["st"] == "offline"
    assert await env.zset(env.keys.ready("pool", "any")) == []
    assert await env.zset(env.keys.ready("pool", "traffic")) == []
    assert await env.members(env.keys.logged("pool")) == set()
    before = await env.snapshot()
    assert (await env.acd.seat("a1", "logout"))["st"] == "offline"  # again: nothing changes
    assert await env.snapshot() == before


@pytest.mark.parametrize(("action", "error"), [("ready", "seat is not logged in"),
                                               ("break", "seat is not logged in"),
                                               ("dance", "unknown action dance")])
async def test_refused_actions_change_nothing(env: Env, action: str, error: str) -> None:
    before = await env.snapshot()
    res = await env.acd.seat("a1", action)
    assert res["error"] == error
    assert await env.snapshot() == before


async def test_unknown_seat_is_refused(env: Env) -> None:
    before = await env.snapshot()
    assert (await env.acd.seat("zz", "login"))["error"] == "unknown seat"
    assert await env.snapshot() == before


@pytest.mark.parametrize("action", ["break", "logout", "ready"])
async def test_a_seat_with_a_call_keeps_it(env: Env, action: str) -> None:
    await env.ready("a2")
    await env.enqueue("CA1")
    before = await env.snapshot()
    res = await env.acd.seat("a2", action)
    assert (res["st"], res["call"], res["error"]) == ("reserved", "CA1", "seat has a call in progress")
    assert await env.snapshot() == before


async def test_logout_of_the_last_subcenter_seat_overflows_its_callers(env: Env) -> None:
    await env.ready("s1")
    await env.enqueue("CA0", SUB)  # s1 takes it
    await env.acd.dial_done("CA0", "s1", "no-answer", 0)  # s1 to break, CA0 waits in sub
    await env.enqueue("CA1", SUB)
    assert await env.zset(env.keys.wait("sub", "any")) == ["CA0", "CA1"]
    await env.ready("a2")  # a pool seat, not for the sub-center
    res = await env.acd.seat("s1", "logout")
    assert res["st"] == "offline"
    assert await env.zset(env.keys.wait("sub", "any")) == []
    assert (await env.call("CA0"))["seat"] == "a2"  # the pool seat took the first
    assert (await env.call("CA1"))["q"] == "pool"
    assert res["redirect"] == ["CA0"]
    assert (await env.counters("q", "sub"))["overflow_out"] == 2


async def _sub_callers(env: Env, n: int) -> list[str]:
    """``n`` callers waiting in the sub-center while its one seat is logged in on break."""
    await env.ready("s1")
    assert (await env.acd.seat("s1", "break"))["st"] == "break"
    sids = [f"CA{i:03d}" for i in range(n)]
    for sid in sids:
        assert (await env.enqueue(sid, SUB))["st"] == "waiting"
    return sids


async def test_logout_of_the_last_seat_moves_one_batch_and_the_tick_the_rest(env: Env) -> None:
    """The logout does not walk a long wait list: DRAIN_BATCH callers now, the rest by tick."""
    sids = await _sub_callers(env, states.DRAIN_BATCH + 5)
    res = await env.acd.seat("s1", "logout")
    assert res["st"] == "offline"
    assert await env.zset(env.keys.wait("sub", "any")) == sids[-5:]  # the best moved first
    assert "v:sub" in await env.timers()
    assert (await env.counters("q", "sub"))["overflow_out"] == len(sids) - 5
    await env.acd.tick()
    assert await env.zset(env.keys.wait("sub", "any")) == []
    assert "v:sub" not in await env.timers()
    assert await env.zset(env.keys.wait("pool", "any")) == sids  # in their order of arrival
    assert (await env.counters("q", "sub"))["overflow_out"] == len(sids)
    assert not await env.redis.hgetall(env.keys.qstat("sub"))


async def test_a_drain_passes_calls_that_overflowed_in_once(env: Env) -> None:
    """Calls that came from another queue stay; the next batch starts after them."""
    batch = states.DRAIN_BATCH
    sids = await _sub_callers(env, batch + 3)
    for sid in sids[:batch + 1]:  # these overflowed into sub from elsewhere: they stay
        await env.redis.hset(env.keys.call(sid), "oq", "elsewhere")
    await env.acd.seat("s1", "logout")
    assert await env.zset(env.keys.wait("sub", "any")) == sids  # a batch of calls that stay
    assert "v:sub" in await env.timers()
    await env.acd.tick()
    assert await env.zset(env.keys.wait("sub", "any")) == sids[:batch + 1]
    assert await env.zset(env.keys.wait("pool", "any")) == sids[batch + 1:]
    assert "v:sub" not in await env.timers()


async def test_a_drain_stops_when_a_seat_logs_in_again(env: Env) -> None:
    sids = await _sub_callers(env, states.DRAIN_BATCH + 2)
    await env.acd.seat("s1", "logout")
    res = await env.acd.seat("s1", "login")
    assert res["redirect"] == [sids[-2]]  # it takes the first caller still there
    await env.acd.tick()
    assert await env.zset(env.keys.wait("sub", "any")) == sids[-1:]  # nobody else moves
    assert "v:sub" not in await env.timers()


async def test_removing_or_moving_the_last_logged_in_seat_drains_the_queue(env: Env) -> None:
    """Not only a logout: a queue left with nobody by an admin's change overflows too."""
    sids = await _sub_callers(env, 2)
    assert (await env.acd.remove_seat("s1"))["ok"] is True
    assert "v:sub" in await env.timers()  # the tick moves them (and redirects any reserved)
    await env.acd.tick()
    assert await env.zset(env.keys.wait("pool", "any")) == sids


async def test_a_roster_change_that_empties_a_queue_drains_it(env: Env) -> None:
    sids = await _sub_callers(env, 2)
    data = ROSTER.model_dump()
    data["seats"] = [s | {"queues": ("pool",)} if s["id"] == "s1" else s for s in data["seats"]]
    await env.acd.sync_config(dataclasses.replace(env.config, roster=Roster.model_validate(data)))
    assert await env.zset(env.keys.wait("sub", "any")) == []
    assert await env.zset(env.keys.wait("pool", "any")) == sids


# ---- seat_sync ------------------------------------------------------------------------

def _roster(**seat_changes: object) -> Roster:
    data = ROSTER.model_dump()
    data["seats"] = [s | seat_changes if s["id"] == "a2" else s for s in data["seats"]]
    return Roster.model_validate(data)


async def test_sync_moves_a_ready_seat_to_its_new_sets(env: Env) -> None:
    await env.ready("a2")
    # a2 serves the sub-center from now on
    cfg = dataclasses.replace(env.config, roster=_roster(queues=("sub",), skills=()))
    redirect = await env.acd.sync_config(cfg)
    assert redirect == []
    seat = await env.seat("a2")
    assert (seat["st"], seat["qs"], seat["sets"]) == ("ready", "sub", "sub|any")
    assert await env.zset(env.keys.ready("pool", "any")) == []
    assert await env.zset(env.keys.ready("sub", "any")) == ["a2"]
    assert await env.members(env.keys.logged("pool")) == set()
    assert await env.members(env.keys.logged("sub")) == {"a2"}


async def test_sync_of_a_ready_seat_takes_a_call_waiting_in_its_new_queue(env: Env) -> None:
    await env.ready("s1", "a2")
    await env.acd.seat("s1", "break")
    await env.enqueue("CA1", SUB)  # s1 is logged in (on break): the call waits in sub
    assert await env.zset(env.keys.wait("sub", "any")) == ["CA1"]
    redirect = await env.acd.sync_config(
        dataclasses.replace(env.config, roster=_roster(queues=("sub",))))
    assert redirect == ["CA1"]
    assert (await env.seat("a2"))["call"] == "CA1"


async def test_sync_keeps_live_state_and_is_idempotent(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.sync_config(env.config)
    before = await env.snapshot()
    assert await env.acd.sync_config(env.config) == []
    assert await env.snapshot() == before
    seat = await env.seat("a2")
    assert (seat["st"], seat["call"]) == ("talking", "CA1")


async def test_sync_writes_a_new_endpoint_of_an_offline_seat(env: Env) -> None:
    await env.acd.sync_config(dataclasses.replace(
        env.config, roster=_roster(endpoint="sip:a2@pbx.test", name="New")))
    seat = await env.seat("a2")
    assert (seat["st"], seat["ep"], seat["name"]) == ("offline", "sip:a2@pbx.test", "New")
    assert await env.zset(env.keys.ready("pool", "any")) == []


async def test_the_roster_is_synced_in_one_script_call_and_only_once(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every worker syncs after a config change: one call each; all but the first change nothing."""
    calls: list[object] = []
    real = env.acd._scripts["seat_sync"]

    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return await real(*args, **kwargs)

    monkeypatch.setitem(env.acd._scripts, "seat_sync", counted)
    cfg = dataclasses.replace(env.config, roster=_roster(endpoint="sip:a2@pbx.test"))
    await env.acd.sync_config(cfg)
    assert len(calls) == 1  # three seats, one script call
    assert (await env.seat("a2"))["ep"] == "sip:a2@pbx.test"
    before = await env.snapshot()
    assert await env.acd.sync_config(cfg) == []  # another worker, the same roster
    assert await env.snapshot() == before


async def test_sync_keeps_a_seat_that_left_the_roster_during_a_call(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    roster = Roster.model_validate({**ROSTER.model_dump(), "seats": [
        s for s in ROSTER.model_dump()["seats"] if s["id"] != "a2"]})
    args = [x for seat in roster.seats for x in (seat.id, "", "", "", "")]
    res = await env.acd._run("seat_sync", len(roster.seats), *args)
    assert res["kept"] == ["a2"]
    assert await env.members(env.keys.seats()) == {"a1", "a2", "s1"}
    assert (await env.seat("a2"))["st"] == "talking"


# ---- seat_remove ----------------------------------------------------------------------

async def test_remove_takes_a_ready_seat_out_of_everything(env: Env) -> None:
    await env.ready("a1")
    assert await env.acd.remove_seat("a1") == {"ok": True}
    assert await env.seat("a1") == {}
    assert "a1" not in await env.members(env.keys.seats())
    assert await env.zset(env.keys.ready("pool", "any")) == []
    assert await env.zset(env.keys.ready("pool", "traffic")) == []
    assert await env.members(env.keys.logged("pool")) == set()
    assert (await env.acd.seat("a1", "login"))["error"] == "unknown seat"


async def test_remove_clears_a_wrapup_timer(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.hangup("CA1", "completed")
    assert "w:a2" in await env.timers()
    assert (await env.acd.remove_seat("a2"))["ok"] is True
    assert "w:a2" not in await env.timers()


@pytest.mark.parametrize("talking", [False, True])
async def test_remove_refuses_a_seat_with_a_call(env: Env, talking: bool) -> None:
    await env.ready("a2")
    if talking:
        await env.talking("CA1", "a2")
    else:
        await env.enqueue("CA1")
    before = await env.snapshot()
    assert await env.acd.remove_seat("a2") == {"error": "seat has a call in progress"}
    assert await env.snapshot() == before


async def test_sync_removes_seats_no_longer_in_the_roster(env: Env) -> None:
    await env.ready("a2")
    roster = Roster.model_validate({**ROSTER.model_dump(), "seats": [
        s for s in ROSTER.model_dump()["seats"] if s["id"] != "a2"]})
    await env.acd.sync_config(dataclasses.replace(env.config, roster=roster))
    assert await env.members(env.keys.seats()) == {"a1", "s1"}
    assert await env.zset(env.keys.ready("pool", "any")) == []


# ---- seat_handoff ---------------------------------------------------------------------

async def test_handoff_check_changes_nothing(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    before = await env.snapshot()
    res = await env.acd.handoff("a2", "transfer", "110", keep=False, commit=False)
    assert res == {"sid": "CA1", "leg": "CA-leg-CA1", "redirect": []}
    assert await env.snapshot() == before


async def test_cold_handoff_ends_the_talk_once(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.enqueue("CA2")
    res = await env.acd.handoff("a2", "exclusion", "court", keep=False)
    assert res["sid"] == "CA1"
    call = await env.call("CA1")
    assert (call["st"], call["out"], call["xfer"]) == ("ended", "answered", "exclusion:court")
    assert (await env.seat("a2"))["st"] == "wrapup"
    counts = await env.counters("l", "12345")
    assert (counts["excluded"], counts["exclusion:court"]) == (1, 1)
    before = await env.snapshot()
    assert (await env.acd.handoff("a2", "exclusion", "court", keep=False))["error"]
    assert await env.snapshot() == before


async def test_warm_handoff_keeps_the_seat_talking(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    res = await env.acd.handoff("a2", "transfer", "110", keep=True)
    assert res["sid"] == "CA1"
    call = await env.call("CA1")
    assert (call["st"], call["warm"], call["xfer"]) == ("talking", "1", "transfer:110")
    assert (await env.seat("a2"))["st"] == "talking"
    before = await env.snapshot()
    await env.acd.handoff("a2", "transfer", "110", keep=True)  # repeated: counted once
    assert await env.snapshot() == before
    assert (await env.counters("l", "12345"))["transfer:110"] == 1


async def test_handoff_without_a_talk_is_refused(env: Env) -> None:
    await env.ready("a2")
    await env.enqueue("CA1")  # reserved, not talking
    before = await env.snapshot()
    assert (await env.acd.handoff("a2", "transfer", "110", keep=False))["error"]
    assert (await env.acd.handoff("a1", "transfer", "110", keep=False))["error"]
    assert await env.snapshot() == before


@pytest.mark.parametrize(("action", "state"), [("break", "break"), ("logout", "offline")])
async def test_leaving_wrapup_cancels_its_timer(env: Env, action: str, state: str) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.hangup("CA1", "completed")
    assert (await env.acd.seat("a2", action))["st"] == state
    assert "w:a2" not in await env.timers()
    env.clock.advance(60)
    await env.enqueue("CA2")
    await env.acd.tick()
    assert (await env.seat("a2"))["st"] == state  # the wrap-up end does not make it ready
    assert (await env.call("CA2"))["st"] == "waiting"


async def test_ready_during_wrapup_ends_it_early(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.hangup("CA1", "completed")
    await env.enqueue("CA2")
    res = await env.acd.seat("a2", "ready")
    assert (res["st"], res["call"], res["redirect"]) == ("reserved", "CA2", ["CA2"])
    assert "w:a2" not in await env.timers()
