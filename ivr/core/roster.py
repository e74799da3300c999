"""Queues and seats as configured (``seats/``). Pure: no I/O."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ivr.core.hours import Schedule
from ivr.core.ids import IDENT, Ident

ANY_SKILL = "any"


class Overflow(BaseModel):
    """Where a queue's callers go when its own seats cannot take them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    to: Ident
    after_seconds: float | None = Field(None, gt=0)
    when_no_seats: bool = True


class CallbackPolicy(BaseModel):
    """Offering waiting callers a call back that keeps their place in line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offer_after_seconds: float = Field(60, ge=0)
    max_attempts: int = Field(3, ge=1, le=10)
    retry_seconds: float = Field(120, ge=10)
    caller_id: str = Field("", description="number the call back comes from ('' = the line)")


class QueueConfig(BaseModel):
    """One queue: the 12345 pool or a sub-center."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "id": "sub-12366", "name": "12366税务分中心", "kind": "subcenter", "sl_seconds": 15,
        "target_answer_rate": 0.99, "overflow": {"to": "pool", "after_seconds": 60}}]})

    id: str = Field(pattern=IDENT)
    name: str
    kind: str = Field("pool", pattern=r"^(pool|subcenter)$")
    sl_seconds: float = Field(15, gt=0)
    target_answer_rate: float = Field(0.99, gt=0, le=1)
    sl_target: float = Field(0.8, gt=0, le=1)
    wrapup_seconds: float = Field(10, ge=0)
    ring_timeout_seconds: int = Field(20, ge=5, le=120)
    default_aht_seconds: float = Field(240, gt=0)
    overflow: Overflow | None = None
    hours: str | None = Field(None, description="schedule name; none = open 7x24")
    when_closed: Literal["overflow", "callback", "message"] = "overflow"
    closed_text: str = "您好，现在是非工作时间，请在工作时间再拨。"
    callback: CallbackPolicy | None = None


class Seat(BaseModel):
    """One seat (an operator position) and what it may answer."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "id": "p01", "name": "12345坐席01", "endpoint": "client:p01", "queues": ["pool"],
        "skills": ["12328", "12315"]}]})

    id: str = Field(pattern=IDENT)
    name: str = ""
    endpoint: str = Field(min_length=1)
    queues: tuple[Ident, ...] = Field(min_length=1)
    skills: tuple[Ident, ...] = ()

    def ready_sets(self) -> list[tuple[str, str]]:
        """Every (queue, skill) whose ready set this seat joins when ready."""
        skills = [ANY_SKILL, *[s for s in self.skills if s != ANY_SKILL]]
        return [(q, s) for q in self.queues for s in skills]


class Roster(BaseModel):
    """All queues and seats of one center."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queues: tuple[QueueConfig, ...] = Field(min_length=1)
    seats: tuple[Seat, ...] = ()
    schedules: dict[str, Schedule] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _references(self) -> Roster:
        ids = [q.id for q in self.queues]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"queue ids used twice: {sorted(dup)}")
        for q in self.queues:
            if q.overflow and q.overflow.to not in ids:
                raise ValueError(f"queue {q.id} overflows to missing queue {q.overflow.to!r}")
            if q.overflow and q.overflow.to == q.id:
                raise ValueError(f"queue {q.id} overflows into itself")
            if q.overflow and self.queue(q.overflow.to).overflow is not None:
                raise ValueError(
                    f"queue {q.id} overflows to {q.overflow.to}, which overflows again: "
                    "chains are not allowed"
                )
        for q in self.queues:
            if q.hours and q.hours not in self.schedules:
                raise ValueError(f"queue {q.id} uses missing schedule {q.hours!r}")
            if q.hours and q.when_closed == "overflow" and not q.overflow:
                raise ValueError(f"queue {q.id} overflows when closed but has no overflow")
            if q.hours and q.when_closed == "callback" and not q.callback:
                raise ValueError(f"queue {q.id} offers a callback when closed but has no callback")
        sids = [s.id for s in self.seats]
        dup = {i for i in sids if sids.count(i) > 1}
        if dup:
            raise ValueError(f"seat ids used twice: {sorted(dup)}")
        for s in self.seats:
            missing = [q for q in s.queues if q not in ids]
            if missing:
                raise ValueError(f"seat {s.id} serves missing queue(s) {missing}")
        return self

    def queue(self, qid: str) -> QueueConfig:
        """The queue with this id (KeyError if none)."""
        for q in self.queues:
            if q.id == qid:
                return q
        raise KeyError(qid)
