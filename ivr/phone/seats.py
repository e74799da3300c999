"""Simulated seats: operators with softphones, using only the seat API and their phone.

A :class:`SeatAgent` logs in through the seat API, and when a ``<Dial>`` rings its
endpoint it answers after a ring delay (or lets it ring out, with a configurable
probability), talks for a handle time drawn from its :class:`Behaviour`, and hangs
up. Wrap-up ends by itself in the service; after a missed call the operator looks at
the softphone (``GET /api/seats/{id}``) and, if the service put the seat on break,
goes ready again after a pause, as a person would.

The agent also checks what only the phone can see: it must never ring while it
rings or talks already, nor during its wrap-up. Breaches go to ``violations``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ivr.phone.runtime import Runtime
from ivr.phone.switchboard import Offer, Pickup, Refuse
from ivr.phone.transport import SeatApi

TalkTime = Callable[[random.Random], float | None]


def exponential(mean: float) -> TalkTime:
    """Handle times drawn from an exponential distribution with this mean (seconds)."""
    return lambda rng: rng.expovariate(1.0 / mean)


def lognormal(mean: float, cv: float) -> TalkTime:
    """Handle times drawn from a lognormal with this mean and coefficient of variation."""
    sigma = math.sqrt(math.log(1.0 + cv * cv))
    mu = math.log(mean) - sigma * sigma / 2.0
    return lambda rng: rng.lognormvariate(mu, sigma)


def fixed(seconds: float | None) -> TalkTime:
    """Always the same handle time (None: talk until the caller hangs up)."""
    return lambda rng: seconds


@dataclass(frozen=True)
class Behaviour:
    """How an operator handles calls."""

    talk: TalkTime = field(default_factory=lambda: exponential(240.0))
    ring_seconds: float = 2.0  # mean delay before picking up; drawn uniformly in [0.5, 1.5]x
    no_answer: float = 0.0  # probability of letting a call ring out
    back_after_miss: float = 30.0  # seconds before going ready again after a missed call


@dataclass
class SeatAgent:
    """One simulated operator at one seat."""

    seat: str
    api: SeatApi
    runtime: Runtime
    behaviour: Behaviour = field(default_factory=Behaviour)
    rng: random.Random = field(default_factory=random.Random)
    queues: tuple[str, ...] = ()
    wrap_seconds: float = 0.0
    state: str = "offline"
    call: str = ""
    wrap_until: float = 0.0
    busy: list[tuple[float, float]] = field(default_factory=list)
    logged: list[tuple[float, float | None]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    answered_calls: int = 0
    missed_calls: int = 0
    on_break: bool = False
    watchers: list[Callable[[SeatAgent], None]] = field(default_factory=list, repr=False)
    _ring_start: float = 0.0

    def _changed(self) -> None:
        for watch in self.watchers:
            watch(self)

    async def login(self) -> None:
        """Log in through the seat API (and become ready)."""
        reply = await self.api.act(self.seat, "login")
        if reply.status != 200:
            self.violations.append(f"seat {self.seat} could not log in: {reply.status} "
                                   f"{reply.text[:120]}")
            return
        self.state = "idle"
        self.logged.append((self.runtime.now(), None))
        self._changed()

    async def logout(self) -> None:
        """Log out through the seat API (refused while a call is on)."""
        reply = await self.api.act(self.seat, "logout")
        if reply.status == 200 and self.logged and self.logged[-1][1] is None:
            self.logged[-1] = (self.logged[-1][0], self.runtime.now())
            self.state = "offline"
            self._changed()

    def ring(self, offer: Offer) -> Pickup | Refuse:
        """A call rings: check it may, then pick up after a delay or let it ring out."""
        now = self.runtime.now()
        if self.state in ("ringing", "talking"):
            self.violations.append(f"{now:.3f}: seat {self.seat} rang for {offer.call_sid} "
                                   f"while it holds {self.call}")
            return Refuse("busy")
        if self.state == "offline":
            self.violations.append(f"{now:.3f}: seat {self.seat} rang while logged out")
        if self.on_break:
            self.violations.append(f"{now:.3f}: seat {self.seat} rang while on break")
        if now < self.wrap_until - 0.002:
            self.violations.append(f"{now:.3f}: seat {self.seat} rang during its wrap-up "
                                   f"(until {self.wrap_until:.3f})")
        self.state, self.call, self._ring_start = "ringing", offer.call_sid, now
        self._changed()
        if self.behaviour.no_answer and self.rng.random() < self.behaviour.no_answer:
            return Refuse("no-answer")
        after = self.behaviour.ring_seconds * self.rng.uniform(0.5, 1.5)
        return Pickup(after, self.behaviour.talk(self.rng))

    def answered(self, offer: Offer) -> None:
        """Talking now."""
        if offer.call_sid != self.call:
            return
        self.state = "talking"
        self.answered_calls += 1

    def ended(self, offer: Offer, talk_seconds: float, by: str) -> None:
        """The talk is over: wrap-up in the service, then ready by itself."""
        if offer.call_sid != self.call:
            return
        now = self.runtime.now()
        self.state, self.call = "idle", ""
        self.wrap_until = now + self.wrap_seconds
        self.busy.append((self._ring_start, self.wrap_until))
        self._changed()

    def missed(self, offer: Offer, status: str) -> None:
        """The ring ended unanswered; look at the softphone and come back if on break."""
        if offer.call_sid != self.call:
            return
        self.state, self.call = "idle", ""
        self.busy.append((self._ring_start, self.runtime.now()))
        if status == "canceled":  # the caller hung up first: not the operator's miss
            self._changed()
            return
        self.missed_calls += 1
        self.on_break = True
        self._changed()
        self.runtime.spawn(self._come_back())

    async def _come_back(self) -> None:
        look = min(1.0, self.behaviour.back_after_miss)  # the service hears of it first
        await self.runtime.sleep(look)
        reply = await self.api.state(self.seat)
        if reply.status == 200 and json.loads(reply.text).get("state") == "break":
            await self.runtime.sleep(self.behaviour.back_after_miss - look)
            await self.api.act(self.seat, "ready")
        self.on_break = False
        self._changed()

    def available(self, now: float) -> bool:
        """Whether the operator sits ready: logged in, no call, no break, wrap-up over."""
        return self.state == "idle" and not self.on_break and now >= self.wrap_until

    def busy_seconds(self, start: float, end: float) -> float:
        """Seconds spent ringing, talking or in wrap-up within [start, end]."""
        return sum(max(0.0, min(b, end) - max(a, start)) for a, b in self.busy)

    def logged_seconds(self, start: float, end: float) -> float:
        """Seconds logged in within [start, end]."""
        return sum(max(0.0, min(b if b is not None else end, end) - max(a, start))
                   for a, b in self.logged)
