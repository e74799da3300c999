"""Time as an input (DESIGN.md invariant 6): the store never asks Redis for TIME."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that says what time it is, in seconds since the epoch."""

    def now(self) -> float:
        """The current time in seconds."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> float:
        """The current wall-clock time."""
        return time.time()


class ManualClock:
    """A clock that moves only when told to (tests and the simulator)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        """The clock's current time."""
        return self.t

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.t += seconds
