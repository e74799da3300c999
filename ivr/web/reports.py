"""Reports over the archive (monitor role): ``/api/reports``, CSV/XLSX, seat records, history.

Periods are in Asia/Shanghai: ``period=day|week|month|quarter|year`` with ``value``
(``2027-01-11``, ``2027-W02``, ``2027-01``, ``2027-Q1``, ``2027``; default: the one holding
today), or ``period=range`` with ``from`` and ``to``. Figures: ``ivr.core.cdr``, the live
monitor's definitions.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.archive import reports as rep
from ivr.archive.lag import archive_lag
from ivr.archive.periods import Period, PeriodError, parse_period
from ivr.archive.service import ArchiveService
from ivr.core.rates import DEFINITIONS as RATE_DEFINITIONS
from ivr.web.monitor import DEFINITIONS as MONITOR_DEFINITIONS
from ivr.web.roles import Monitor
from ivr.web.services import Services, Svc

router = APIRouter(tags=["reports"])
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"history.js": "text/javascript", "history.css": "text/css"}
Group = Literal["center", "line", "department", "queue", "seat", "hour"]
PeriodKind = Literal["day", "week", "month", "quarter", "year", "range"]
DEFINITIONS = MONITOR_DEFINITIONS | RATE_DEFINITIONS | {
    "connection_rate_15s": "answered within 15 s / (answered + abandoned - abandoned_short)",
    "talk_max_seconds": "longest talk of the period", "score": rep.RANK_DEFINITION,
    "day": "a call counts on the day (Asia/Shanghai) it reached the service",
}


def archive_engine(request: Request) -> AsyncEngine:
    """The database engine of this worker's archive (503 before it is ready)."""
    arc: ArchiveService | None = getattr(request.app.state, "archive", None)
    if arc is None or arc.engine is None or not arc.ready.is_set():
        raise HTTPException(503, "the archive database is not ready", headers={"Retry-After": "5"})
    return arc.engine


def _period(svc: Services, kind: str, value: str | None, start: str | None,
            end: str | None) -> Period:
    try:
        return parse_period(kind, value, start, end, today_ms=int(svc.clock.now() * 1000))
    except PeriodError as exc:
        raise HTTPException(422, str(exc)) from exc


def names(svc: Services) -> dict[str, str]:
    """Display names of lines, queues and seats."""
    cfg = svc.config
    return ({ln.number: ln.name for ln in cfg.plan.lines}
            | {q.id: q.name for q in cfg.roster.queues}
            | {s.id: s.name or s.id for s in cfg.roster.seats} | {"": "center"})


def departments(svc: Services) -> dict[str, str]:
    """Each line's department."""
    return {ln.number: ln.department or rep.NO_DEPARTMENT for ln in svc.config.plan.lines}


async def _guard(coro: Any) -> Any:
    try:
        return await coro
    except (OperationalError, DBAPIError, OSError) as exc:
        raise HTTPException(503, f"the archive database is unavailable: {type(exc).__name__}",
                            headers={"Retry-After": "5"}) from exc


async def build(svc: Services, engine: AsyncEngine, group: str, period: Period,
                source: str) -> dict[str, Any]:
    """A report of this center with display names and departments."""
    return dict(await _guard(rep.report(
        engine, svc.settings.center, group, period,
        short_ms=int(svc.settings.short_abandon_seconds * 1000),
        names=names(svc), departments=departments(svc), source=source)))


