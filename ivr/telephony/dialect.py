"""One interface in front of each telephony platform, like an httpx transport.

A :class:`Dialect` renders call documents, parses a webhook request into the
parameters the handlers read, checks the request's signature, and holds the platform's
REST ``CallControl``. The ACD, flows and handlers see only ``Doc`` and ``dict[str, str]``.

- :class:`TwilioDialect`: TwiML, form-encoded webhooks, ``X-Twilio-Signature``, Twilio REST.
- :class:`JambonzDialect`: JSON verb arrays, JSON webhooks, ``Jambonz-Signature``, jambonz REST.

The path prefix of a webhook (``PREFIXES``: ``/voice``, ``/jambonz``) picks the dialect of a
request; a call keeps the dialect it came in on (its record's ``dl``), so that redirects
and hand-offs go through its own platform's ``CallControl``. Calls the service places
follow the line's ``dialect`` option (numbers/plan.yaml), else the deployment's
``IVR_DIALECT``: both choices are made in ``ivr.web.services`` (``dialect_of``,
``outbound_dialect``); ``ivr.web.fallback.dialects`` builds one dialect of each kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ivr.core.speech import SpeechTable
from ivr.telephony.doc import Doc
from ivr.telephony.jambonz import JambonzRenderer
from ivr.telephony.jambonz_hooks import HEADER, JambonzSignature, parse_body
from ivr.telephony.rest import CallControl
from ivr.telephony.signature import SignatureChecker, form_pairs
from ivr.telephony.twiml_render import TwimlRenderer

#: The path prefix of each dialect's webhooks (``/voice/wait``, ``/jambonz/wait``).
PREFIXES = {"twilio": "/voice", "jambonz": "/jambonz"}
#: The dialect of a path prefix.
BY_PREFIX = {prefix: name for name, prefix in PREFIXES.items()}


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (Starlette's headers are already case-blind)."""
    value = headers.get(name) or headers.get(name.lower())
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


class Dialect(Protocol):
    """What the web layer needs of a telephony platform."""

    name: str
    media_type: str
    control: CallControl

    def render(self, document: Doc) -> str:
        """The response body for a call document."""
        ...

    def parse(self, body: bytes) -> dict[str, str]:
        """A webhook body as the handlers' parameters (``CallSid``, ``From``, ``Digits`` ...)."""
        ...

    def read(self, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str] | None:
        """The parameters of a request whose signature holds (the body parsed once), else None."""
        ...

    def verify(self, url: str, body: bytes, headers: Mapping[str, str]) -> bool:
        """Whether the request was signed by the platform (``url``: the public URL it called)."""
        ...


class TwilioDialect:
    """Twilio: TwiML answers, form posts, ``X-Twilio-Signature``."""

    name = "twilio"
    media_type = "application/xml"

    def __init__(self, speech: SpeechTable, checker: SignatureChecker, control: CallControl) -> None:
        self._renderer = TwimlRenderer(speech)
        self._checker = checker
        self.control = control

    def render(self, document: Doc) -> str:
        """TwiML."""
        return self._renderer.render(document)

    @staticmethod
    def _multi(body: bytes) -> dict[str, list[str]]:
        multi: dict[str, list[str]] = {}
        for k, v in form_pairs(body.decode("utf-8", "replace")):
            multi.setdefault(k, []).append(v)
        return multi

    def parse(self, body: bytes) -> dict[str, str]:
        """Form parameters (a repeated name keeps its last value)."""
        return {k: v[-1] for k, v in self._multi(body).items()}

    def verify(self, url: str, body: bytes, headers: Mapping[str, str]) -> bool:
        """Twilio's HMAC over the public URL and the sorted form parameters."""
        return self._checker.valid(url, self._multi(body), header(headers, "X-Twilio-Signature"))

    def read(self, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str] | None:
        """Verify and parse from one parse of the form."""
        pairs = form_pairs(body.decode("utf-8", "replace"))
        if not self._checker.valid_pairs(url, pairs, header(headers, "X-Twilio-Signature")):
            return None
        return dict(pairs)


class JambonzDialect:
    """jambonz: JSON verb arrays, JSON webhooks, ``Jambonz-Signature``."""

    name = "jambonz"
    media_type = "application/json"

    def __init__(self, speech: SpeechTable, signature: JambonzSignature, control: CallControl) -> None:
        self._renderer = JambonzRenderer(speech)
        self._signature = signature
        self.control = control

    def render(self, document: Doc) -> str:
        """The verb array as JSON."""
        return self._renderer.render(document)

    def parse(self, body: bytes) -> dict[str, str]:
        """The JSON payload mapped to the handlers' parameter names."""
        return parse_body(body)

    def verify(self, url: str, body: bytes, headers: Mapping[str, str]) -> bool:
        """HMAC-SHA256 over ``t.body`` with the webhook secret, within the tolerance window."""
        return self._signature.valid(body, header(headers, HEADER))

    def read(self, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str] | None:
        """The JSON payload once the signature over the raw body holds."""
        return parse_body(body) if self.verify(url, body, headers) else None
