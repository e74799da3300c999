"""Liveness, readiness and health, and the fixed-TwiML endpoint the benchmark compares against.

Three probes, for three questions (an orchestrator needs the first two apart):

- ``/livez``: is the process up? Always 200, touches nothing. Restart on failure only:
  a worker that answers callers with the apology during a Redis outage is doing its job,
  and restarting it would not bring Redis back.
- ``/readyz``: should this worker get traffic? 200 when Redis answers a PING within
  ``READY_TIMEOUT`` seconds, else 503 with the reason in JSON.
- ``/healthz``: the overview for people and ``ivr call --wait``: Redis reachable and the
  config version in use (200, or 503 when Redis does not answer).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from ivr.web.services import Svc

router = APIRouter(tags=["health"])
BARE_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>ok</Say></Response>'
#: Seconds a readiness PING may take; a probe must answer well inside its own timeout.
READY_TIMEOUT = 1.0


@router.get("/livez", summary="Is the process up? (restart on failure)")
async def livez() -> dict[str, str]:
    """Always 200 while the process serves HTTP; touches no Redis."""
    return {"status": "alive"}


@router.get("/readyz", summary="Should this worker get traffic? (Redis answers a PING)")
async def readyz(svc: Svc, response: Response) -> dict[str, object]:
    """200 when Redis answers a PING within ``READY_TIMEOUT``, else 503 with the reason."""
    reason = ""
    try:
        if not await asyncio.wait_for(svc.store().redis.ping(), READY_TIMEOUT):
            reason = "Redis answered PING with something else than PONG"
    except TimeoutError:
        reason = f"Redis did not answer PING within {READY_TIMEOUT:g} s"
    except Exception as exc:  # any failure to reach Redis means: no traffic here
        # the error's class only: its text can name internal hosts, and the probe is open
        reason = f"Redis unreachable ({type(exc).__name__})"
    if reason:
        response.status_code = 503
        return {"status": "not ready", "redis": False, "reason": reason}
    return {"status": "ready", "redis": True}


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
