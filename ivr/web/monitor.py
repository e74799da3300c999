"""Monitoring: figures, history, alerts and staffing as JSON, Prometheus, SSE, dashboard.

Every route here needs a monitor-role token (``IVR_MONITOR_TOKEN``, the tokens file; an
admin token also does, see ``ivr.web.roles``) as a Bearer header; only the SSE stream
and the dashboard page also take ``?token=`` (``EventSource`` and a wall screen's URL
cannot send headers; ``ivr.logs`` masks it in access logs). Only in development with no
monitor token configured at all are they open. ``/metrics`` has its own token
(``IVR_METRICS_TOKEN``, Bearer only), or is open when ``Settings.metrics_open``.
Figures: :mod:`ivr.core.kpi`; Prometheus families: :mod:`ivr.web.prometheus`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse, ServerSentEvent

from ivr.archive.lag import lag_alerts
from ivr.core import kpi
from ivr.core.numbers import UNKNOWN_LINE
from ivr.settings import Settings
from ivr.store.metrics import BucketCache, Metrics
from ivr.web.prometheus import SnapshotCollector
from ivr.web.roles import bearer
from ivr.web.services import Services, Svc

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}
MAX_STREAM_INTERVAL = 2.0


def _presented(request: Request) -> str:
    return bearer(request.headers.get("authorization", ""))


def _let_in(svc: Services, presented: str) -> None:
    st = svc.settings
    if not st.monitor_token and not st.tokens_file and st.env == "development":
        return
    if not presented or svc.tokens.lookup(presented) is None:  # constant-time digests
        raise HTTPException(401, "monitor token required", headers={"WWW-Authenticate": "Bearer"})


def monitor_role(request: Request, svc: Svc) -> None:
    """Let in a monitor or admin token (Bearer header only); dev with no token: open."""
    _let_in(svc, _presented(request))


def browser_role(request: Request, svc: Svc) -> None:
    """As :func:`monitor_role`, also taking ``?token=`` (EventSource, the wall screen's URL)."""
    _let_in(svc, _presented(request) or request.query_params.get("token", ""))


def metrics_role(request: Request, svc: Svc) -> None:
    """Let a scraper through with the metrics token (Bearer), or anyone when metrics are open."""
    if svc.settings.metrics_open:
        return
    expected, presented = svc.settings.metrics_token, _presented(request)
    if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise HTTPException(401, "metrics token required (IVR_METRICS_TOKEN)",
                            headers={"WWW-Authenticate": "Bearer"})


router = APIRouter(tags=["monitor"])
Guarded = [Depends(monitor_role)]
BrowserGuarded = [Depends(browser_role)]


def alert_rules(settings: Settings) -> kpi.AlertRules:
    """Alert thresholds from the ``IVR_MONITOR_*`` settings."""
    return kpi.AlertRules(longest_wait_seconds=settings.monitor_longest_wait_seconds,
                          min_calls=settings.monitor_min_calls,
                          overflow_intervals=settings.monitor_overflow_intervals)


def metrics_of(request: Request, svc: Svc) -> Metrics:
    """The monitoring reader of this service (503 until Redis is connected)."""
    if svc.acd is None:
        raise HTTPException(503, "Redis is not connected")
    state = request.app.state
    if getattr(state, "monitor_cache", None) is None:  # one per app, made on first use
        state.monitor_cache = BucketCache()
    return Metrics(svc.acd.redis, svc.acd.keys, svc.config, svc.clock,
                   alert_rules(svc.settings), state.monitor_cache)


MetricsDep = Annotated[Metrics, Depends(metrics_of)]


async def archive_alerts(m: Metrics, svc: Services) -> list[dict[str, Any]]:
    """``archive_lag`` when the oldest unarchived event is older than the setting."""
    st = svc.settings
    return await lag_alerts(m.redis, svc.store().keys, int(time.time() * 1000),  # stream ids
                            st.archive_lag_alert_seconds, st.archive_stream_cap)


def _scope(m: Metrics, queue: str | None, line: str | None) -> None:
    if queue is not None and queue not in {q.id for q in m.config.roster.queues}:
        raise HTTPException(404, f"no queue {queue!r}")
    if line is not None and line != UNKNOWN_LINE and m.config.line(line) is None:
        raise HTTPException(404, f"no line {line!r}")


async def _read(coro: Any) -> Any:
    try:
        return await coro
    except RedisError as exc:
        raise HTTPException(503, f"Redis unavailable: {exc}") from exc


@router.get("/api/metrics", dependencies=Guarded)
async def get_metrics(m: MetricsDep, svc: Svc, queue: str | None = None, line: str | None = None) -> Any:
    """Figures over 15 min, 1 h and today, and live state: center, queues and lines."""
    _scope(m, queue, line)
    report = await _read(m.report(queue=queue, line=line))
    report["alerts"] += await _read(archive_alerts(m, svc))
    report["definitions"] = DEFINITIONS
    return report


@router.get("/api/metrics/history", dependencies=Guarded)
async def get_history(m: MetricsDep, queue: str | None = None, line: str | None = None,
                      hours: Annotated[int, Query(ge=1, le=72)] = 24) -> Any:
    """Figures per 15-minute interval over the last ``hours`` (counters live 3 days)."""
    _scope(m, queue, line)
    scopes = await _read(m.history(hours, queue=queue, line=line))
    return {"now": m.clock.now(), "interval_seconds": kpi.BUCKET, "hours": hours,
            "scopes": scopes}


@router.get("/api/alerts", dependencies=Guarded)
async def get_alerts(m: MetricsDep, svc: Svc, queue: str | None = None) -> Any:
    """Alerts active now, and the rules that raise them."""
    _scope(m, queue, None)
    report = await _read(m.report(queue=queue, lines=False))
    report["alerts"] += await _read(archive_alerts(m, svc))
    return {"now": report["now"], "alerts": report["alerts"], "rules": vars(m.rules)}


@router.get("/api/staffing", dependencies=Guarded)
async def get_staffing(m: MetricsDep, queue: str | None = None) -> Any:
    """Seats each queue needs for its targets (Erlang A/C on the last hour) and seats now."""
    _scope(m, queue, None)
    return {"now": m.clock.now(), "queues": await _read(m.staffing(queue))}


async def live_payload(m: Metrics) -> dict[str, Any]:
    """What the dashboard shows: queues with sparklines, totals, alerts and staffing."""
    report = await m.report(lines=False, spark=24)
    report["staffing"] = await m.staffing()
    return report


async def _events(request: Request, svc: Services, interval: float) -> AsyncIterator[Any]:
    n = 0
    while not await request.is_disconnected():
        try:  # a fresh reader each time: the config may have been swapped meanwhile
            data = json.dumps(await live_payload(metrics_of(request, svc)), ensure_ascii=False)
            yield ServerSentEvent(data=data, event="metrics", id=str(n), retry=2000)
        except RedisError as exc:
            yield ServerSentEvent(data=json.dumps({"error": str(exc)}), event="failure")
        n += 1
        await asyncio.sleep(interval)


@router.get("/api/metrics/stream", dependencies=BrowserGuarded)
async def stream(request: Request, svc: Svc,
                 interval: Annotated[float, Query(ge=0.2, le=MAX_STREAM_INTERVAL)] = 1.0,
                 ) -> EventSourceResponse:
    """Server-sent ``metrics`` events (the dashboard payload) every ``interval`` seconds."""
    metrics_of(request, svc)  # 503 now rather than inside the stream
    return EventSourceResponse(_events(request, svc, interval), ping=15)


@router.get("/dashboard", dependencies=BrowserGuarded, include_in_schema=False)
async def dashboard() -> FileResponse:
    """The wall-screen page (live over SSE; ``?lang=en|zh``, ``?token=``)."""
    return FileResponse(STATIC / "dashboard.html", media_type="text/html",
                        headers={"Cache-Control": "no-store"})


@router.get("/dashboard/{asset}", include_in_schema=False)
async def dashboard_asset(asset: str) -> FileResponse:
    """The page's script and style sheet (no data in them, so no token)."""
    if asset not in ASSETS:
        raise HTTPException(404)
    return FileResponse(STATIC / asset, media_type=ASSETS[asset])


@router.get("/metrics", dependencies=[Depends(metrics_role)], include_in_schema=False)
async def prometheus(m: MetricsDep) -> Response:
    """Prometheus text exposition of counters, wait histograms, gauges and alerts."""
    report = await _read(m.report(raw=True))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(report, await _read(m.staffing())))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


DEFINITIONS = {
    "answer_rate": "answered / (answered + abandoned - abandoned_short)",
    "abandoned_short": "abandons after less than short_abandon_seconds; included in "
                       "abandoned, excluded from the answer rate",
    "callbacks_requested": "callers who asked to be called back: not abandons; answered "
                           "(and counted so) when the call back connects",
    "service_level": "answered within sl_seconds / (answered + abandoned - abandoned_short)",
    "asa_seconds": "total wait of answered calls / answered",
    "wait_avg_seconds": "mean wait of answered and abandoned calls",
    "wait_p90_seconds": "estimated from wait bins (linear within a bin; 600 = 600 s or more)",
    "aht_seconds": "talk time / calls answered (wrap-up not included)",
    "occupancy": "seats reserved, talking or in wrap-up / those plus ready seats, now",
    "windows": "whole 15-minute buckets overlapping the last 15 min / hour; today from "
               "00:00 Asia/Shanghai",
}
