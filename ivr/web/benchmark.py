"""The minimal one-script webhook the benchmark compares the service against (issue 14).

Mounted only with ``IVR_BENCH_ENDPOINT=true``. ``POST /voice/min`` does what any webhook
backed by Redis must: read the form body, run one script by its SHA through redis-py's
asyncio client, and answer fixed TwiML. It is the floor the real ``/voice/incoming`` is
measured against in ``bench/bench_webhook.py``; what the real webhook costs above it is
the service's own work (signature, routing, ACD script, rendering).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import Request, Response

from ivr.web.services import Services

MIN_TWIML = ('<?xml version="1.0" encoding="UTF-8"?><Response><Say>ok</Say>'
             '<Redirect method="POST">/voice/min</Redirect></Response>')
# KEYS[1] the call's hash (keys.py Keys.call); ARGV[1] the time in ms.
# Writes one field with a one-minute expiry; returns 1.
MIN_SCRIPT = ("redis.call('HSET', KEYS[1], 'bench', ARGV[1]) "
              "redis.call('PEXPIRE', KEYS[1], 60000) return 1")


async def minimal(request: Request) -> Response:
    """Parse the form, run one EVALSHA, answer fixed TwiML."""
    svc: Services = request.app.state.services
    acd = svc.store()
    script = getattr(request.app.state, "min_script", None)
    if script is None:
        script = request.app.state.min_script = acd.redis.register_script(MIN_SCRIPT)
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    await script(keys=[acd.keys.call(form.get("CallSid", "none"))],
                 args=[int(svc.clock.now() * 1000)])
    return Response(MIN_TWIML, media_type="application/xml")
