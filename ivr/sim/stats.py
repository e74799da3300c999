"""Figures of a simulated run, per queue and per line, from the callers' records.

Definitions (all over calls that reached a queue, "offered"):

- answer rate = answered / (answered + abandoned);
- within SL = share of offered calls answered within the queue's ``sl_seconds`` (15 s);
- P(wait) = share of offered calls that found every seat busy (heard the hold loop);
- average and 90th-percentile wait are over answered calls (time to answer);
- longest wait is over every call, answered or not;
- occupancy = seat time spent ringing, talking or in wrap-up / seat time logged in.

:func:`batch_error` gives the sampling error of a share by batch means over time
batches, which respects the correlation between neighbouring calls in a queue.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ivr.phone.seats import SeatAgent
from ivr.sim.recorder import CallRecord


@dataclass(frozen=True)
class Figures:
    """The figures of one queue or line (see the module docstring)."""

    offered: int
    answered: int
    abandoned: int
    answer_rate: float | None
    within_sl: float | None
    p_wait: float | None
    avg_wait: float | None
    p90_wait: float | None
    longest_wait: float | None
    occupancy: float | None = None
    seats: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data, rounded for reading."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile (0..1) by linear interpolation; None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def figures(records: Iterable[CallRecord], sl_seconds: Callable[[CallRecord], float],
            occupancy: float | None = None, seats: int | None = None) -> Figures:
    """Figures over the records that reached a queue."""
    offered = [r for r in records if r.queued is not None]
    answered = [r for r in offered if r.answered is not None]
    abandoned = sum(1 for r in offered if r.outcome == "abandoned")
    waits = [r.wait for r in answered if r.wait is not None]
    every = [r.wait for r in offered if r.wait is not None]
    n = len(offered)
    done = len(answered) + abandoned
    within = sum(1 for r in answered if (r.wait or 0.0) <= sl_seconds(r))
    return Figures(
        offered=n, answered=len(answered), abandoned=abandoned,
        answer_rate=len(answered) / done if done else None,
        within_sl=within / n if n else None,
        p_wait=sum(1 for r in offered if r.found_busy) / n if n else None,
        avg_wait=statistics.fmean(waits) if waits else None,
        p90_wait=percentile(waits, 0.9), longest_wait=max(every) if every else None,
        occupancy=occupancy, seats=seats)


def occupancy(agents: Iterable[SeatAgent], start: float, end: float) -> float | None:
    """Busy share of logged-in seat time over [start, end]."""
    agents = list(agents)
    logged = sum(a.logged_seconds(start, end) for a in agents)
    return sum(a.busy_seconds(start, end) for a in agents) / logged if logged else None


def batch_error(records: list[CallRecord], start: float, end: float,
                share: Callable[[list[CallRecord]], float | None], batches: int = 10) -> float:
    """Standard error of a share by batch means over ``batches`` equal time slices."""
    span = (end - start) / batches
    groups: list[list[CallRecord]] = [[] for _ in range(batches)]
    for r in records:
        i = int((r.arrived - start) // span)
        if 0 <= i < batches:
            groups[i].append(r)
    values = [v for g in groups if (v := share(g)) is not None]
    if len(values) < 2:
        return math.inf
    return statistics.stdev(values) / math.sqrt(len(values))


def answer_rate_of(records: list[CallRecord]) -> float | None:
    """Answered / (answered + abandoned) of some records."""
    fig = figures(records, lambda r: 0.0)
    return fig.answer_rate


def p_wait_of(records: list[CallRecord]) -> float | None:
    """Share of offered calls that found every seat busy."""
    return figures(records, lambda r: 0.0).p_wait


def series_answer_rate(records: Iterable[CallRecord], start: float, end: float,
                       step: float = 900.0) -> list[tuple[float, float | None]]:
    """Answer rate of the calls that ended in each ``step``-second slice."""
    n = max(1, math.ceil((end - start) / step))
    answered, done = [0] * n, [0] * n
    for r in records:
        if r.ended is None or r.queued is None or r.outcome not in ("answered", "abandoned"):
            continue
        i = min(n - 1, int((r.ended - start) // step))
        if i < 0:
            continue
        done[i] += 1
        answered[i] += r.outcome == "answered"
    return [(i * step, answered[i] / done[i] if done[i] else None) for i in range(n)]
