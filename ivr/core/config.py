"""The whole configuration of one center, validated as one piece, and its resource documents.

Pure: no I/O. A center's config is split into resources of eight kinds, each a JSON
document under an id: ``plan`` (id ``plan``: area code, default line, unknown-number
notice), ``lines`` (by number), ``targets``, ``exclusions`` and ``schedules`` (by name),
``queues`` and ``seats`` (by id)
and ``flows`` (by id: which revision is published, the latest and the draft). Flow
revisions are immutable documents of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ivr.core.engine import FlowBook
from ivr.core.errors import ConfigError, Problem
from ivr.core.flow_checks import validate_flows
from ivr.core.flows import Flow
from ivr.core.hours import Schedule
from ivr.core.numbers import Exclusion, Line, NumberPlan, Target, lookup
from ivr.core.roster import QueueConfig, Roster, Seat
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

KINDS = ("plan", "lines", "targets", "exclusions", "queues", "seats", "schedules", "flows")
MODELS: dict[str, type[BaseModel]] = {
    "lines": Line, "targets": Target, "exclusions": Exclusion, "queues": QueueConfig,
    "seats": Seat, "schedules": Schedule, "flows": Flow,
}
Resources = dict[str, dict[str, dict[str, Any]]]
FlowRevs = dict[str, dict[int, dict[str, Any]]]


def dump(model: BaseModel) -> dict[str, Any]:
    """A model as a JSON-ready document without its default values."""
    return model.model_dump(mode="json", exclude_defaults=True)


def split(cfg: CenterConfig) -> tuple[Resources, FlowRevs]:
    """A config as resources and flow revisions (every flow's revisions as held)."""
    plan = cfg.plan
    res: Resources = {
        "plan": {"plan": {"area_code": plan.area_code, "default_line": plan.default_line,
                          "unknown_notice": plan.unknown_notice}},
        "lines": {ln.number: dump(ln) for ln in plan.lines},
        "targets": {name: dump(t) for name, t in plan.targets.items()},
        "exclusions": {name: dump(e) for name, e in plan.exclusions.items()},
        "schedules": {name: dump(h) for name, h in cfg.roster.schedules.items()},
        "queues": {q.id: dump(q) for q in cfg.roster.queues},
        "seats": {s.id: dump(s) for s in cfg.roster.seats},
        "flows": {},
    }
    revs: FlowRevs = {}
    for fid, by_rev in cfg.flows.revisions.items():
        meta = dict(cfg.flow_meta.get(fid, {}))
        meta.setdefault("published", cfg.flows.current.get(fid))
        meta.setdefault("latest", max(by_rev))
        res["flows"][fid] = meta
        revs[fid] = {}
        for rev, flow in by_rev.items():
            info = dict(cfg.flow_meta.get(fid, {}).get("revs", {}).get(rev, {}))  # type: ignore[attr-defined]
            revs[fid][rev] = {"flow": dump(flow), **info}
    for meta in res["flows"].values():
        meta.pop("revs", None)
    return res, revs


def assemble(res: Resources, revs: FlowRevs, version: str = "0",
             etags: dict[str, dict[str, int]] | None = None) -> CenterConfig:
    """A validated CenterConfig from resources; ConfigError lists every problem."""
    problems: list[Problem] = []

    def parse(kind: str, rid: str, doc: dict[str, Any]) -> Any:
        try:
            return MODELS[kind].model_validate(doc)
        except ValidationError as exc:
            for e in exc.errors():
                loc = ".".join(str(p) for p in e["loc"])
                problems.append(Problem(f"{kind[:-1]} {rid}", loc, e["msg"]))
            return None

    lines = [parse("lines", k, v) for k, v in sorted(res.get("lines", {}).items())]
    targets = {k: parse("targets", k, v) for k, v in sorted(res.get("targets", {}).items())}
    queues = [parse("queues", k, v) for k, v in sorted(res.get("queues", {}).items())]
    exclusions = {k: parse("exclusions", k, v) for k, v in sorted(res.get("exclusions", {}).items())}
    schedules = {k: parse("schedules", k, v) for k, v in sorted(res.get("schedules", {}).items())}
    seats = [parse("seats", k, v) for k, v in sorted(res.get("seats", {}).items())]
    book = FlowBook()
    for fid, meta in res.get("flows", {}).items():
        for rev, doc in revs.get(fid, {}).items():
            flow = parse("flows", f"{fid} revision {rev}", doc["flow"])
            if flow is not None:
                book.revisions.setdefault(fid, {})[int(rev)] = flow
        published = meta.get("published")
        if published is not None and int(published) in book.revisions.get(fid, {}):
            book.current[fid] = int(published)
    if problems:
        raise ConfigError(problems)
    try:
        plan = NumberPlan(**res.get("plan", {}).get("plan", {}), lines=tuple(lines),
                          targets=targets, exclusions=exclusions)
        roster = Roster(queues=tuple(queues), seats=tuple(seats), schedules=schedules)
    except ValidationError as exc:
        raise ConfigError([Problem("config", ".".join(str(p) for p in e["loc"]), e["msg"])
                           for e in exc.errors()]) from exc
    published = {fid: book.latest(fid) for fid in book.current}
    cfg = build(plan, published, roster, version, book=book)
    cfg.etags = etags or {}
    cfg.flow_meta = {fid: dict(meta) for fid, meta in res.get("flows", {}).items()}
    for fid, by_rev in revs.items():
        info = {int(r): {k: v for k, v in d.items() if k != "flow"} for r, d in by_rev.items()}
        cfg.flow_meta.setdefault(fid, {})["revs"] = info
    return cfg
