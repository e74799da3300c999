"""Liveness and readiness, and the fixed-TwiML endpoint the benchmark compares against."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ivr.web.services import Svc

router = APIRouter(tags=["health"])
BARE_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>ok</Say></Response>'


@router.get("/healthz", summary="Is the service up, and can it reach Redis?")
async def healthz(svc: Svc, response: Response) -> dict[str, object]:
    """200 with redis true when Redis answers, 503 otherwise."""
    try:
        ok = bool(await svc.store().redis.ping())
    except Exception:
        ok = False
    if not ok:
        response.status_code = 503
    return {"status": "ok" if ok else "degraded", "redis": ok,
            "config_version": svc.config.version}


async def bare() -> Response:
    """A fixed TwiML document: the baseline of the webhook benchmark."""
    return Response(BARE_TWIML, media_type="application/xml")