def render(report: dict[str, Any], fmt: str) -> Response:
    """JSON, CSV or XLSX of a report."""
    label = f"report-{report['group']}-{report['period']['label']}".replace("..", "_to_")
    if fmt == "csv":
        return Response("\ufeff" + rep.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{label}.csv"'})
    if fmt == "xlsx":
        return Response(rep.to_xlsx(report), media_type="application/vnd.openxmlformats-"
                        "officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{label}.xlsx"'})
    report["definitions"] = DEFINITIONS
    return JSONResponse(report)


Fmt = Annotated[Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx")]
Value = Annotated[str | None, Query(description="2027-01-11, 2027-W02, 2027-01, 2027-Q1, 2027")]
From = Annotated[str | None, Query(alias="from", description="range start YYYY-MM-DD")]
To = Annotated[str | None, Query(alias="to", description="range end YYYY-MM-DD (included)")]


@router.get("/api/reports", summary="Figures of a period grouped by center, line, department, "
            "queue, seat or hour of day")
async def get_report(request: Request, svc: Svc, who: Monitor, group: Group = "center",
                     period: PeriodKind = "day", value: Value = None, start: From = None,
                     end: To = None, source: Literal["rollups", "raw"] = "rollups",
                     format: Fmt = "json") -> Response:
    """Offered, answered, abandoned, rates, waits, talk, callbacks, transfers, three rates."""
    p = _period(svc, period, value, start, end)
    engine = archive_engine(request)
    report = await build(svc, engine, group, p, source)
    return render(report, format)


@router.get("/api/reports/departments/ranking", summary="Departments of a month, ranked")
async def get_ranking(request: Request, svc: Svc, who: Monitor,
                      month: Annotated[str | None, Query(description="YYYY-MM")] = None,
                      by: Annotated[str, Query(description="a figure; default score")] = "score",
                      format: Fmt = "json") -> Response:
    """Departments ranked by ``by`` (default: the mean of the three rates), best first."""
    if by not in (*rep.COLUMNS, "score"):
        raise HTTPException(422, f"by must be one of {', '.join(rep.COLUMNS)}")
    p = _period(svc, "month", month, None, None)
    engine = archive_engine(request)
    report = await build(svc, engine, "department", p, "rollups")
    report["rows"] = rep.ranking(report["rows"], by)
    report["ranked_by"] = by
    return render(report, format)


@router.get("/api/reports/seats/{seat}", summary="One seat's own record over a period")
async def get_seat(request: Request, svc: Svc, who: Monitor, seat: str,
                   period: PeriodKind = "month", value: Value = None, start: From = None,
                   end: To = None) -> dict[str, Any]:
    """Calls, talk time, ready and break time, occupancy and satisfaction, in all and by day."""
    if seat not in {s.id for s in svc.config.roster.seats}:
        raise HTTPException(404, f"no seat {seat!r}")
    p = _period(svc, period, value, start, end)
    engine = archive_engine(request)
    report = await build(svc, engine, "seat", p, "rollups")
    mine = next((r for r in report["rows"] if r["key"] == seat), None)
    days = await _guard(rep.daily(engine, svc.settings.center, "seat", seat, p))
    return {"seat": seat, "name": names(svc).get(seat, seat), "period": p.as_dict(),
            "record": mine or rep.rows_of({seat: {}}, names(svc))[0], "days": days}


@router.get("/api/reports/trend", summary="Figures per day of one key, for charts")
async def get_trend(request: Request, svc: Svc, who: Monitor,
                    group: Literal["center", "line", "queue", "seat", "hour"] = "center",
                    key: str = "", period: PeriodKind = "month", value: Value = None,
                    start: From = None, end: To = None) -> dict[str, Any]:
    """Daily figures (default: the whole center this month)."""
    p = _period(svc, period, value, start, end)
    engine = archive_engine(request)
    days = await _guard(rep.daily(engine, svc.settings.center, group, key, p))
    return {"group": group, "key": key, "period": p.as_dict(), "days": days}


@router.get("/api/archive", summary="The archive's consumer and lag")
async def get_archive(request: Request, svc: Svc, who: Monitor) -> dict[str, Any]:
    """Stream length, events not archived yet, lag in seconds, this worker's consumer totals."""
    arc: ArchiveService | None = getattr(request.app.state, "archive", None)
    lag = await archive_lag(svc.store().redis, svc.store().keys, int(time.time() * 1000))
    totals = vars(arc.archiver.totals) if arc and arc.archiver else None
    return {"lag": lag, "consumer": totals, "cap": svc.settings.archive_stream_cap}


@router.get("/history", include_in_schema=False)
async def history_page() -> FileResponse:
    """The history page (no data in it: its script asks the API with the monitor token)."""
    return FileResponse(STATIC / "history.html", media_type="text/html",
                        headers={"Cache-Control": "no-store"})


@router.get("/history/{asset}", include_in_schema=False)
async def history_asset(asset: str) -> FileResponse:
    """The page's script and style sheet (no data in them, so no token)."""
    if asset not in ASSETS:
        raise HTTPException(404)
    return FileResponse(STATIC / asset, media_type=ASSETS[asset])
