"""A call's first step, remembered per config only when it does not depend on the time."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

from ivr.core import engine
from ivr.core.config import CenterConfig
from ivr.core.flows import Flow
from ivr.core.hours import Schedule
from ivr.core.numbers import Line
from ivr.web.services import Services

LINE = Line.model_validate({"number": "12328", "name": "交通运输热线", "mode": "dual",
                            "queue": "pool", "flow": "main"})
OFFICE = Schedule(weekly={"mon": ("09:00-17:00",)})
SH = ZoneInfo("Asia/Shanghai")


def _flow(start: str, **nodes: dict[str, Any]) -> Flow:
    return Flow.model_validate({"id": "main", "start": start, "revision": 1, "nodes": nodes})


HOURS = _flow("hi", hi={"kind": "say", "text": "您好。", "next": "h"},
              h={"kind": "hours", "schedule": "office", "open": "q", "closed": "bye"},
              q={"kind": "queue"}, bye={"kind": "hangup", "text": "下班了。"})
PLAIN = _flow("hi", hi={"kind": "say", "text": "您好。", "next": "q"}, q={"kind": "queue"})


class _Clock:
    def __init__(self, local: str) -> None:
        self.at = local

    def now(self) -> float:
        return datetime.strptime(self.at, "%Y-%m-%d %H:%M").replace(tzinfo=SH).timestamp()


def _services(flow: Flow, clock: _Clock) -> Services:
    svc = Services.__new__(Services)  # first_step reads the config and the clock only
    svc.config = cast(CenterConfig, SimpleNamespace(
        flows=engine.FlowBook.of({"main": flow}), roster=SimpleNamespace(schedules={"office": OFFICE})))
    svc.clock = clock
    return svc


def test_a_flow_through_opening_hours_starts_by_the_time_of_each_call() -> None:
    """Never remembered: the same line gives the open branch, then the closed one."""
    clock = _Clock("2026-09-28 10:00")
    svc = _services(HOURS, clock)
    assert svc.first_step(LINE).outcome == "queue"
    clock.at = "2026-09-28 18:00"
    assert svc.first_step(LINE).outcome == "hangup"
    clock.at = "2026-09-28 11:00"
    assert svc.first_step(LINE).outcome == "queue"


def test_a_flow_without_hours_starts_as_engine_start_and_is_remembered() -> None:
    """The remembered step is engine.start's, the same object each call; a new config afresh."""
    svc = _services(PLAIN, _Clock("2026-09-28 10:00"))
    first = svc.first_step(LINE)
    assert first == engine.start(svc.config.flows, LINE)
    assert svc.first_step(LINE) is first
    svc.config = _services(HOURS, _Clock("2026-09-28 18:00")).config
    svc.clock = _Clock("2026-09-28 18:00")
    assert svc.first_step(LINE).outcome == "hangup"
