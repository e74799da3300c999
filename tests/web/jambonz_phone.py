"""Plays jambonz's part in tests: signed JSON posts to /jambonz/..., verb arrays back.

Every answer is checked with ``@jambonz/verb-specifications`` (``jambonz_findings``, zero
findings) and then shown to the test as the TwiML-shaped tree the Twilio phone returns,
so one journey test reads both dialects. The view is a plain inverse of the renderer:
``say``/``play``/``pause`` -> ``Say``/``Play``/``Pause``; a ``gather`` with its nested
prompt (and the prompts jambonz plays just before it) -> ``Gather``; ``redirect`` ->
``Redirect``; ``dial`` -> ``Dial`` with ``Client``/``Number``/``Sip``; ``conference`` ->
``Dial/Conference``; ``hangup`` -> ``Hangup``; our /jambonz/ URLs are shown as /voice/.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from typing import Any

import httpx

from ivr.auth import seat_token
from ivr.telephony.jambonz_hooks import sign as jambonz_sign
from ivr.web.services import Services
from tests.specs.lint import jambonz_findings

SECRET = "jambonz-webhook-secret-for-tests"
BASE = "https://ivr.test"
_FIELDS = {"CallSid": "call_sid", "From": "from", "To": "to", "CallStatus": "call_status",
           "Digits": "digits", "DialCallStatus": "dial_call_status", "DialCallSid": "dial_call_sid",
           "ParentCallSid": "parent_call_sid", "Direction": "direction"}
_EVENTS = {"participant-leave": "leave", "participant-join": "join"}


def payload(params: dict[str, str]) -> dict[str, Any]:
    """Twilio-named test parameters as the JSON body jambonz would post."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name in _FIELDS:
            out[_FIELDS[name]] = value
        elif name == "SpeechResult":
            out["speech"] = {"alternatives": [{"transcript": value, "confidence": 0.9}]}
        elif name == "DialCallDuration":
            out["dial_call_duration"] = int(value)
        elif name == "StatusCallbackEvent":
            out["event"] = _EVENTS.get(value, value)
        else:
            raise AssertionError(f"the jambonz phone does not know the parameter {name}")
    return out


def _view_url(url: str) -> str:
    return url.replace("/jambonz/", "/voice/", 1)


def _prompt(parent: ET.Element, verb: dict[str, Any]) -> None:
    kind = verb["verb"]
    if kind == "say":
        say = ET.SubElement(parent, "Say", language=verb["synthesizer"]["language"])
        say.text = verb["text"]
    elif kind == "play":
        ET.SubElement(parent, "Play").text = verb["url"]
    else:
        ET.SubElement(parent, "Pause", length=str(verb.get("length", 1)))


def _dial(root: ET.Element, verb: dict[str, Any]) -> None:
    dial = ET.SubElement(root, "Dial", action=_view_url(verb["actionHook"]),
                         timeout=str(verb["timeout"]))
    if verb.get("callerId"):
        dial.set("callerId", verb["callerId"])
    for t in verb["target"]:
        if t["type"] == "user":
            el = ET.SubElement(dial, "Client")
            el.text = t["name"]
        elif t["type"] == "sip":
            el = ET.SubElement(dial, "Sip")
            el.text = t["sipUri"]
        else:
            el = ET.SubElement(dial, "Number")
            el.text = t["number"]
        if t.get("confirmHook"):
            el.set("statusCallback", _view_url(t["confirmHook"]))


def view(verbs: list[dict[str, Any]]) -> ET.Element:
    """The verb array as the TwiML-shaped tree the journey tests read."""
    root = ET.Element("Response")
    pending: list[dict[str, Any]] = []  # prompts played just before a gather
    for verb in verbs:
        kind = verb["verb"]
        if kind in ("say", "play", "pause"):
            pending.append(verb)
            continue
        if kind == "gather":
            g = ET.SubElement(root, "Gather", action=_view_url(verb["actionHook"]),
                              input=" ".join("dtmf" if i == "digits" else i for i in verb["input"]),
                              timeout=str(verb["timeout"]))
            for src, dst in (("numDigits", "numDigits"), ("finishOnKey", "finishOnKey")):
                if src in verb:
                    g.set(dst, str(verb[src]))
            for p in pending:
                _prompt(g, p)
            for nested in ("say", "play"):
                if nested in verb:
                    _prompt(g, {"verb": nested, **verb[nested]})
            pending = []
            continue
        for p in pending:
            _prompt(root, p)
        pending = []
        if kind == "redirect":
            ET.SubElement(root, "Redirect").text = _view_url(verb["actionHook"])
        elif kind == "dial":
            _dial(root, verb)
        elif kind == "conference":
            conf = ET.SubElement(ET.SubElement(root, "Dial"), "Conference")
            conf.text = verb["name"]
            if verb.get("statusHook"):
                conf.set("statusCallback", _view_url(verb["statusHook"]))
        elif kind == "hangup":
            ET.SubElement(root, "Hangup")
        else:
            raise AssertionError(f"unexpected jambonz verb {kind}")
    for p in pending:
        _prompt(root, p)
    return root


class JambonzPhone:
    """The jambonz twin of ``tests.conftest.Phone`` (same methods, same view of answers)."""

    dialect = "jambonz"

    def __init__(self, client: httpx.AsyncClient, svc: Services, secret: str = SECRET) -> None:
        self.client = client
        self.svc = svc
        self.secret = secret

    async def post(self, url: str, sign: bool = True, **params: str) -> httpx.Response:
        """POST ``params`` as jambonz's JSON to the /jambonz/ twin of ``url``."""
        full = url if url.startswith("http") else BASE + url
        full = full.replace("/voice/", "/jambonz/", 1)
        body = json.dumps(payload(params)).encode()
        headers = {"Content-Type": "application/json"}
        if sign:
            headers["Jambonz-Signature"] = jambonz_sign(self.secret, body, int(time.time()))
        return await self.client.post(full, content=body, headers=headers)

    async def twiml(self, url: str, **params: str) -> ET.Element:
        """The answer's verbs, linted against the verb specifications, as a TwiML-shaped tree."""
        resp = await self.post(url, **params)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("application/json")
        verbs = resp.json()
        assert isinstance(verbs, list)
        if verbs:
            assert jambonz_findings(verbs) == [], verbs
        return view(verbs)

    async def seat(self, seat: str, action: str) -> httpx.Response:
        """A seat's softphone action (the seat API does not depend on the dialect)."""
        token = seat_token(self.svc.settings.seat_secret, seat)
        return await self.client.post(
            f"{BASE}/api/seats/{seat}/{action}", headers={"Authorization": f"Bearer {token}"})
