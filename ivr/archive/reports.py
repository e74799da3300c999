"""Reports over archived calls: from the rollups (fast) or from raw rows (the check).

Both paths sum the same counters (``ivr.core.cdr``) and turn them into figures with
``cdr.figures``, the live monitor's definitions; so the rollup report and the raw-row
report of a period are equal, field for field. Departments are the lines' departments
(``numbers/plan.yaml``), summed from the line rollups.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.archive.decode import row_record
from ivr.archive.models import CALLS, ROLLUPS, SEATS
from ivr.archive.periods import Period
from ivr.core import cdr

GROUPS = ("center", "line", "department", "queue", "seat", "hour")
COLUMNS = (
    "offered", "answered", "abandoned", "abandoned_short", "answer_rate", "connection_rate_15s",
    "asa_seconds", "wait_p90_seconds", "aht_seconds", "talk_avg_seconds", "talk_max_seconds",
    "callbacks_requested", "callbacks_connected", "callbacks_failed", "transferred", "excluded",
    "response_rate", "resolution_rate", "satisfaction_rate", "calls", "ended_in_ivr",
    "overflow_in", "overflow_out", "rated", "disposed", "resolved",
    "ready_seconds", "break_seconds", "occupancy", "score",
)
RANK_DEFINITION = "score = mean of the response, resolution and satisfaction rates measured"
NO_DEPARTMENT = "(no department)"


def _dim(group: str) -> str:
    return "line" if group == "department" else group


def regroup(group: str, sums: Mapping[str, cdr.Counts],
            departments: Mapping[str, str]) -> dict[str, cdr.Counts]:
    """Line sums re-keyed by department (other groups unchanged)."""
    if group != "department":
        return dict(sums)
    out: dict[str, cdr.Counts] = {}
    for line, c in sums.items():
        cdr.merge(out.setdefault(departments.get(line, NO_DEPARTMENT), {}), c)
    return out


async def rollup_sums(engine: AsyncEngine, center: str, group: str,
                      period: Period) -> dict[str, cdr.Counts]:
    """Counters per key of a dimension over a period, from the daily rollups."""
    t = ROLLUPS
    sums: dict[str, cdr.Counts] = {}
    async with engine.connect() as conn:
        res = await conn.stream(select(t.c.key, t.c.counts).where(
            t.c.center == center, t.c.dim == _dim(group),
            t.c.day.between(period.first, period.last)))
        async for key, counts in res:
            cdr.merge(sums.setdefault(key, {}), json.loads(counts))
    return sums


async def raw_sums(engine: AsyncEngine, center: str, group: str, period: Period,
                   short_ms: int) -> dict[str, cdr.Counts]:
    """The same counters computed from every raw call row and seat interval of the period."""
    dim = _dim(group)
    t, s = CALLS, SEATS
    sums: dict[str, cdr.Counts] = {}
    async with engine.connect() as conn:
        res = await conn.stream(select(t).where(
            t.c.center == center, t.c.day.between(period.first, period.last)))
        async for row in res:
            for d, key, part in cdr.contributions(row_record(dict(row._mapping)), short_ms):
                if d == dim:
                    cdr.merge(sums.setdefault(key, {}), part)
        if dim == "seat":
            lo, hi = cdr.day_start_ms(period.first), cdr.day_start_ms(period.last + 1)
            ivs = await conn.stream(select(s).where(
                s.c.center == center, s.c.start_ms < hi, s.c.end_ms > lo))
            async for iv in ivs:
                for day, part in cdr.interval_parts(iv.state, iv.start_ms, iv.end_ms):
                    if period.first <= day <= period.last:
                        cdr.merge(sums.setdefault(iv.seat, {}), part)
    return sums


def rows_of(sums: Mapping[str, cdr.Counts], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """Figures per key, sorted by key, with display names."""
    return [{"key": k, "name": names.get(k, k), **cdr.figures(c)} | {"score": score(c)}
            for k, c in sorted(sums.items())]


def score(c: Mapping[str, int]) -> float | None:
    """The department ranking score (``RANK_DEFINITION``)."""
    f = cdr.figures(c)
    rates = [f[r] for r in ("response_rate", "resolution_rate", "satisfaction_rate")
             if f[r] is not None]
    return round(sum(rates) / len(rates), 4) if rates else None


def ranking(rows: Iterable[dict[str, Any]], by: str = "score") -> list[dict[str, Any]]:
    """Rows ranked by a figure, best first (rows without it last), numbered from 1."""
    ranked = sorted(rows, key=lambda r: (r.get(by) is None, -(r.get(by) or 0), r["key"]))
    return [{"rank": i + 1, **r} for i, r in enumerate(ranked)]


async def report(engine: AsyncEngine, center: str, group: str, period: Period, *,
                 short_ms: int, names: Mapping[str, str], departments: Mapping[str, str],
                 source: str = "rollups") -> dict[str, Any]:
    """A report: figures per key of ``group`` and for all of them, over ``period``."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}")
    sums = (await rollup_sums(engine, center, group, period) if source == "rollups"
            else await raw_sums(engine, center, group, period, short_ms))
    sums = regroup(group, sums, departments)
    total: cdr.Counts = {}
    for c in sums.values():
        cdr.merge(total, c)
    return {"center": center, "period": period.as_dict(), "group": group, "source": source,
            "rows": rows_of(sums, names), "total": cdr.figures(total) | {"score": score(total)}}


async def daily(engine: AsyncEngine, center: str, dim: str, key: str,
                period: Period) -> list[dict[str, Any]]:
    """Figures per day of one key (``center``/'' for the whole center), for trend charts."""
    t = ROLLUPS
    by_day: dict[int, cdr.Counts] = {}
    async with engine.connect() as conn:
        res = await conn.execute(select(t.c.day, t.c.counts).where(
            t.c.center == center, t.c.dim == dim, t.c.key == key,
            t.c.day.between(period.first, period.last)))
        for day, counts in res:
            cdr.merge(by_day.setdefault(day, {}), json.loads(counts))
    return [{"day": str(Period("day", "", d, d).start), **cdr.figures(by_day.get(d, {}))}
            for d in range(period.first, period.last + 1)]


def table(rep: Mapping[str, Any]) -> list[list[Any]]:
    """A report as a header row and one row per key, then the total."""
    head = ["rank", "key", "name", *COLUMNS] if rep["rows"] and "rank" in rep["rows"][0] \
        else ["key", "name", *COLUMNS]
    out: list[list[Any]] = [head]
    for r in rep["rows"]:
        out.append([r.get(h) for h in head])
    out.append([("total" if h in ("key", "name") else rep["total"].get(h)) if h != "rank" else ""
                for h in head])
    return out


def to_csv(rep: Mapping[str, Any]) -> str:
    """A report as CSV (UTF-8 text; empty cells for figures with nothing counted)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    for row in table(rep):
        w.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def to_xlsx(rep: Mapping[str, Any]) -> bytes:
    """A report as an Excel workbook (openpyxl): one sheet, a header row, frozen."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = f"{rep['group']} {rep['period']['label']}"[:31].replace(":", "-")
    for row in table(rep):
        ws.append(row)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
