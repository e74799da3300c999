"""Render a call document as TwiML that Twilio accepts, with ``twilio.twiml``.

Conformance, in one place: every ``<Say>`` has the voice and language the speech table
gives for its text's language; ``<Gather>`` listens in the table's recognition language
(``cmn-Hans-CN``, not ``zh-CN``); every ``<Dial>`` that rings somebody has an action and
a timeout, the backup dial included; a menu offering ``#`` turns the finish key off; text
and attributes lose the characters XML 1.0 forbids (they would make the document invalid).
"""

from __future__ import annotations

import re
from dataclasses import replace

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from ivr.core.speech import SpeechTable
from ivr.telephony import doc as d

# Characters XML 1.0 does not allow (C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids."""
    return _NOT_XML.sub("", text)


# A placeholder for free text in a template: private-use characters (valid XML, never
# escaped) around the value's index; the marks cannot come from a value, since values are
# substituted into the template, never searched.
_MARK = "\ue000"
_SLOT = re.compile(f"{_MARK}(\\d+){_MARK}")
MAX_TEMPLATES = 2048  # shapes kept per renderer (a center has a few dozen)
# escaped as ElementTree escapes them: in attribute values, and in element text
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;",
             "\r": "&#13;", "\t": "&#09;"}
_IN_ATTRIBUTE = re.compile('[&<>"\n\r\t]')
_IN_TEXT = re.compile("[&<>]")


def _entity(m: re.Match[str]) -> str:
    return _ENTITIES[m.group(0)]


def _escape(text: str, in_attribute: bool) -> str:
    """``text`` escaped for an attribute value or for element text."""
    return (_IN_ATTRIBUTE if in_attribute else _IN_TEXT).sub(_entity, text)


# A template: the text between its slots, and each slot's value index and whether it sits
# in an attribute value (``(index, in_attribute)``); len(texts) == len(slots) + 1.
Template = tuple[list[str], list[tuple[int, bool]]]


def _template(xml: str) -> Template:
    """A rendered shape cut at its slots."""
    texts: list[str] = []
    slots: list[tuple[int, bool]] = []
    end = 0
    for m in _SLOT.finditer(xml):
        texts.append(xml[end:m.start()])
        slots.append((int(m.group(1)), xml.rfind("<", 0, m.start()) > xml.rfind(">", 0, m.start())))
        end = m.end()
    texts.append(xml[end:])
    return texts, slots


def _fill(template: Template, values: list[str]) -> str:
    """The template with each slot's value made XML-safe and escaped in."""
    texts, slots = template
    out = [texts[0]]
    for (index, in_attribute), text in zip(slots, texts[1:], strict=True):
        out.append(_escape(xml_safe(values[index]), in_attribute))
        out.append(text)
    return "".join(out)


def _slot(value: str, values: list[str]) -> str:
    values.append(value)
    return f"{_MARK}{len(values) - 1}{_MARK}"


def _shape(v: d.Verb, values: list[str]) -> d.Verb:
    """``v`` with its free text (said text, URLs) replaced by placeholders into ``values``."""
    if isinstance(v, d.Say):
        return d.Say(_slot(v.text, values), v.lang)
    if isinstance(v, d.Play):
        return d.Play(_slot(v.url, values))
    if isinstance(v, d.Redirect):
        return d.Redirect(_slot(v.url, values))
    if isinstance(v, d.Gather):
        prompts = tuple(_shape(p, values) for p in v.prompts)
        return replace(v, action=_slot(v.action, values), prompts=prompts)  # type: ignore[arg-type]
    if isinstance(v, d.DialSeat):
        return replace(v, action=_slot(v.action, values), answered=_slot(v.answered, values))
    if isinstance(v, d.DialTarget | d.DialBackup):
        return replace(v, action=_slot(v.action, values))
    return v


def _key(v: d.Verb, values: list[str]) -> object:
    """What makes ``v``'s shape, its free text put into ``values`` in ``_shape``'s order.

    The verbs of a hold-loop turn without building placeholder verbs; others by ``_shape``.
    """
    kind = type(v)
    if kind is d.Say:
        values.append(v.text)  # type: ignore[union-attr]
        return (kind, v.lang)  # type: ignore[union-attr]
    if kind is d.Play or kind is d.Redirect:
        values.append(v.url)  # type: ignore[union-attr]
        return kind
    if kind is d.Pause or kind is d.Hangup:
        return v
    return _shape(v, values)


class TwimlRenderer:
    """Doc -> TwiML text, voices from the speech table."""

    media_type = "application/xml"

    def __init__(self, speech: SpeechTable) -> None:
        self._speech = speech
        self._templates: dict[tuple[object, ...], Template] = {}

    def render(self, document: d.Doc) -> str:
        """The TwiML of ``document`` (an empty ``<Response/>`` for an empty one).

        Documents of one shape (the same verbs and fixed attributes: a hold-loop turn, a
        seat dial) differ only in free text (what is said, URLs). Each shape is rendered once
        with the ``twilio`` builder, its free text replaced by placeholders; a document of
        that shape is then its template with the text escaped in. ``render_built`` is the
        builder path every time; both give the same document (tests compare them).
        """
        values: list[str] = []
        key = tuple([_key(v, values) for v in document.verbs])
        found = self._templates.get(key)
        if found is None:
            if len(self._templates) >= MAX_TEMPLATES:
                self._templates.clear()
            placeholders: list[str] = []
            shape = d.Doc(tuple(_shape(v, placeholders) for v in document.verbs))
            found = self._templates[key] = _template(self.render_built(shape))
        return _fill(found, values)

    def render_built(self, document: d.Doc) -> str:
        """The TwiML of ``document`` built with the ``twilio`` builder."""
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
