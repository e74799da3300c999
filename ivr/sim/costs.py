"""Where a run's time goes: wall-clock and CPU seconds by part.

The service's part is measured around each request it is sent (:class:`TimedTransport`)
and each sweep (:class:`TimedSweeper`); the simulator's own parts (timer look-ups,
work-conservation probes, samples, full checks) around their code (:meth:`Costs.part`).
What is left of the run is the simulated Twilio, the phones, the recorder and the event
kernel. CPU is this process's (``time.process_time``): on a machine shared with other
work it moves much less than the wall clock, which mostly measures the others.
"""

from __future__ import annotations

import time
from collections import defaultdict

from ivr.phone.service import TimerSweeper
from ivr.phone.transport import Reply, Transport

SERVICE = "service (webhooks, seat API, sweeps)"
REST = "simulator and kernel (the rest)"


class Costs:
    """Wall and CPU seconds by part of a run."""

    def __init__(self) -> None:
        self.wall: defaultdict[str, float] = defaultdict(float)
        self.cpu: defaultdict[str, float] = defaultdict(float)

    def part(self, name: str) -> _Part:
        """Count the time the block (``with costs.part(name):``) takes as ``name``'s."""
        return _Part(self, name)

    def table(self, service: tuple[float, float], total: tuple[float, float],
              ) -> tuple[dict[str, float], dict[str, float]]:
        """Wall and CPU by part, the service's (wall, cpu) first, the rest last."""
        out = []
        for i, mine in enumerate((self.wall, self.cpu)):
            parts = {SERVICE: service[i], **mine}
            parts[REST] = total[i] - sum(parts.values())
            out.append({k: round(v, 3) for k, v in parts.items()})
        return out[0], out[1]


class _Part:
    """A block timed for :meth:`Costs.part` (a class: a generator costs twice the time)."""

    __slots__ = ("costs", "cpu", "name", "wall")

    def __init__(self, costs: Costs, name: str) -> None:
        self.costs, self.name = costs, name

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc: object) -> None:
        self.costs.wall[self.name] += time.perf_counter() - self.wall
        self.costs.cpu[self.name] += time.process_time() - self.cpu


class TimedTransport:
    """Counts the requests sent through another transport, with their wall and CPU seconds."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.count = 0
        self.seconds = 0.0
        self.cpu = 0.0

    async def request(self, method: str, url: str, form: dict[str, str] | None,
                      headers: dict[str, str], content: bytes | None = None) -> Reply:
        """Send through the inner transport."""
        self.count += 1
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return await self.inner.request(method, url, form, headers, content)
        finally:
            self.seconds += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu


class TimedSweeper(TimerSweeper):
    """The phone's :class:`TimerSweeper`, also counting the CPU seconds of its sweeps."""

    cpu = 0.0

    async def _sweep(self) -> None:
        start = time.process_time()
        try:
            await super()._sweep()
        finally:
            self.cpu += time.process_time() - start
