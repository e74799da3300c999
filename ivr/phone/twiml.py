"""Read TwiML the way Twilio does: a document becomes a list of verbs with their defaults.

Only the voice verbs the service may send are modelled (``Say``, ``Play``, ``Pause``,
``Gather``, ``Redirect``, ``Dial`` with ``Number``/``Client``/``Sip`` nouns, ``Hangup``,
``Reject``). Anything else is an :class:`Unsupported` verb, which the interpreter treats
like Twilio treats a document it cannot run: an application error that ends the call.
Attribute defaults are Twilio's (``Gather timeout`` 5 s, ``finishOnKey`` ``#``, ``Dial
timeout`` 30 s, ``timeLimit`` 4 h, ``Pause length`` 1 s).
"""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin


class TwimlError(ValueError):
    """The response is not a TwiML document (Twilio would play an application error)."""


@dataclass(frozen=True)
class Say:
    """Speak ``text`` in ``language``."""

    text: str
    language: str = "en-US"
    voice: str = ""
    loop: int = 1


@dataclass(frozen=True)
class Play:
    """Play an audio URL (``digits`` plays DTMF tones instead)."""

    url: str
    loop: int = 1
    digits: str = ""


@dataclass(frozen=True)
class Pause:
    """Silence for ``length`` seconds."""

    length: float = 1.0


@dataclass(frozen=True)
class Gather:
    """Play the nested prompts, then collect keys and/or speech and post them to ``action``."""

    action: str
    method: str = "POST"
    timeout: float = 5.0
    num_digits: int | None = None
    finish_on_key: str = "#"
    input: frozenset[str] = frozenset({"dtmf"})
    action_on_empty_result: bool = False
    language: str = "en-US"
    hints: tuple[str, ...] = ()
    prompts: tuple[Say | Play | Pause, ...] = ()


@dataclass(frozen=True)
class Redirect:
    """Fetch the next document from ``url``."""

    url: str
    method: str = "POST"


@dataclass(frozen=True)
class Noun:
    """One party a ``Dial`` rings: ``kind`` is number, client or sip."""

    kind: str
    address: str
    status_callback: str = ""
    events: frozenset[str] = frozenset({"completed"})
    callback_method: str = "POST"

    @property
    def endpoint(self) -> str:
        """The address as the roster writes it: ``client:p01``, ``sip:...`` or a number."""
        return f"client:{self.address}" if self.kind == "client" else self.address


@dataclass(frozen=True)
class Dial:
    """Ring the nouns at once; the first to answer is bridged to the caller."""

    nouns: tuple[Noun, ...]
    action: str = ""
    method: str = "POST"
    timeout: float = 30.0
    time_limit: float = 14400.0
    caller_id: str = ""
    answer_on_bridge: bool = False


@dataclass(frozen=True)
class Hangup:
    """End the call."""


@dataclass(frozen=True)
class Reject:
    """Refuse the call (busy or rejected)."""

    reason: str = "rejected"


@dataclass(frozen=True)
class Unsupported:
    """A verb this interpreter does not run."""

    tag: str


Verb = Say | Play | Pause | Gather | Redirect | Dial | Hangup | Reject | Unsupported


def _num(el: ET.Element, name: str, default: float) -> float:
    raw = el.get(name)
    try:
        return float(raw) if raw not in (None, "") else default
    except ValueError:
        return default


def _bool(el: ET.Element, name: str) -> bool:
    return (el.get(name) or "").strip().lower() == "true"


def _text(el: ET.Element) -> str:
    return (el.text or "").strip()


def _say(el: ET.Element, language: str = "en-US") -> Say:
    return Say(_text(el), el.get("language") or language, el.get("voice") or "",
               int(_num(el, "loop", 1)))


def _prompt(el: ET.Element, language: str) -> Say | Play | Pause | None:
    if el.tag == "Say":
        return _say(el, language)
    if el.tag == "Play":
        return Play(_text(el), int(_num(el, "loop", 1)), el.get("digits") or "")
    if el.tag == "Pause":
        return Pause(_num(el, "length", 1.0))
    return None


def _noun(el: ET.Element, doc_url: str) -> Noun | None:
    kind = {"Number": "number", "Client": "client", "Sip": "sip"}.get(el.tag)
    if kind is None:
        return None
    identity = el.find("Identity")
    address = _text(identity) if identity is not None else _text(el)
    events = frozenset((el.get("statusCallbackEvent") or "completed").replace(",", " ").split())
    callback = el.get("statusCallback") or ""
    return Noun(kind, address, urljoin(doc_url, callback) if callback else "", events,
                (el.get("statusCallbackMethod") or "POST").upper())


