"""The archive's event stream as the scripts write it: call records and seat intervals."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest

from ivr.core.config import CenterConfig
from tests.store.acd_env import Env, open_env


@pytest.fixture
async def env(redis_url: str, base_config: CenterConfig) -> AsyncIterator[Env]:
    async with open_env(redis_url, base_config, event_cap=1000) as e:
        yield e


async def events(env: Env) -> list[tuple[str, dict[str, Any]]]:
    """Every event so far: (kind, decoded fields)."""
    raw = cast(list[tuple[str, dict[str, str]]], await env.redis.xrange(env.keys.events()))
    return [(fields["e"], json.loads(fields["d"])) for _, fields in raw]


async def test_a_seat_interval_is_written_when_the_seat_leaves_a_state(env: Env) -> None:
    await env.ready("a2")
    env.clock.advance(30)
    await env.acd.seat("a2", "break")
    seats = [d for k, d in await events(env) if k == "seat"]
    t0 = 1_800_000_000_000
    assert seats[-2:] == [
        {"seat": "a2", "st": "offline", "from": t0, "to": t0, "next": "ready", "call": ""},
        {"seat": "a2", "st": "ready", "from": t0, "to": t0 + 30_000, "next": "break", "call": ""},
    ]


async def test_an_ended_call_is_written_once_without_the_callback_number(env: Env) -> None:
    await env.enqueue("CA1")
    await env.acd.callback_request("CA1", "+8613800138000")
    env.clock.advance(5)
    await env.ready("a2")
    await env.acd.answered("CA1", "a2")
    env.clock.advance(60)
    await env.acd.hangup("CA1", "completed")
    await env.acd.hangup("CA1", "completed")  # repeated: no second record
    calls = [d for k, d in await events(env) if k == "call"]
    assert len(calls) == 1
    (rec,) = calls
    assert (rec["sid"], rec["st"], rec["out"], rec["talk"], rec["cb"]) == (
        "CA1", "ended", "answered", "60000", "1")
    assert "cbn" not in rec
    assert "+8613800138000" not in json.dumps(await events(env))


async def test_a_rating_rewrites_the_call_record(env: Env) -> None:
    await env.ready("a2")
    await env.talking("CA1", "a2")
    await env.acd.hangup("CA1", "completed")
    await env.acd.rate("CA1", "1")
    calls = [d for k, d in await events(env) if k == "call"]
    assert [c.get("rating") for c in calls] == [None, "1"]


async def test_rate_limited_calls_are_written_too(env: Env) -> None:
    for i in range(4):
        await env.acd.begin(f"CA{i}", "12345", "x", number="+8613800138000")
    calls = [d for k, d in await events(env) if k == "call"]
    assert [(c["sid"], c["out"]) for c in calls] == [("CA3", "rate_limited")]


async def test_no_stream_without_a_cap(redis_url: str, base_config: CenterConfig) -> None:
    async with open_env(redis_url, base_config) as env:
        await env.ready("a2")
        await env.talking("CA1", "a2")
        await env.acd.hangup("CA1", "completed")
        assert await env.redis.exists(env.keys.events()) == 0
