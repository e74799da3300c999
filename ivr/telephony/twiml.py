"""Render the core's actions as TwiML, with ``twilio.twiml``.

Every function returns a complete ``VoiceResponse``; the web layer never writes XML.
URLs are given by the caller (``ivr.web.services.Services.url`` builds them from the public
base URL).
:func:`to_xml` is the one place a document becomes text: it drops every character
XML 1.0 forbids, so no caller number, query value or admin text can make it ill-formed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from ivr.core.engine import (
    Action,
    GatherAction,
    HangupAction,
    PlayAction,
    SayAction,
)
from ivr.core.waiting import APOLOGY

# XML 1.0 Char: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def to_xml(r: VoiceResponse) -> str:
    """The TwiML document as text, always well-formed XML 1.0 (forbidden characters dropped)."""
    root = r.xml()
    for el in root.iter():
        for name, value in el.attrib.items():
            el.set(name, _NOT_XML.sub("", str(value)))
        if el.text is not None:
            el.text = _NOT_XML.sub("", str(el.text))
        if el.tail is not None:
            el.tail = _NOT_XML.sub("", str(el.tail))
    return '<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")


def _say(r: VoiceResponse | Gather, a: SayAction | PlayAction) -> None:
    if isinstance(a, SayAction):
        if a.voice:
            r.say(a.text, language=a.language, voice=a.voice)
        else:
            r.say(a.text, language=a.language)
    else:
        r.play(a.url)


def render(actions: Sequence[Action], gather_url: str | None = None,
           r: VoiceResponse | None = None) -> VoiceResponse:
    """Say/Play/Gather/Hangup actions as TwiML (queue and transfer are rendered elsewhere)."""
    r = r or VoiceResponse()
    for a in actions:
        if isinstance(a, SayAction | PlayAction):
            _say(r, a)
        elif isinstance(a, GatherAction):
            speech = {"hints": ",".join(a.hints), "speech_timeout": "auto"} if a.speech else {}
            g = Gather(input="dtmf speech" if a.speech else "dtmf", action=gather_url,
                       method="POST", timeout=a.timeout, num_digits=a.num_digits,
                       action_on_empty_result=True, language=a.language, **speech)
            for p in a.prompt:
                _say(g, p)
            r.append(g)
            # No input at all: Twilio falls through the Gather; ask again through the action.
            if gather_url:
                r.redirect(gather_url, method="POST")
        elif isinstance(a, HangupAction):
            r.hangup()
    return r


def hold_audio(r: VoiceResponse | Gather, music_url: str | None, seconds: int) -> None:
    """What a waiting caller hears between announcements: music, or silence."""
    if music_url:
        r.play(music_url)
    else:
        r.pause(length=seconds)


def hold(text: str | None, language: str, music_url: str | None, seconds: int,
         wait_url: str, r: VoiceResponse | None = None) -> VoiceResponse:
    """One turn of the hold loop: announcement, music (or silence), back to the wait URL."""
    r = r or VoiceResponse()
    if text:
        r.say(text, language=language)
    hold_audio(r, music_url, seconds)
    r.redirect(wait_url, method="POST")
    return r


def conference(room: str, end_on_exit: bool, status_callback: str | None = None,
               r: VoiceResponse | None = None) -> VoiceResponse:
    """Join a warm-transfer conference room (reporting participants leaving, if asked)."""
    r = r or VoiceResponse()
    d = Dial()
    extra = ({"status_callback": status_callback, "status_callback_event": "leave",
              "status_callback_method": "POST"} if status_callback else {})
    d.conference(room, start_conference_on_enter=True, end_conference_on_exit=end_on_exit,
                 **extra)
    r.append(d)
    return r


def dial_seat(endpoint: str, seat: str, ring_seconds: int, action_url: str, answered_url: str,
              caller_id: str | None = None, r: VoiceResponse | None = None) -> VoiceResponse:
    """Ring a seat's endpoint (client:, sip: or a number), reporting its answer."""
    r = r or VoiceResponse()
    d = Dial(action=action_url, method="POST", timeout=ring_seconds, answer_on_bridge=True,
             caller_id=caller_id)
    cb = {"status_callback": answered_url, "status_callback_event": "answered",
          "status_callback_method": "POST"}
    if endpoint.startswith("sip:"):
        d.sip(endpoint, **cb)
    elif endpoint.startswith("client:"):
        d.client(endpoint.removeprefix("client:"), **cb)
    else:
        d.number(endpoint, **cb)
    r.append(d)
    return r


def dial_target(number: str, action_url: str, caller_id: str | None,
                r: VoiceResponse | None = None) -> VoiceResponse:
    """Transfer the caller to a number or SIP address, passing the caller's number on."""
    r = r or VoiceResponse()
    d = Dial(action=action_url, method="POST", timeout=30, caller_id=caller_id)
    if number.startswith("sip:"):
        d.sip(number)
    else:
        d.number(number)
    r.append(d)
    return r


def apology(backup_number: str, language: str = "zh-CN") -> VoiceResponse:
    """What a caller hears when we cannot serve the call: an apology and the backup line."""
    r = VoiceResponse()
    r.say(APOLOGY.get(language, APOLOGY["zh-CN"]), language=language)
    r.dial(backup_number)
    return r


def empty() -> VoiceResponse:
    """An empty response, for status callbacks."""
    return VoiceResponse()