def _verb(el: ET.Element, doc_url: str) -> Verb:
    tag = el.tag
    prompt = _prompt(el, "en-US")
    if prompt is not None:
        return prompt
    if tag == "Gather":
        language = el.get("language") or "en-US"
        prompts = tuple(p for c in el if (p := _prompt(c, language)) is not None)
        digits = el.get("numDigits")
        return Gather(
            action=urljoin(doc_url, el.get("action") or doc_url),
            method=(el.get("method") or "POST").upper(),
            timeout=_num(el, "timeout", 5.0),
            num_digits=int(digits) if digits and digits.isdigit() else None,
            finish_on_key=el.get("finishOnKey", "#"),
            input=frozenset((el.get("input") or "dtmf").split()),
            action_on_empty_result=_bool(el, "actionOnEmptyResult"),
            language=language,
            hints=tuple(h.strip() for h in (el.get("hints") or "").split(",") if h.strip()),
            prompts=prompts,
        )
    if tag == "Redirect":
        return Redirect(urljoin(doc_url, _text(el)), (el.get("method") or "POST").upper())
    if tag == "Dial":
        nouns = tuple(n for c in el if (n := _noun(c, doc_url)) is not None)
        if not nouns and _text(el):
            nouns = (Noun("number", _text(el)),)
        action = el.get("action")
        return Dial(
            nouns=nouns,
            action=urljoin(doc_url, action) if action else "",
            method=(el.get("method") or "POST").upper(),
            timeout=_num(el, "timeout", 30.0),
            time_limit=_num(el, "timeLimit", 14400.0),
            caller_id=el.get("callerId") or "",
            answer_on_bridge=_bool(el, "answerOnBridge"),
        )
    if tag == "Hangup":
        return Hangup()
    if tag == "Reject":
        return Reject(el.get("reason") or "rejected")
    return Unsupported(tag)


def parse(text: str, doc_url: str = "") -> list[Verb]:
    """The verbs of a TwiML document, with relative URLs resolved against ``doc_url``."""
    try:
        # TwiML from the service `ivr call` dials; expat expands no external entities and
        # (2.4.1+) refuses entity-expansion bombs, so the stdlib parser is safe here
        root = ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"root element is <{root.tag}>, not <Response>")
    return [_verb(el, doc_url) for el in root]


def resolve(doc_url: str, url: str) -> str:
    """An absolute URL for ``url`` as found in the document fetched from ``doc_url``."""
    return urljoin(doc_url, url)


_SID = re.compile(r"CA[0-9a-f]{32}")  # a call's sid, as Twilio and the simulator make them
_HOLE = "CA" + "~" * 32  # the sid's place in a document's shape ('~': no sid, no scheme)
# fields parse() fills with document text as it is or through urljoin: the only places a
# sid is copied into a verb (elsewhere it is upper-cased, split, or read as a number)
_FILLED = frozenset({"action", "url", "status_callback", "text", "address"})
_FIELDS = {cls: tuple(f.name for f in dataclasses.fields(cls))
           for cls in (Say, Play, Pause, Gather, Redirect, Noun, Dial, Hangup, Reject, Unsupported)}
_NO_SHAPE: tuple[tuple[Verb, bool], ...] = ()  # a shape whose verbs cannot be filled in


def _fill(v: Any, sid: str) -> Any:
    """``v`` with ``sid`` in the hole; None when the hole sits outside the copied fields."""
    changes: dict[str, Any] = {}
    for name in _FIELDS[type(v)]:
        val = getattr(v, name)
        if isinstance(val, str):
            if _HOLE in val:
                if name not in _FILLED:
                    return None
                changes[name] = val.replace(_HOLE, sid)
        elif isinstance(val, tuple | frozenset):
            items = []
            for item in val:  # a str item is copied elsewhere than the filled fields
                got = (None if _HOLE in item else item) if isinstance(item, str) else _fill(item, sid)
                if got is None:
                    return None
                items.append(got)
            if any(a is not b for a, b in zip(items, val, strict=True)):
                changes[name] = tuple(items)
    return dataclasses.replace(v, **changes) if changes else v


class Shapes:
    """:func:`parse` with documents remembered, and parsed once per shape.

    A call's documents name its sid (``call=CA...`` in their URLs), so hardly any two
    are the same text; with the sid taken out (the shape), most are. The first
    document of a shape is parsed twice, as it is and as its shape with the sid put
    back into the copied fields; only if both give the same verbs are later documents of
    the shape filled in rather than parsed. The sid's characters (``CA`` and lowercase
    hex) go through the XML parser, ``strip`` and ``urljoin`` alike for every sid, so
    what held for one document of a shape holds for all.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self.docs: dict[tuple[str, str], list[Verb]] = {}
        # shape -> its verbs, each with whether it has the hole
        self.shapes: dict[tuple[str, str], tuple[tuple[Verb, bool], ...]] = {}

    def _keep(self, cache: dict[tuple[str, str], Any], key: tuple[str, str], verbs: Any) -> None:
        if len(cache) >= self.size:
            cache.clear()
        cache[key] = verbs

    def parse(self, text: str, doc_url: str = "") -> list[Verb]:
        """``parse(text, doc_url)`` (a new list each time: the verbs are frozen)."""
        key = (text, doc_url)
        verbs = self.docs.get(key)
        if verbs is None:
            verbs = self._parse(text, doc_url)
            self._keep(self.docs, key, verbs)
        return list(verbs)

    def _parse(self, text: str, doc_url: str) -> list[Verb]:
        sids = set(_SID.findall(text)) | set(_SID.findall(doc_url))
        if len(sids) != 1 or _HOLE in text or _HOLE in doc_url:
            return parse(text, doc_url)
        sid = sids.pop()
        shape = (text.replace(sid, _HOLE), doc_url.replace(sid, _HOLE))
        holed = self.shapes.get(shape)
        if holed is None:
            verbs = parse(text, doc_url)
            try:
                holed = tuple((v, _HOLE in repr(v)) for v in parse(*shape))
            except TwimlError:
                holed = _NO_SHAPE
            if holed and [_fill(v, sid) if hole else v for v, hole in holed] != verbs:
                holed = _NO_SHAPE
            self._keep(self.shapes, shape, holed)
            return verbs
        if not holed:
            return parse(text, doc_url)
        return [_fill(v, sid) if hole else v for v, hole in holed]
