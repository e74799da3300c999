"""Report periods in Asia/Shanghai as day numbers (``ivr.core.cdr.day_of_ms``). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from ivr.core import cdr

KINDS = ("day", "week", "month", "quarter", "year", "range")
EPOCH = date(1970, 1, 1)
MAX_DAYS = 366 * 10


class PeriodError(ValueError):
    """A period that cannot be read; the message names the problem."""


@dataclass(frozen=True)
class Period:
    """Days ``first`` to ``last`` inclusive, with a label."""

    kind: str
    label: str
    first: int
    last: int

    @property
    def start(self) -> date:
        """The first day as a date."""
        return EPOCH + timedelta(days=self.first)

    @property
    def end(self) -> date:
        """The last day as a date."""
        return EPOCH + timedelta(days=self.last)

    def as_dict(self) -> dict[str, str | int]:
        """For JSON answers."""
        return {"kind": self.kind, "label": self.label, "from": self.start.isoformat(),
                "to": self.end.isoformat(), "days": self.last - self.first + 1}


def day_number(d: date) -> int:
    """A date's day number."""
    return (d - EPOCH).days


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{what}: {text!r} is not a date (YYYY-MM-DD)") from None


def _span(kind: str, label: str, a: date, b: date) -> Period:
    if b < a:
        raise PeriodError(f"the period ends ({b}) before it starts ({a})")
    if (b - a).days >= MAX_DAYS:
        raise PeriodError(f"a period may span at most {MAX_DAYS} days")
    return Period(kind, label, day_number(a), day_number(b))


def parse_period(kind: str, value: str | None = None, start: str | None = None,
                 end: str | None = None, today_ms: int | None = None) -> Period:
    """A period from ``kind`` and ``value`` (default: the one holding today), or a range.

    day ``2027-01-11``; week ``2027-W02`` (ISO, or any date in it); month ``2027-01``;
    quarter ``2027-Q1``; year ``2027``; range ``from``/``to`` dates, both included.
    """
    if kind not in KINDS:
        raise PeriodError(f"period must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "range":
        if not start or not end:
            raise PeriodError("a range needs both from and to (YYYY-MM-DD)")
        a, b = _date(start, "from"), _date(end, "to")
        return _span(kind, f"{a}..{b}", a, b)
    if not value:
        if today_ms is None:
            raise PeriodError(f"a {kind} needs a value")
        value = (EPOCH + timedelta(days=cdr.day_of_ms(today_ms))).isoformat()
        if kind == "month":
            value = value[:7]
        elif kind == "year":
            value = value[:4]
        elif kind == "quarter":
            value = f"{value[:4]}-Q{(int(value[5:7]) - 1) // 3 + 1}"
    v = value.strip()
    try:
        return _parse(kind, v)
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(f"{kind} {v!r}: {exc}") from None


def _parse(kind: str, v: str) -> Period:
    if kind == "day":
        d = _date(v, "day")
        return _span(kind, d.isoformat(), d, d)
    if kind == "week":
        m = re.fullmatch(r"(\d{4})-W(\d{2})", v)
        d = date.fromisocalendar(int(m[1]), int(m[2]), 1) if m else _date(v, "week")
        a = d - timedelta(days=d.weekday())
        y, w, _ = a.isocalendar()
        return _span(kind, f"{y}-W{w:02d}", a, a + timedelta(days=6))
    if kind == "month":
        m = re.fullmatch(r"(\d{4})-(\d{2})", v)
        if not m or not 1 <= int(m[2]) <= 12:
            raise PeriodError(f"month: {v!r} is not YYYY-MM")
        a = date(int(m[1]), int(m[2]), 1)
        b = date(a.year + a.month // 12, a.month % 12 + 1, 1) - timedelta(days=1)
        return _span(kind, v, a, b)
    if kind == "quarter":
        m = re.fullmatch(r"(\d{4})-Q([1-4])", v)
        if not m:
            raise PeriodError(f"quarter: {v!r} is not YYYY-Qn (n = 1..4)")
        y, q = int(m[1]), int(m[2])
        a = date(y, 3 * q - 2, 1)
        b = date(y + (q == 4), (3 * q) % 12 + 1, 1) - timedelta(days=1)
        return _span(kind, v, a, b)
    if not re.fullmatch(r"\d{4}", v):
        raise PeriodError(f"year: {v!r} is not YYYY")
    return _span(kind, v, date(int(v), 1, 1), date(int(v), 12, 31))
