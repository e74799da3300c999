"""Opening hours and the holiday calendar. Pure: the time to judge comes in as an argument.

A schedule has weekly opening intervals in its own time zone (Asia/Shanghai by
default), a list of public holidays (closed all day) and a list of adjusted working
days (调休: weekend dates worked as a weekday, opening like ``workday_as``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"((?:[01]\d|2[0-3]):[0-5]\d|24:00)"  # 24:00 is the end of the day, 24:30 is nothing
_SPAN = re.compile(rf"^{_TIME}-{_TIME}$")


class Schedule(BaseModel):
    """When a queue or a flow branch is open."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "timezone": "Asia/Shanghai", "weekly": {"mon": ["08:30-12:00", "13:00-17:30"]},
        "holidays": ["2026-10-01"], "workdays": ["2026-10-10"]}]})

    timezone: str = "Asia/Shanghai"
    weekly: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()
    workday_as: str = "mon"

    @field_validator("weekly")
    @classmethod
    def _spans(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for day, spans in value.items():
            if day not in DAYS:
                raise ValueError(f"unknown day {day!r}: use {', '.join(DAYS)}")
            for span in spans:
                m = _SPAN.match(span)
                if not m or m[1] >= m[2]:
                    raise ValueError(f"{day}: {span!r} is not a span like 08:30-17:30")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


def is_open(schedule: Schedule, at: float) -> bool:
    """Whether the schedule is open at epoch time ``at`` (seconds)."""
    local = datetime.fromtimestamp(at, tz=UTC).astimezone(ZoneInfo(schedule.timezone))
    day = local.date()
    if day in schedule.holidays:
        return False
    key = schedule.workday_as if day in schedule.workdays else DAYS[local.weekday()]
    now = local.time()
    for span in schedule.weekly.get(key, ()):
        start, end = span.split("-")
        if _t(start) <= now < _t(end):
            return True
    return False


def _t(text: str) -> time:
    h, m = (int(x) for x in text.split(":"))
    return time(23, 59, 59, 999999) if h == 24 else time(h, m)
