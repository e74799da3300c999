"""What a simulation run produced: its call records, agents, samples, checks and costs."""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.core.config import CenterConfig
from ivr.phone.seats import SeatAgent
from ivr.sim.recorder import CallRecord
from ivr.sim.scenario import Scenario


@dataclass
class Sample:
    """The center at one moment: callers in wait sets and seats busy, per queue."""

    t: float
    waiting: dict[str, int]
    busy: dict[str, int]


@dataclass
class SimResult:
    """Everything a run produced."""

    scenario: Scenario
    config: CenterConfig
    records: list[CallRecord]
    agents: list[SeatAgent]
    problems: list[str]
    samples: list[Sample]
    start: float
    end: float
    wall_seconds: float
    events: int
    sweeps: int
    requests: int
    full_checks: int
    verified: int
    costs: dict[str, float] = field(default_factory=dict)  # wall seconds by part of the run
    prefixes: dict[str, int] = field(default_factory=dict)  # webhooks by path prefix (platform)
    cpu_seconds: float = 0.0  # CPU time of this process during the run
    redis_cpu_seconds: float | None = None  # the Redis server's (all its clients'), if known
    cpu_costs: dict[str, float] = field(default_factory=dict)  # CPU seconds by part of the run

    @property
    def calls_per_second(self) -> float:
        """Simulated calls per wall-clock second."""
        return len(self.records) / self.wall_seconds if self.wall_seconds else 0.0
