"""Opening hours: weekly spans, holidays, adjusted working days, Asia/Shanghai midnight."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ivr.core.hours import Schedule, is_open

SH = ZoneInfo("Asia/Shanghai")
OFFICE = Schedule(
    weekly={d: ("08:30-12:00", "13:00-17:30") for d in ("mon", "tue", "wed", "thu", "fri")},
    holidays=(date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5)),
    workdays=(date(2026, 10, 10),),  # a Saturday worked as a Monday
)


def at(text: str, zone: ZoneInfo = SH) -> float:
    """Epoch seconds of a local wall-clock time 'YYYY-MM-DD HH:MM[:SS]'."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return datetime.strptime(text, fmt).replace(tzinfo=zone).timestamp()


@pytest.mark.parametrize(("when", "open_"), [
    ("2026-09-28 08:29:59", False),  # Monday, before opening
    ("2026-09-28 08:30", True),  # opening minute is open
    ("2026-09-28 11:59:59", True),
    ("2026-09-28 12:00", False),  # the end of a span is closed (lunch)
    ("2026-09-28 12:59:59", False),
    ("2026-09-28 13:00", True),
    ("2026-09-28 17:29:59", True),
    ("2026-09-28 17:30", False),
    ("2026-09-28 03:00", False),
    ("2026-09-26 10:00", False),  # Saturday
    ("2026-09-27 10:00", False),  # Sunday
])
def test_weekly_spans(when: str, open_: bool) -> None:
    assert is_open(OFFICE, at(when)) is open_


@pytest.mark.parametrize("when", ["2026-10-01 10:00", "2026-10-02 09:00", "2026-10-05 14:00"])
def test_holidays_close_a_weekday_all_day(when: str) -> None:
    assert datetime.fromtimestamp(at(when), SH).weekday() < 5
    assert not is_open(OFFICE, at(when))


def test_a_makeup_working_day_opens_like_its_workday() -> None:
    assert datetime.fromtimestamp(at("2026-10-10 10:00"), SH).weekday() == 5  # Saturday
    assert is_open(OFFICE, at("2026-10-10 10:00"))
    assert not is_open(OFFICE, at("2026-10-10 12:30"))  # with the Monday's lunch break
    assert not is_open(OFFICE, at("2026-10-11 10:00"))  # the Sunday after is not worked


def test_workday_as_chooses_the_pattern() -> None:
    sched = Schedule(weekly={"mon": ("08:00-09:00",), "fri": ("15:00-16:00",)},
                     workdays=(date(2026, 10, 10),), workday_as="fri")
    assert is_open(sched, at("2026-10-10 15:30"))
    assert not is_open(sched, at("2026-10-10 08:30"))


def test_the_day_is_the_local_day_across_utc_midnight() -> None:
    # 2026-10-01 00:30 in Shanghai is still 2026-09-30 16:30 UTC: a holiday already
    sched = Schedule(weekly={d: ("00:00-24:00",) for d in ("mon", "tue", "wed", "thu", "fri")},
                     holidays=(date(2026, 10, 1),))
    utc = ZoneInfo("UTC")
    assert not is_open(sched, at("2026-09-30 16:30", utc))
    assert is_open(sched, at("2026-09-30 15:59:59", utc))  # 23:59:59 on the 30th in Shanghai
    assert not is_open(sched, at("2026-09-30 16:00", utc))  # the holiday's first second


def test_local_midnight_boundaries() -> None:
    sched = Schedule(weekly={"mon": ("00:00-24:00",)})
    assert is_open(sched, at("2026-09-28 00:00"))
    assert is_open(sched, at("2026-09-28 23:59:59"))
    assert not is_open(sched, at("2026-09-27 23:59:59"))  # Sunday
    assert not is_open(sched, at("2026-09-29 00:00"))  # Tuesday


def test_other_time_zones() -> None:
    sched = Schedule(timezone="Europe/London", weekly={"mon": ("09:00-17:00",)})
    assert is_open(sched, at("2026-09-28 09:00", ZoneInfo("Europe/London")))
    assert not is_open(sched, at("2026-09-28 09:00"))  # 09:00 in Shanghai is 02:00 in London


def test_empty_schedule_is_closed() -> None:
    assert not is_open(Schedule(), at("2026-09-28 10:00"))


@pytest.mark.parametrize("span", ["8:30-12:00", "12:00-08:00", "09:00-09:00", "25:00-26:00",
                                  "09:60-10:00", "0900-1000", "24:30-24:45", "09:00-24:30"])
def test_bad_spans_are_refused(span: str) -> None:
    with pytest.raises(ValidationError):
        Schedule(weekly={"mon": (span,)})


def test_bad_day_and_zone_are_refused() -> None:
    with pytest.raises(ValidationError, match="unknown day"):
        Schedule(weekly={"monday": ("09:00-10:00",)})
    with pytest.raises(ValidationError, match="unknown time zone"):
        Schedule(timezone="Asia/Beijing")
