"""Fallback webhooks for both dialects: an apology and the backup line, with no Redis at all.

Twilio calls a number's *Voice Fallback URL* when the Voice URL fails (timeout, 5xx,
invalid TwiML); a jambonz deployment can point its failover at the jambonz twin. These
handlers read nothing but settings: they check the request's signature with their dialect
(403 otherwise), then answer the apology and a ``<Dial>`` to the backup number whose action
comes back here and hangs up. The two fixed answers are rendered once per process.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ivr.core.speech import SpeechTable
from ivr.settings import Settings
from ivr.telephony import compose
from ivr.telephony import doc as d
from ivr.telephony.dialect import Dialect, JambonzDialect, TwilioDialect
from ivr.telephony.jambonz_hooks import JambonzSignature
from ivr.telephony.rest import CallControl, NullCallControl
from ivr.telephony.signature import SignatureChecker

router = APIRouter(tags=["voice"])
PATHS = {"twilio": "/voice/fallback", "jambonz": "/jambonz/fallback"}


def apology_doc(backup_number: str, action: str) -> d.Doc:
    """The fallback's answer: the apology in Mandarin, then the backup line."""
    return compose.apology(backup_number, action)


def dialects(settings: Settings, checker: SignatureChecker,
             controls: CallControl | Mapping[str, CallControl],
             speech: SpeechTable | None = None) -> dict[str, Dialect]:
    """The deployment's dialects by name, as the voice webhooks' path prefixes pick them.

    ``controls``: each dialect's REST API by name, or one for both.
    """
    by_name = controls if isinstance(controls, Mapping) else {}
    shared: CallControl | None = None if isinstance(controls, Mapping) else controls
    table = speech or SpeechTable.standard()
    # no secret configured: nothing can sign, so every jambonz request is refused
    jsig = JambonzSignature(settings.jambonz_webhook_secret or [], time.time,
                            enabled=settings.validate_signatures)
    return {"twilio": TwilioDialect(table, checker, by_name.get("twilio") or shared
                                    or NullCallControl()),
            "jambonz": JambonzDialect(table, jsig, by_name.get("jambonz") or shared
                                      or NullCallControl())}


class Fallback:
    """The fallback's fixed answers in each dialect, rendered once."""

    def __init__(self, settings: Settings, checker: SignatureChecker,
                 by_name: dict[str, Dialect]) -> None:
        self.dialects = by_name
        self._checker = checker
        base = (settings.public_base_url or "").rstrip("/")
        self.bodies: dict[tuple[str, bool], str] = {}
        for name, dialect in self.dialects.items():
            action = base + PATHS[name]
            self.bodies[(name, False)] = dialect.render(apology_doc(settings.backup_number, action))
            self.bodies[(name, True)] = dialect.render(d.doc(d.Hangup()))

    async def answer(self, name: str, request: Request) -> Response:
        """Check the signature, then the apology (or hang up after the backup dial)."""
        dialect = self.dialects[name]
        body = await request.body()
        query = request.url.query
        url = self._checker.public_url(str(request.url),
                                       request.url.path + (f"?{query}" if query else ""))
        if not dialect.verify(url, body, request.headers):
            return JSONResponse({"detail": f"invalid or missing {name} signature"},
                                status_code=403)
        try:
            done = bool(dialect.parse(body).get("DialCallStatus"))
        except Exception:  # never fail here: this is the last answer the caller can get
            done = False
        return Response(self.bodies[(name, done)], media_type=dialect.media_type)


@router.post(PATHS["twilio"], summary="Twilio Voice Fallback URL: apology and backup line")
async def twilio_fallback(request: Request) -> Response:
    """Answer Twilio's fallback request without Redis."""
    fallback: Fallback = request.app.state.fallback
    return await fallback.answer("twilio", request)


@router.post(PATHS["jambonz"], summary="jambonz failover: apology and backup line")
async def jambonz_fallback(request: Request) -> Response:
    """Answer a jambonz failover request without Redis."""
    fallback: Fallback = request.app.state.fallback
    return await fallback.answer("jambonz", request)
