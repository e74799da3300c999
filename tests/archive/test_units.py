"""Pure parts: counting a record, periods, rows and back, retention."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.archive.decode import Batch, call_row, row_record, seat_row
from ivr.archive.models import CALLS, SEATS
from ivr.archive.periods import PeriodError, parse_period
from ivr.archive.service import apply_retention
from ivr.archive.writer import write_batch
from ivr.core import cdr
from ivr.settings import Settings
from tests.archive.events import DAY0, abandoned, answered


def counted(rec: dict[str, str]) -> list[tuple[str, str, cdr.Counts]]:
    return sorted(cdr.contributions(rec, 5000), key=lambda x: (x[0], x[1]))


@pytest.mark.parametrize("rec", [
    answered("CA1", rating="2", cat="help", res="0", xfer="transfer:police", cb="1", cba="2"),
    abandoned("CA2", wait=4999, oq="sub-12366"),
    answered("CA3", out="x" * 400, seat="s" * 80, pr="not-a-number", zz="new field"),
    {"sid": "CA4", "st": "ended", "ln": "12345", "t1": str(DAY0), "out": "exclusion:litigation",
     "tend": str(DAY0 + 5000)},
])
def test_a_stored_row_counts_exactly_as_its_record(rec: dict[str, str]) -> None:
    sid = rec.pop("sid")
    row = call_row("c", sid, "1", rec)
    assert counted(row_record(row)) == counted(rec)


def test_call_counts_follow_the_lua_counters() -> None:
    c = cdr.call_counts(answered("CA1", wait=15_000, talk=3000, rating="1"), 5000)
    assert c["calls"] == c["offered"] == c["answered"] == c["sl_answered"] == 1
    assert c["wa:15"] == 1
    assert c["handled_ms"] == 3000
    assert c["rated_1"] == 1
    assert cdr.call_counts(answered("CA2", wait=15_001), 5000).get("sl_answered", 0) == 0
    short = cdr.call_counts(abandoned("CA3", wait=4999), 5000)
    assert short["abandoned_short"] == 1
    assert short["wb:5"] == 1
    moved = dict((d, p) for d, k, p in cdr.contributions(abandoned("CA4", oq="sub-12366"), 5000)
                 if d == "queue" and k == "sub-12366")
    assert moved["queue"] == {"offered": 1, "overflow_out": 1}
    assert cdr.call_counts({"out": "ended_early"}, 5000) == {}


def test_intervals_are_split_at_midnight() -> None:
    midnight = cdr.day_start_ms(cdr.day_of_ms(DAY0) + 1)
    parts = list(cdr.interval_parts("ready", midnight - 1000, midnight + 2500))
    assert parts == [(cdr.day_of_ms(DAY0), {"st_ms:ready": 1000}),
                     (cdr.day_of_ms(DAY0) + 1, {"st_ms:ready": 2500})]


@pytest.mark.parametrize(("kind", "value", "first", "last"), [
    ("day", "2027-01-15", "2027-01-15", "2027-01-15"),
    ("week", "2027-W02", "2027-01-11", "2027-01-17"),
    ("week", "2027-01-15", "2027-01-11", "2027-01-17"),
    ("month", "2024-02", "2024-02-01", "2024-02-29"),
    ("quarter", "2027-Q4", "2027-10-01", "2027-12-31"),
    ("year", "2027", "2027-01-01", "2027-12-31"),
])
def test_periods(kind: str, value: str, first: str, last: str) -> None:
    p = parse_period(kind, value)
    assert (str(p.start), str(p.end)) == (first, last)


def test_default_period_is_the_one_holding_today_in_shanghai() -> None:
    late = cdr.day_start_ms(cdr.day_of_ms(DAY0) + 1) - 1  # 23:59:59.999 in Shanghai
    assert parse_period("day", today_ms=late).label == "2027-01-15"
    assert parse_period("quarter", today_ms=late).label == "2027-Q1"


@pytest.mark.parametrize(("kind", "value"), [("month", "2027-13"), ("quarter", "2027-Q5"),
                                             ("day", "yesterday"), ("year", "27"), ("hour", "1")])
def test_bad_periods_name_the_problem(kind: str, value: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(kind, value)


async def test_retention_deletes_old_records_and_erases_callers(engine: AsyncEngine,
                                                                center: str) -> None:
    b = Batch()
    day = 86_400_000
    for sid, age_days in (("OLD", 400), ("MID", 100), ("NEW", 1)):
        b.calls[sid] = ("0-1", answered(sid, t=DAY0 - age_days * day))
    b.seats.append({"seat": "p01", "start_ms": DAY0 - 400 * day, "state": "ready",
                    "end_ms": DAY0 - 400 * day + 5, "next_state": None, "call": None,
                    "day": cdr.day_of_ms(DAY0 - 400 * day)})
    async with engine.begin() as conn:
        await write_batch(conn, center, b, 5000)
    settings = Settings(center=center, archive_retention_days=365, archive_caller_days=30)
    assert await apply_retention(engine, settings, DAY0) == (1, 1)
    async with engine.connect() as conn:
        rows = {r.sid: r.caller for r in await conn.execute(
            select(CALLS).where(CALLS.c.center == center))}
        seats = (await conn.execute(select(SEATS).where(SEATS.c.center == center))).all()
    assert rows == {"MID": None, "NEW": "138****5678"}
    assert seats == []


def test_a_whole_caller_number_is_masked_before_it_is_stored() -> None:
    row = call_row("c1", "CA1", "0-1", answered("CA1", fr="+8613812345678"))
    assert row["caller"] == "+86138****5678"
    assert "12345678" not in json.dumps(row, ensure_ascii=False, default=str)
    assert call_row("c1", "CA2", "0-1", answered("CA2"))["caller"] == "138****5678"


async def test_numbers_too_big_for_their_column_are_kept_not_blocking(engine: AsyncEngine,
                                                                      center: str) -> None:
    """A number beyond its integer column (or beyond a float) goes whole into ``extra``: the
    batch is written; before, it failed on every retry and held the archive up for ever."""
    odd = answered("CA1", pr="99999999999", cba="1e400", toff="99999999999999999999")
    b = Batch()
    b.calls["CA1"] = ("0-1", {k: v for k, v in odd.items() if k != "sid"})
    b.calls["CA2"] = ("0-1", {k: v for k, v in answered("CA2", pr="2").items() if k != "sid"})
    async with engine.begin() as conn:
        await write_batch(conn, center, b, 5000)
    async with engine.connect() as conn:
        rows = {r.sid: r for r in await conn.execute(
            select(CALLS).where(CALLS.c.center == center))}
    assert rows["CA2"].priority == 2
    assert json.loads(rows["CA2"].extra) == {"st": "ended"}
    one = rows["CA1"]
    assert (one.priority, one.callback_attempts, one.t_offer) == (None, None, None)
    assert json.loads(one.extra) == {"st": "ended", "pr": "99999999999", "cba": "1e400",
                                     "toff": "99999999999999999999"}
    assert counted(row_record(dict(one._mapping))) == counted(b.calls["CA1"][1])


def test_odd_times_cannot_block_the_archive() -> None:
    """A call whose arrival is beyond any day column lands on day 0 (rollups and raw rows
    alike); a seat interval beyond a 64-bit time or ten years long is a malformed event."""
    rec = answered("CA1", t1="1e20")
    row = call_row("c", "CA1", "0-1", rec)
    assert row["day"] == 0
    assert row["t_ivr"] is None
    assert json.loads(row["extra"])["t1"] == "1e20"
    assert counted(row_record(row)) == counted(rec)
    ok = {"seat": "p01", "st": "ready", "from": str(DAY0), "to": str(DAY0 + 5000)}
    assert seat_row(ok)["end_ms"] == DAY0 + 5000
    for bad in ({"to": "99999999999999999999"}, {"from": "-1"}, {"to": str(DAY0 + 10**13)}):
        with pytest.raises(ValueError, match="time out of range"):
            seat_row(ok | bad)


@pytest.mark.parametrize("value", ["1e400", "inf", "-inf", "nan"])
def test_a_number_beyond_a_float_counts_as_absent_not_as_an_error(value: str) -> None:
    rec = answered("CAodd", wait=2000, talk=3000)
    for key in ("wait", "talk", "t1", "tend"):
        odd = {**rec, key: value}
        cdr.call_counts(odd, 5000)  # must not raise: a raise would hold the archive up for ever
        assert cdr.arrival_ms(odd) >= 0
