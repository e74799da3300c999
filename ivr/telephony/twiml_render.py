"""Render a call document as TwiML that Twilio accepts, with ``twilio.twiml``.

Conformance, in one place: every ``<Say>`` has the voice and language the speech table
gives for its text's language; ``<Gather>`` listens in the table's recognition language
(``cmn-Hans-CN``, not ``zh-CN``); every ``<Dial>`` that rings somebody has an action and
a timeout, the backup dial included; a menu offering ``#`` turns the finish key off; text
and attributes lose the characters XML 1.0 forbids (they would make the document invalid).
"""

from __future__ import annotations

import re

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from ivr.core.speech import SpeechTable
from ivr.telephony import doc as d

# Characters XML 1.0 does not allow (C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids."""
    return _NOT_XML.sub("", text)


class TwimlRenderer:
    """Doc -> TwiML text, voices from the speech table."""

    media_type = "application/xml"

    def __init__(self, speech: SpeechTable) -> None:
        self._speech = speech

    def render(self, document: d.Doc) -> str:
        """The TwiML of ``document`` (an empty ``<Response/>`` for an empty one)."""
        r = VoiceResponse()
        for verb in document.verbs:
            self._verb(r, verb)
        return str(r)

    def _say(self, parent: VoiceResponse | Gather, say: d.Say) -> None:
        entry = self._speech.of(say.lang).twilio
        parent.say(xml_safe(say.text), voice=entry.voice, language=entry.language)

    def _prompt(self, parent: VoiceResponse | Gather, p: d.Prompt) -> None:
        if isinstance(p, d.Say):
            self._say(parent, p)
        elif isinstance(p, d.Play):
            parent.play(xml_safe(p.url))
        else:
            parent.pause(length=p.seconds)

    def _gather(self, g: d.Gather) -> Gather:
        speech = {}
        if g.speech:
            speech = {"language": self._speech.of(g.lang).twilio.gather_language,
                      "speech_timeout": "auto"}
            if g.hints:
                speech["hints"] = xml_safe(",".join(g.hints))
        el = Gather(input="dtmf speech" if g.speech else "dtmf", action=xml_safe(g.action),
                    method="POST", timeout=g.timeout, num_digits=g.num_digits,
                    finish_on_key=g.finish_key(), action_on_empty_result=True, **speech)
        for p in g.prompts:
            self._prompt(el, p)
        return el

    def _verb(self, r: VoiceResponse, v: d.Verb) -> None:
        if isinstance(v, d.Say | d.Play | d.Pause):
            self._prompt(r, v)
        elif isinstance(v, d.Gather):
            r.append(self._gather(v))
        elif isinstance(v, d.Redirect):
            r.redirect(xml_safe(v.url), method="POST")
        elif isinstance(v, d.DialSeat):
            r.append(_dial_seat(v))
        elif isinstance(v, d.DialTarget):
            dial = Dial(action=xml_safe(v.action), method="POST", timeout=v.timeout,
                        caller_id=v.caller_id)
            if v.target.is_sip():
                dial.sip(xml_safe(v.target.address))
            else:
                dial.number(xml_safe(v.target.address))
            r.append(dial)
        elif isinstance(v, d.DialBackup):
            if v.number.startswith("sip:"):  # a backup line behind a SIP gateway
                dial = Dial(action=xml_safe(v.action), method="POST", timeout=v.timeout)
                dial.sip(xml_safe(v.number))
            else:  # the number as the Dial's text, as the backup dial always was
                dial = Dial(xml_safe(v.number), action=xml_safe(v.action), method="POST",
                            timeout=v.timeout)
            r.append(dial)
        elif isinstance(v, d.Conference):
            r.append(_conference(v))
        else:
            r.hangup()


def _dial_seat(v: d.DialSeat) -> Dial:
    dial = Dial(action=xml_safe(v.action), method="POST", timeout=v.ring_seconds,
                answer_on_bridge=True, caller_id=v.caller_id)
    cb = {"status_callback": xml_safe(v.answered), "status_callback_event": "answered",
          "status_callback_method": "POST"}
    if v.endpoint.startswith("sip:"):
        dial.sip(xml_safe(v.endpoint), **cb)
    elif v.endpoint.startswith("client:"):
        dial.client(xml_safe(v.endpoint.removeprefix("client:")), **cb)
    else:
        dial.number(xml_safe(v.endpoint), **cb)
    return dial


def _conference(v: d.Conference) -> Dial:
    dial = Dial()
    extra = ({"status_callback": xml_safe(v.status), "status_callback_event": "leave",
              "status_callback_method": "POST"} if v.status else {})
    dial.conference(xml_safe(v.room), start_conference_on_enter=True,
                    end_conference_on_exit=v.end_on_exit, **extra)
    return dial
