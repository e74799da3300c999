"""The virtual-time kernel and the wall-clock runtime: order, signals, errors."""

from __future__ import annotations

import asyncio

import pytest

from ivr.clock import ManualClock
from ivr.phone.runtime import HANGUP, REDIRECT, RealTime, Signal, VirtualTime


async def test_wakeups_in_time_order_one_at_a_time() -> None:
    clock = ManualClock(100.0)
    rt = VirtualTime(clock)
    log: list[tuple[str, float]] = []

    async def sleeper(name: str, *gaps: float) -> None:
        for gap in gaps:
            assert await rt.sleep(gap)
            log.append((name, clock.now()))

    rt.spawn(sleeper("a", 5, 5))
    rt.spawn(sleeper("b", 3, 4))
    await rt.settle()
    await rt.run_until()
    assert log == [("b", 103.0), ("a", 105.0), ("b", 107.0), ("a", 110.0)]
    assert rt.events == 4
    assert rt.next_time() is None


async def test_a_signal_cuts_a_sleep_short_at_the_current_time() -> None:
    clock = ManualClock(0.0)
    rt = VirtualTime(clock)
    signal = Signal()
    woke: list[tuple[bool, float]] = []

    async def holder() -> None:
        woke.append((await rt.sleep(10, signal), clock.now()))

    rt.spawn(holder())
    await rt.settle()
    rt.call_later(4, lambda: signal.fire(REDIRECT, "/voice/wait"))
    await rt.run_until()
    assert woke == [(False, 4.0)]
    assert signal.take_redirect() == "/voice/wait"
    assert signal.kind is None


def test_a_hangup_is_never_replaced_by_a_redirect() -> None:
    signal = Signal()
    signal.fire(HANGUP)
    signal.fire(REDIRECT, "/x")
    assert signal.hangup
    assert signal.take_redirect() is None


async def test_horizon_cancelled_callbacks_and_errors() -> None:
    clock = ManualClock(0.0)
    rt = VirtualTime(clock)
    ran: list[float] = []
    rt.call_later(1, lambda: ran.append(clock.now()))
    rt.call_later(2, lambda: ran.append(clock.now())).cancel()
    rt.call_later(5, lambda: ran.append(clock.now()))
    await rt.run_until(3.0)
    assert ran == [1.0]
    assert rt.next_time() == 5.0

    async def broken() -> None:
        await rt.sleep(1)
        raise ValueError("boom")

    rt.spawn(broken())
    await rt.settle()
    with pytest.raises(ValueError, match="boom"):
        await rt.run_until()


async def test_real_time_sleep_is_interrupted_by_a_signal() -> None:
    rt = RealTime(lambda: asyncio.get_running_loop().time())
    signal = Signal()
    asyncio.get_running_loop().call_later(0.05, lambda: signal.fire(HANGUP))
    assert await rt.sleep(5, signal) is False
    assert await rt.sleep(0.01) is True
