"""Time for the simulated phone network: the wall clock, or a virtual clock.

Every wait of a call (a ``<Pause>``, a ring, a talk) goes through a runtime's
``sleep``, which a :class:`Signal` can cut short: a REST redirect from the service, or
the caller hanging up.

:class:`RealTime` waits on the wall clock (``ivr call`` against a live service).
:class:`VirtualTime` is a discrete-event kernel over a :class:`~ivr.clock.ManualClock`:
tasks sleep on a heap of wake-ups, and :meth:`VirtualTime.step` pops the earliest one,
moves the clock there, wakes the task and waits until every task is asleep again
(requests to the service and Redis round trips run for real meanwhile). Exactly one
wake-up is handled at a time, so a run with a given seed is reproducible.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from ivr.clock import ManualClock

HANGUP = "hangup"
REDIRECT = "redirect"


class Signal:
    """Cuts a call's current wait short: ``redirect`` (with a URL) or ``hangup``."""

    def __init__(self) -> None:
        self.kind: str | None = None
        self.url = ""
        self._wake: Callable[[], None] | None = None

    def fire(self, kind: str, url: str = "") -> None:
        """Raise the signal; a hang-up is never replaced by a redirect."""
        if self.kind == HANGUP:
            return
        self.kind, self.url = kind, url
        wake, self._wake = self._wake, None
        if wake is not None:
            wake()

    @property
    def hangup(self) -> bool:
        """Whether the caller hung up."""
        return self.kind == HANGUP

    def take_redirect(self) -> str | None:
        """The pending redirect URL, consumed; None if there is none."""
        if self.kind != REDIRECT:
            return None
        self.kind = None
        return self.url


class Runtime(Protocol):
    """What the interpreter needs of time."""

    def now(self) -> float:
        """The current time in seconds."""
        ...

    async def sleep(self, seconds: float, signal: Signal | None = None) -> bool:
        """Wait; True when the time ran out, False when ``signal`` cut it short."""
        ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a coroutine alongside."""
        ...

    def call_later(self, delay: float, fn: Callable[[], None]) -> Handle:
        """Call ``fn`` after ``delay`` seconds, unless cancelled."""
        ...


class Handle(Protocol):
    """A scheduled callback."""

    def cancel(self) -> None:
        """Do not run it."""
        ...


class RealTime:
    """The wall clock and the running asyncio loop."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.tasks: set[asyncio.Task[None]] = set()

    def now(self) -> float:
        """Wall-clock seconds."""
        return self._now()

    async def sleep(self, seconds: float, signal: Signal | None = None) -> bool:
        """Sleep on the loop, woken early by the signal."""
        if signal is not None and signal.kind:
            return False
        if signal is None:
            await asyncio.sleep(max(0.0, seconds))
            return True
        event = asyncio.Event()
        signal._wake = event.set
        try:
            await asyncio.wait_for(event.wait(), timeout=max(0.0, seconds))
            return False
        except TimeoutError:
            return True
        finally:
            signal._wake = None

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Start a task and keep a reference until it ends."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Handle:
        """``loop.call_later``."""
        return asyncio.get_running_loop().call_later(max(0.0, delay), fn)


@dataclass(eq=False)
class _Item:
    fn: Callable[[], None]
    cancelled: bool = False
    done: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class VirtualTime:
    """A discrete-event kernel on a manual clock (see the module docstring)."""

    clock: ManualClock
    errors: list[BaseException] = field(default_factory=list)
    events: int = 0
    _heap: list[tuple[float, int, _Item]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _busy: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._idle.set()

    def now(self) -> float:
        """Virtual seconds."""
        return self.clock.now()

    def _push(self, t: float, item: _Item) -> _Item:
        heapq.heappush(self._heap, (max(t, self.clock.now()), next(self._seq), item))
        return item

    def call_later(self, delay: float, fn: Callable[[], None]) -> Handle:
        """Schedule a plain callback (run by the kernel between wake-ups)."""
        return self._push(self.clock.now() + max(0.0, delay), _Item(fn))

    def _leave(self) -> None:
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    def _enter(self) -> None:
        self._busy += 1
        self._idle.clear()

    async def sleep(self, seconds: float, signal: Signal | None = None) -> bool:
        """Sleep in virtual time; a signal wakes the task at the current time instead."""
        if signal is not None and signal.kind:
            return False
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def wake(value: bool) -> Callable[[], None]:
            def run() -> None:
                if not fut.done():
                    self._enter()
                    fut.set_result(value)
            return run

        timer = self._push(self.clock.now() + max(0.0, seconds), _Item(wake(True)))
        if signal is not None:
            def cut() -> None:
                timer.cancel()
                self._push(self.clock.now(), _Item(wake(False)))
            signal._wake = cut
        self._leave()
        try:
            return await fut
        finally:
            if signal is not None and signal._wake is not None:
                signal._wake = None

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Start a task; the kernel waits for it like for a woken sleeper."""
        self._enter()
        task = asyncio.ensure_future(self._guard(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except Exception as exc:  # surfaced by step()
            self.errors.append(exc)
        finally:
            self._leave()

    def next_time(self) -> float | None:
        """When the next wake-up is due (None when nothing is scheduled)."""
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    async def step(self) -> None:
        """Handle the earliest wake-up and wait until every task sleeps again."""
        if self.next_time() is None:
            return
        t, _, item = heapq.heappop(self._heap)
        if t > self.clock.t:
            self.clock.t = t
        self.events += 1
        item.done = True
        item.fn()
        await self._idle.wait()
        if self.errors:
            raise self.errors[0]

    async def settle(self) -> None:
        """Wait until every task started outside ``step`` sleeps (after spawning at start)."""
        await self._idle.wait()
        if self.errors:
            raise self.errors[0]

    async def run_until(self, horizon: float | None = None,
                        after: Callable[[], Coroutine[Any, Any, None]] | None = None,
                        before: Callable[[float], Coroutine[Any, Any, None]] | None = None,
                        ) -> None:
        """Handle wake-ups up to ``horizon`` (all when None), calling ``after`` after each.

        ``before(t)`` runs whenever the clock is about to move on to ``t``; it may schedule
        something earlier, which then comes first. The clock ends at the horizon.
        """
        while (t := self.next_time()) is not None and (horizon is None or t <= horizon):
            if before is not None and t > self.clock.t:
                await before(t)
                if self.next_time() != t:
                    continue
            await self.step()
            if after is not None:
                await after()
        if horizon is not None and self.clock.t < horizon:
            self.clock.t = horizon

    def cancel_all(self) -> None:
        """Cancel every task still asleep (the end of a run)."""
        for task in list(self._tasks):
            task.cancel()
        self._heap.clear()
