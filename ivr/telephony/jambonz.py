"""Render a call document as a jambonz verb array (the JSON answer to a jambonz webhook).

Mapping: Say -> ``say`` with the speech table's synthesizer; Gather -> ``gather`` with
``input`` digits (and speech, with the table's recognizer) and one nested prompt (earlier
prompts are played before it as their own verbs: jambonz nests only one say or play);
Redirect -> ``redirect`` (the hold loop is say/play + redirect, as on Twilio); the dials
-> ``dial`` with ``user`` (``client:``), ``sip`` or ``phone`` targets, an ``actionHook``
and a ``timeout``; the seat's answer is reported through the target's ``confirmHook``
(run on the seat's leg when it picks up, answered with an empty array); Conference ->
``conference`` (warm transfer); Hangup -> ``hangup``. Hooks are POSTed as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from ivr.core.speech import JambonzRecognizer, JambonzSynthesizer, SpeechTable
from ivr.telephony import doc as d

Json = dict[str, Any]


def _synthesizer(s: JambonzSynthesizer) -> Json:
    out: Json = {"vendor": s.vendor, "language": s.language, "voice": s.voice}
    if s.label:
        out["label"] = s.label
    return out


def _recognizer(r: JambonzRecognizer, hints: tuple[str, ...]) -> Json:
    out: Json = {"vendor": r.vendor, "language": r.language}
    if r.label:
        out["label"] = r.label
    if hints:
        out["hints"] = list(hints)
    return out


def _target(address: str, confirm: str | None = None) -> Json:
    """A dial target: ``client:name`` -> a registered user, ``sip:`` -> a SIP URI, else a phone."""
    if address.startswith("client:"):
        t: Json = {"type": "user", "name": address.removeprefix("client:")}
    elif address.startswith("sip:"):
        t = {"type": "sip", "sipUri": address}
    else:
        t = {"type": "phone", "number": address}
    if confirm:
        t["confirmHook"] = confirm
    return t


class JambonzRenderer:
    """Doc -> jambonz verbs, voices from the speech table."""

    media_type = "application/json"

    def __init__(self, speech: SpeechTable) -> None:
        self._speech = speech

    def verbs(self, document: d.Doc) -> list[Json]:
        """The verb array of ``document`` (``[]`` for an empty one)."""
        out: list[Json] = []
        for verb in document.verbs:
            out.extend(self._verb(verb))
        return out

    def render(self, document: d.Doc) -> str:
        """The JSON text of the verb array."""
        return json.dumps(self.verbs(document), ensure_ascii=False, separators=(",", ":"))

    def _prompt(self, p: d.Prompt) -> Json:
        if isinstance(p, d.Say):
            return {"verb": "say", "text": p.text,
                    "synthesizer": _synthesizer(self._speech.of(p.lang).jambonz.say)}
        if isinstance(p, d.Play):
            return {"verb": "play", "url": p.url}
        return {"verb": "pause", "length": p.seconds}

    def _gather(self, g: d.Gather) -> list[Json]:
        verb: Json = {"verb": "gather", "actionHook": g.action,
                      "input": ["digits", "speech"] if g.speech else ["digits"],
                      "timeout": g.timeout}
        if g.num_digits:
            verb["numDigits"] = g.num_digits
        if g.finish_key():
            verb["finishOnKey"] = g.finish_key()
        if g.speech:
            verb["recognizer"] = _recognizer(self._speech.of(g.lang).jambonz.gather, g.hints)
        before = [self._prompt(p) for p in g.prompts]
        if before and before[-1]["verb"] in ("say", "play"):
            nested = before.pop()
            verb[nested.pop("verb")] = nested
        return [*before, verb]

    def _verb(self, v: d.Verb) -> list[Json]:
        if isinstance(v, d.Say | d.Play | d.Pause):
            return [self._prompt(v)]
        if isinstance(v, d.Gather):
            return self._gather(v)
        if isinstance(v, d.Redirect):
            return [{"verb": "redirect", "actionHook": v.url}]
        if isinstance(v, d.DialSeat):
            return [_dial(v.action, v.ring_seconds, v.caller_id, _target(v.endpoint, v.answered),
                          answer_on_bridge=True)]
        if isinstance(v, d.DialTarget):
            return [_dial(v.action, v.timeout, v.caller_id, _target(v.target.address))]
        if isinstance(v, d.DialBackup):
            return [_dial(v.action, v.timeout, None, _target(v.number))]
        if isinstance(v, d.Conference):
            conf: Json = {"verb": "conference", "name": v.room, "beep": False,
                          "startConferenceOnEnter": True, "endConferenceOnExit": v.end_on_exit}
            if v.status:
                conf["statusHook"] = v.status
                conf["statusEvents"] = ["leave"]
            return [conf]
        return [{"verb": "hangup"}]


def _dial(action: str, timeout: int, caller_id: str | None, target: Json,
          answer_on_bridge: bool = False) -> Json:
    verb: Json = {"verb": "dial", "actionHook": action, "timeout": timeout, "target": [target]}
    if answer_on_bridge:
        verb["answerOnBridge"] = True
    if caller_id:
        verb["callerId"] = caller_id
    return verb
