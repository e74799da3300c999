"""jambonz's side of a call: signed JSON webhooks out, verb arrays read back as call verbs.

:class:`Jambonz` posts what jambonz posts (``call_sid``, ``from``, ``to``, ``call_status``,
``digits``, ``speech``, ``dial_call_status`` ... as JSON, signed with ``Jambonz-Signature``)
and reads the answer, a jambonz verb array, into the same verbs the Twilio phone plays
(``ivr.phone.twiml``), so one call interpreter plays both platforms.

:func:`view` is the translation, a plain inverse of the service's renderer
(``ivr/telephony/jambonz.py``): ``say``/``play``/``pause`` -> ``Say``/``Play``/``Pause``; a
``gather`` with its nested prompt (and the prompts jambonz plays just before it) ->
``Gather`` (jambonz always posts its ``actionHook``, even on silence); ``redirect`` ->
``Redirect``; ``dial`` -> ``Dial`` with ``Client``/``Number``/``Sip`` (a target's
``confirmHook`` is called when it answers); ``conference`` -> ``Dial/Conference``;
``hangup`` -> ``Hangup``. The tests read answers through the same view.
"""

from __future__ import annotations

import dataclasses
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

from ivr.phone import twiml
from ivr.phone.transport import Reply, Transport
from ivr.telephony.jambonz_hooks import sign

#: Twilio's parameter names (what the call interpreter speaks) -> jambonz's payload fields.
FIELDS = {"CallSid": "call_sid", "From": "from", "To": "to", "CallStatus": "call_status",
          "Digits": "digits", "DialCallStatus": "dial_call_status", "DialCallSid": "dial_call_sid",
          "ParentCallSid": "parent_call_sid", "Direction": "direction",
          "AccountSid": "account_sid"}
_EVENTS = {"participant-leave": "leave", "participant-join": "join"}
Json = dict[str, Any]


def payload(params: dict[str, str], strict: bool = False) -> Json:
    """Twilio-named parameters as the JSON body jambonz would post.

    A parameter jambonz has no field for is left out, or refused when ``strict``.
    """
    out: Json = {}
    for name, value in params.items():
        if name in FIELDS:
            out[FIELDS[name]] = value
        elif name == "SpeechResult":
            out["speech"] = {"alternatives": [{"transcript": value, "confidence": 0.9}]}
        elif name == "DialCallDuration":
            out["dial_call_duration"] = int(float(value))
        elif name == "StatusCallbackEvent":
            out["event"] = _EVENTS.get(value, value)
        elif strict:
            raise ValueError(f"jambonz has no field for the parameter {name}")
    return out


def _same(url: str) -> str:
    return url


def _prompt(parent: ET.Element, verb: Json) -> None:
    kind = verb["verb"]
    if kind == "say":
        say = ET.SubElement(parent, "Say", language=verb["synthesizer"]["language"])
        say.text = verb["text"]
    elif kind == "play":
        ET.SubElement(parent, "Play").text = verb["url"]
    else:
        ET.SubElement(parent, "Pause", length=str(verb.get("length", 1)))


def _dial(root: ET.Element, verb: Json, url: Callable[[str], str]) -> None:
    dial = ET.SubElement(root, "Dial", action=url(verb["actionHook"]), timeout=str(verb["timeout"]))
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
        if t.get("confirmHook"):  # run on the target's leg when it answers
            el.set("statusCallback", url(t["confirmHook"]))
            el.set("statusCallbackEvent", "answered")


def _gather(root: ET.Element, verb: Json, pending: list[Json], url: Callable[[str], str]) -> None:
    g = ET.SubElement(root, "Gather", action=url(verb["actionHook"]),
                      input=" ".join("dtmf" if i == "digits" else i for i in verb["input"]),
                      timeout=str(verb["timeout"]), actionOnEmptyResult="true")
    for name in ("numDigits", "finishOnKey"):
        if name in verb:
            g.set(name, str(verb[name]))
    for p in pending:
        _prompt(g, p)
    for nested in ("say", "play"):
        if nested in verb:
            _prompt(g, {"verb": nested, **verb[nested]})


def view(verbs: list[Json], url: Callable[[str], str] = _same) -> ET.Element:
    """The verb array as a TwiML-shaped tree (``url`` rewrites the hooks, e.g. for tests)."""
    root = ET.Element("Response")
    pending: list[Json] = []  # prompts played just before a gather
    for verb in verbs:
        kind = verb["verb"]
        if kind in ("say", "play", "pause"):
            pending.append(verb)
            continue
        if kind == "gather":
            _gather(root, verb, pending, url)
            pending = []
            continue
        for p in pending:
            _prompt(root, p)
        pending = []
        if kind == "redirect":
            ET.SubElement(root, "Redirect").text = url(verb["actionHook"])
        elif kind == "dial":
            _dial(root, verb, url)
        elif kind == "conference":
            conf = ET.SubElement(ET.SubElement(root, "Dial"), "Conference")
            conf.text = verb["name"]
            if verb.get("statusHook"):
                conf.set("statusCallback", url(verb["statusHook"]))
        elif kind == "hangup":
            ET.SubElement(root, "Hangup")
        else:
            raise ValueError(f"unexpected jambonz verb {kind!r}")
    for p in pending:
        _prompt(root, p)
    return root


def verb_array(text: str) -> list[Json]:
    """The JSON answer as a verb array; TwimlError when it is not one (jambonz would fail)."""
    try:
        verbs = json.loads(text)
    except ValueError as exc:
        raise twiml.TwimlError(f"not JSON: {exc}") from exc
    if not isinstance(verbs, list) or not all(isinstance(v, dict) and "verb" in v for v in verbs):
        raise twiml.TwimlError("not a jambonz verb array")
    return verbs


def parse(text: str, doc_url: str = "") -> list[twiml.Verb]:
    """The verbs of a jambonz answer, as the call interpreter plays them."""
    verbs = verb_array(text)
    try:
        tree = view(verbs)
    except (KeyError, TypeError, ValueError) as exc:
        raise twiml.TwimlError(f"verb array not understood: {exc}") from exc
    out = twiml.parse(ET.tostring(tree, encoding="unicode"), doc_url)
    keys = iter(v.get("finishOnKey", "") for v in verbs if v["verb"] == "gather")
    # jambonz has no default finish key (Twilio's is '#')
    return [dataclasses.replace(v, finish_on_key=next(keys)) if isinstance(v, twiml.Gather) else v
            for v in out]


class Jambonz:
    """Posts webhooks as jambonz does: JSON bodies signed with the webhook secret."""

    dialect = "jambonz"
    prefix = "/jambonz"

    def __init__(self, transport: Transport, secret: str,
                 now: Callable[[], float] = time.time) -> None:
        self.transport = transport
        self.secret = secret
        self.now = now

    async def post(self, url: str, params: dict[str, str], method: str = "POST") -> Reply:
        """Send a signed JSON webhook (jambonz posts every hook)."""
        body = json.dumps(payload(params), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json",
                   "Jambonz-Signature": sign(self.secret, body, int(self.now()))}
        return await self.transport.request("POST", url, None, headers, content=body)

    @staticmethod
    def parse(text: str, doc_url: str) -> list[twiml.Verb]:
        """A verb array as call verbs."""
        return parse(text, doc_url)
