"""The whole configuration of one center, validated as one piece. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.core.engine import FlowBook
from ivr.core.errors import ConfigError, Problem
from ivr.core.flows import Flow, validate_flows
from ivr.core.numbers import Line, NumberPlan, lookup
from ivr.core.roster import Roster
from ivr.core.speech import SpeechTable


@dataclass
class CenterConfig:
    """Number plan, flows and roster, checked against each other."""

    plan: NumberPlan
    flows: FlowBook
    roster: Roster
    version: str = "0"
    etags: dict[str, dict[str, int]] = field(default_factory=dict)
    flow_meta: dict[str, dict[str, object]] = field(default_factory=dict)
    speech: SpeechTable = field(default_factory=SpeechTable.standard)
    _index: dict[str, Line] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = self.plan.index()

    def line_for(self, dialed: str) -> tuple[Line, bool]:
        """The line a dialed number reaches, and whether the number was known."""
        return lookup(self.plan, self._index, dialed)

    def published(self) -> dict[str, Flow]:
        """The published revision of every flow."""
        return {fid: self.flows.latest(fid) for fid in self.flows.current}

    def line(self, number: str) -> Line | None:
        """A line by its main number."""
        for line in self.plan.lines:
            if line.number == number:
                return line
        return None


def problems_of(plan: NumberPlan, flows: dict[str, Flow], roster: Roster) -> list[Problem]:
    """Every cross-reference problem between plan, flows and roster."""
    queues = {q.id for q in roster.queues}
    problems = validate_flows(flows, queues, set(plan.targets), set(plan.exclusions),
                              set(roster.schedules))
    for line in plan.lines:
        where = f"line {line.number}"
        if line.queue not in queues:
            problems.append(Problem(where, "queue", f"queue {line.queue!r} does not exist"))
        if line.flow not in flows:
            problems.append(Problem(where, "flow", f"flow {line.flow!r} does not exist"))
    return problems


def build(plan: NumberPlan, flows: dict[str, Flow], roster: Roster, version: str = "0",
          book: FlowBook | None = None) -> CenterConfig:
    """A checked CenterConfig (``flows`` are the published ones), or ConfigError."""
    problems = problems_of(plan, flows, roster)
    if problems:
        raise ConfigError(problems)
    return CenterConfig(plan, book or FlowBook.of(flows), roster, version)
