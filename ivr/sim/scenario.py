"""What a simulation runs: traffic per line, handle times, patience, seats, seed.

A :class:`Scenario` is plain data. :func:`with_seats` scales the configured roster to
the seat counts asked for (new seats copy the skills of the configured seats of their
queue, round robin), and :func:`textbook_config` builds the one-queue center that
queueing theory describes (one line straight into one queue, identical seats, no
menu), which ``--compare-erlang`` is meant for.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from ivr.core.config import CenterConfig, build
from ivr.core.flows import Flow
from ivr.core.numbers import NumberPlan
from ivr.core.roster import QueueConfig, Roster, Seat

#: A 12345 center's day: quiet at night, peaks mid-morning and mid-afternoon (mean 1).
OFFICE_DAY = (0.15, 0.10, 0.08, 0.07, 0.07, 0.10, 0.30, 0.80, 1.60, 2.00, 2.00, 1.70,
              1.20, 1.50, 1.90, 1.90, 1.70, 1.40, 1.00, 0.80, 0.60, 0.50, 0.35, 0.20)


def normalised(weights: tuple[float, ...] | list[float]) -> tuple[float, ...]:
    """24 hourly weights scaled to a mean of 1 (so rates are daily averages per hour)."""
    if len(weights) != 24 or any(w < 0 for w in weights) or not sum(weights):
        raise ValueError("a daily profile is 24 non-negative hourly weights, not all zero")
    mean = sum(weights) / 24.0
    return tuple(w / mean for w in weights)


PROFILES = {"flat": (1.0,) * 24, "office": normalised(OFFICE_DAY)}


@dataclass(frozen=True)
class Scenario:
    """The traffic and the people of one simulated run."""

    rates: dict[str, float]  # line number -> calls per hour (daily average with a profile)
    hours: float = 24.0
    aht: float = 240.0  # mean handle (talk) time, seconds
    handle: str = "exponential"  # or "lognormal"
    handle_cv: float = 1.0  # coefficient of variation of a lognormal handle time
    patience: float | None = 180.0  # mean seconds a caller waits; None: never hangs up
    seats: dict[str, int] = field(default_factory=dict)  # queue -> seats (others as configured)
    ring_seconds: float = 2.0
    no_answer: float = 0.0
    back_after_miss: float = 30.0
    profile: tuple[float, ...] = PROFILES["flat"]
    seed: int = 1
    check_every: float = 3600.0  # simulated seconds between full invariant checks
    # seconds at the start the Erlang comparison leaves out (at most a quarter of the run):
    # the center opens empty, and at 50 seats the busy count takes ~10 minutes to climb
    warmup: float = 1800.0

    def rng(self, *stream: object) -> random.Random:
        """An independent, reproducible random stream for one purpose."""
        seed = ":".join(str(s) for s in (self.seed, *stream))
        return random.Random(seed)  # noqa: S311 (simulated traffic must be reproducible)

    @property
    def flat(self) -> bool:
        """Whether the arrival rates are the same every hour."""
        return max(self.profile) - min(self.profile) < 1e-9


def arrival_times(rate_per_hour: float, profile: tuple[float, ...], start: float, end: float,
                  rng: random.Random) -> Iterator[float]:
    """Poisson arrival times in [start, end) with an hourly piecewise-constant rate."""
    t = start
    while t < end:
        hour = int((t - start) // 3600)
        boundary = start + (hour + 1) * 3600.0
        lam = rate_per_hour * profile[hour % 24] / 3600.0
        if lam <= 0:
            t = boundary
            continue
        gap = rng.expovariate(lam)
        if t + gap >= boundary:  # memoryless: start afresh at the next hour's rate
            t = boundary
            continue
        t += gap
        if t < end:
            yield t


def with_seats(config: CenterConfig, seats: dict[str, int]) -> CenterConfig:
    """The config with ``seats[q]`` seats in queue ``q`` (skills copied round robin)."""
    if not seats:
        return config
    roster = config.roster
    unknown = set(seats) - {q.id for q in roster.queues}
    if unknown:
        raise ValueError(f"no such queue: {', '.join(sorted(unknown))}")
    kept = [s for s in roster.seats if not set(s.queues) & set(seats)]
    made: list[Seat] = []
    for qid, n in seats.items():
        models = [s for s in roster.seats if qid in s.queues] or [
            Seat(id="x", endpoint="client:x", queues=(qid,))]
        for i in range(n):
            sid = f"{qid}-{i + 1:03d}"
            made.append(Seat(id=sid, name=f"{qid} seat {i + 1}", endpoint=f"client:{sid}",
                             queues=(qid,), skills=models[i % len(models)].skills))
    new_roster = roster.model_copy(update={"seats": (*kept, *made)})
    flows = {fid: config.flows.latest(fid) for fid in config.flows.current}
    return build(config.plan, flows, new_roster, f"{config.version}+sim")


def textbook_config(seats: int, aht: float, wrapup: float = 0.0, sl_seconds: float = 15.0,
                    number: str = "12345") -> CenterConfig:
    """One line straight into one queue of identical seats: the Erlang A setting."""
    plan = NumberPlan.model_validate({
        "default_line": number,
        "lines": [{"number": number, "name": "textbook line", "mode": "hub", "queue": "q",
                   "skill": "any", "flow": "direct", "widen_after": None}],
    })
    flow = Flow.model_validate({"id": "direct", "start": "queue",
                                "nodes": {"queue": {"kind": "queue"}}})
    queue = QueueConfig(id="q", name="textbook queue", sl_seconds=sl_seconds,
                        wrapup_seconds=wrapup, ring_timeout_seconds=20,
                        default_aht_seconds=aht)
    members = tuple(Seat(id=f"q-{i + 1:03d}", endpoint=f"client:q-{i + 1:03d}", queues=("q",))
                    for i in range(seats))
    return build(plan, {"direct": flow}, Roster(queues=(queue,), seats=members), "textbook")


def default_rates(config: CenterConfig, aht: float, occupancy: float = 0.85) -> dict[str, float]:
    """Enough 12345 traffic to keep the pool's seats ``occupancy`` busy."""
    line = config.plan.default_line
    queue = next(ln.queue for ln in config.plan.lines if ln.number == line)
    n = sum(1 for s in config.roster.seats if queue in s.queues)
    wrap = config.roster.queue(queue).wrapup_seconds
    return {line: math.floor(occupancy * n * 3600.0 / (aht + wrap))}
