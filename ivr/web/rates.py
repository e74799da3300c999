"""``GET /api/rates``: the three rates per line, queue and day (monitor role)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from ivr.core import kpi
from ivr.core.numbers import UNKNOWN_LINE
from ivr.core.rates import DEFINITIONS, three_rates
from ivr.web.admin import READ_ERR
from ivr.web.monitor import MetricsDep
from ivr.web.roles import Monitor
from ivr.web.services import Svc

router = APIRouter(prefix="/api", tags=["monitor"])


@router.get("/rates", summary="Response, resolution and satisfaction rates of a day",
            responses=READ_ERR)
async def rates(svc: Svc, who: Monitor, m: MetricsDep,
                day: Annotated[date | None, Query(description="YYYY-MM-DD, Asia/Shanghai; "
                                                  "default today")] = None) -> dict[str, Any]:
    """The three rates for the center, every queue and every line, with their definitions."""
    now = svc.clock.now()
    if day is None:
        start = kpi.day_start(now)
    else:
        start = int(datetime(day.year, day.month, day.day, tzinfo=kpi.SHANGHAI).timestamp())
    if start > now:
        raise HTTPException(422, f"{day} is in the future")
    buckets = list(range(start, start + 86400, kpi.BUCKET))
    queues = await m.series("q", [q.id for q in svc.config.roster.queues], buckets)
    lines = await m.series("l", [ln.number for ln in svc.config.plan.lines] + [UNKNOWN_LINE], buckets)
    q_tot = {q: kpi.add(s.values()) for q, s in queues.items()}
    l_tot = {ln: kpi.add(s.values()) for ln, s in lines.items()}
    return {
        "day": datetime.fromtimestamp(start, kpi.SHANGHAI).date().isoformat(),
        "definitions": DEFINITIONS,
        "center": three_rates(kpi.add(l_tot.values())),
        "queues": {q: three_rates(c) for q, c in q_tot.items()},
        "lines": {ln: three_rates(c) for ln, c in l_tot.items() if c},
    }
