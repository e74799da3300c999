"""jambonz webhooks: their JSON payloads as the web layer's parameters, and their signature.

jambonz POSTs JSON with snake_case fields (``call_sid``, ``from``, ``call_status``,
``digits``, ``speech``, ``dial_call_status`` ...). :func:`params` maps a payload to the
parameter names the handlers read (Twilio's: ``CallSid``, ``From``, ``Digits``,
``SpeechResult``, ``DialCallStatus`` ...), so handlers do not know the dialect.

``Jambonz-Signature: t=<unix seconds>,v1=<hex>`` where hex is HMAC-SHA256 with the
application's webhook secret over ``f"{t}.{body}"``; several ``v1`` entries may be
given (secret rotation). A timestamp older than the tolerance (300 s, as
``@jambonz/node-client`` checks) is refused, and so is one from the future beyond it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

HEADER = "Jambonz-Signature"
TOLERANCE_SECONDS = 300

# jambonz call_status -> the Twilio CallStatus the handlers know
_STATUS = {"trying": "queued", "early-media": "ringing"}
# jambonz conference status events -> Twilio's StatusCallbackEvent
_CONF_EVENT = {"join": "participant-join", "leave": "participant-leave", "start": "conference-start",
               "end": "conference-end"}
_DIRECT = {"call_sid": "CallSid", "from": "From", "to": "To", "direction": "Direction",
           "digits": "Digits", "dial_call_status": "DialCallStatus", "dial_call_sid": "DialCallSid",
           "dial_sip_status": "DialSipStatus", "parent_call_sid": "ParentCallSid",
           "account_sid": "AccountSid", "caller_name": "CallerName", "sip_status": "SipStatus",
           "reason": "Reason"}


def _transcript(speech: Any) -> str:
    """The best transcript: ``speech.alternatives[0]`` (or inside ``transcripts[0]``)."""
    if not isinstance(speech, Mapping):
        return ""
    alts = speech.get("alternatives")
    if not alts and isinstance(speech.get("transcripts"), Sequence) and speech["transcripts"]:
        first = speech["transcripts"][0]
        alts = first.get("alternatives") if isinstance(first, Mapping) else None
    if isinstance(alts, Sequence) and alts and isinstance(alts[0], Mapping):
        return str(alts[0].get("transcript") or "").strip()
    return ""


def params(payload: Mapping[str, Any]) -> dict[str, str]:
    """A jambonz payload as the handlers' parameters (absent fields are left out)."""
    out: dict[str, str] = {}
    for src, dst in _DIRECT.items():
        value = payload.get(src)
        if value is not None and not isinstance(value, Mapping | list):
            out[dst] = str(value)
    status = payload.get("call_status")
    if isinstance(status, str):
        out["CallStatus"] = _STATUS.get(status, status)
    speech = _transcript(payload.get("speech"))
    if speech:
        out["SpeechResult"] = speech
    duration = payload.get("dial_call_duration", payload.get("duration"))
    if isinstance(duration, int | float | str) and str(duration).replace(".", "", 1).isdigit():
        out["DialCallDuration"] = str(int(float(duration)))
    event = payload.get("event")
    if isinstance(event, str):
        out["StatusCallbackEvent"] = _CONF_EVENT.get(event, event)
    return out


def parse_body(body: bytes) -> dict[str, str]:
    """Parameters of a raw jambonz webhook body; a body that is not a JSON object gives {}."""
    try:
        payload = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return params(payload) if isinstance(payload, Mapping) else {}


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Jambonz-Signature`` header jambonz would send (for tests and the call simulator)."""
    return f"t={timestamp},v1={_signature(secret, str(timestamp), body)}"


class JambonzSignature:
    """Checks ``Jambonz-Signature`` against one or more webhook secrets."""

    def __init__(self, secrets: str | Sequence[str], now: Callable[[], float],
                 tolerance: int = TOLERANCE_SECONDS, enabled: bool = True) -> None:
        self._secrets = [secrets] if isinstance(secrets, str) else list(secrets)
        self._now = now
        self._tolerance = tolerance
        self.enabled = enabled

    def valid(self, body: bytes, header: str | None) -> bool:
        """Whether ``header`` signs exactly ``body`` with one of the secrets, recently."""
        if not self.enabled:
            return True
        if not header:
            return False
        timestamp, sigs = "", []
        for item in header.split(","):
            key, _, value = item.strip().partition("=")
            if key == "t":
                timestamp = value
            elif key == "v1" and value:
                sigs.append(value)
        if not timestamp.isdigit() or not sigs:
            return False
        if abs(self._now() - int(timestamp)) > self._tolerance:
            return False
        expected = [_signature(s, timestamp, body) for s in self._secrets]
        return any(hmac.compare_digest(e, s) for e in expected for s in sigs)
