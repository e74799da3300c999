"""What the ACD's scripts answer, and the call and seat records, decoded once into values.

Each Lua script answers JSON (its header names the keys); :class:`ivr.store.acd.Acd`
decodes that reply here, once, into a small frozen dataclass, so that nothing above the
store reads a raw key (``res["ep"]``, ``info.get("cb")``). The record classes decode the
call and seat hashes whose fields ``ivr/core/states.py`` (``CALL_FIELDS``,
``SEAT_FIELDS``) names. Decoding is a handful of dict lookups: the hold loop is hot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ivr.core.policy import Standing

Reply = dict[str, Any]
Sids = tuple[str, ...]


def _sids(raw: Reply) -> Sids:
    """A reply's ``redirect`` list (cjson encodes an empty list as ``{}``)."""
    got = raw.get("redirect")
    if not got:
        return ()
    return tuple(got.values()) if isinstance(got, dict) else tuple(got)


def standing(raw: Reply) -> Standing:
    """Where a call stands, from a script's status reply (wait, enqueue, dial_done)."""
    get = raw.get  # the hold loop's hot path: JSON already gave str and int, no casts
    return Standing(get("st", "unknown"), get("q", ""), get("ln", ""), get("cb") == "1",
                    get("seat", ""), get("ep", ""), get("ring", 0) // 1000, get("pos", 0),
                    get("logged", 0), get("aht", 0), get("waited", 0))


@dataclass(frozen=True, slots=True)
class Began:
    """begin.lua: the call's state after it entered the IVR (``limited`` when refused)."""

    state: str

    @classmethod
    def decode(cls, raw: Reply) -> Began:
        """The reply of begin.lua."""
        return cls(str(raw.get("st") or ""))


@dataclass(frozen=True, slots=True)
class Applied:
    """A change a script makes once: ``ok`` when it was made now.

    Answered, note, callback request, rating, disposition, seat removal. When not made,
    the call's ``state`` or an ``error`` says why; ``redirect`` is always empty for these
    scripts (kept so that every call event has one).
    """

    ok: bool
    state: str = ""
    error: str = ""
    redirect: Sids = ()

    @classmethod
    def decode(cls, raw: Reply) -> Applied:
        """The reply of a script that answers ``{ok, st, error}``."""
        return cls(bool(raw.get("ok")), str(raw.get("st") or ""), str(raw.get("error") or ""),
                   _sids(raw))


@dataclass(frozen=True, slots=True)
class HungUp:
    """hangup.lua: the call's one ``outcome``, and calls a seat freed here was reserved for."""

    outcome: str
    redirect: Sids = ()

    @classmethod
    def decode(cls, raw: Reply) -> HungUp:
        """The reply of hangup.lua."""
        return cls(str(raw.get("outcome") or ""), _sids(raw))


@dataclass(frozen=True, slots=True)
class DialDone:
    """dial_done.lua: what the caller does next after the dial to a seat ended.

    ``next``: ``conference`` (a warm transfer: join the room), ``hangup`` (the talk is
    over), ``dial`` (another seat took it at once) or ``wait`` (back to the head of the
    line); ``standing`` is where the call stands for the last two.
    """

    next: str
    standing: Standing
    redirect: Sids = ()

    @classmethod
    def decode(cls, raw: Reply) -> DialDone:
        """The reply of dial_done.lua."""
        return cls(str(raw.get("next") or ""), standing(raw), _sids(raw))


@dataclass(frozen=True, slots=True)
class CallbackFailed:
    """callback.lua ``failed``: ``retry`` later, or ``callback_failed`` (the call ended).

    ``outcome`` is ``''`` when the call was not on a callback attempt.
    """

    outcome: str
    redirect: Sids = ()

    @classmethod
    def decode(cls, raw: Reply) -> CallbackFailed:
        """The reply of callback.lua's failed action."""
        return cls(str(raw.get("outcome") or ""), _sids(raw))


@dataclass(frozen=True, slots=True)
class Handoff:
    """seat_handoff.lua: the call a seat hands on and its seat ``leg``.

    ``error`` is set when the seat talks on no call.
    """

    sid: str
    leg: str = ""
    error: str = ""
    redirect: Sids = ()

    @classmethod
    def decode(cls, raw: Reply) -> Handoff:
        """The reply of seat_handoff.lua."""
        return cls(str(raw.get("sid") or ""), str(raw.get("leg") or ""),
                   str(raw.get("error") or ""), _sids(raw))


@dataclass(frozen=True, slots=True)
class SeatChanged:
    """seat.lua: the seat's ``state`` after a login, ready, break or logout.

    ``error`` is set (and nothing changed) when not allowed; ``redirect`` lists calls the
    seat was reserved for on the way.
    """

    state: str
    call: str = ""
    error: str = ""
    redirect: Sids = ()

    @classmethod
    def decode(cls, raw: Reply) -> SeatChanged:
        """The reply of seat.lua."""
        return cls(str(raw.get("st") or ""), str(raw.get("call") or ""),
                   str(raw.get("error") or ""), _sids(raw))


@dataclass(frozen=True, slots=True)
class Ticked:
    """tick.lua: how many ``timers`` ran, and calls a seat was reserved for."""

    timers: int
    redirect: Sids = ()

    @classmethod
    def decode(cls, raw: Reply) -> Ticked:
        """The reply of tick.lua."""
        return cls(int(raw.get("n") or 0), _sids(raw))


#: What a call event (``Acd.apply_event``) answers, by script.
EventResult = HungUp | DialDone | Applied
EVENT_DECODERS: dict[str, Any] = {
    "hangup": HungUp.decode, "dial_done": DialDone.decode,
    "answered": Applied.decode, "rate": Applied.decode,
}


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A call's hash (``call:{sid}``), the fields the service acts on; empty when unknown."""

    state: str = ""
    line: str = ""
    dialect: str = ""
    language: str = ""
    caller: str = ""  # masked
    queue: str = ""
    seat: str = ""
    leg: str = ""  # the call sid of the seat's leg
    waited_ms: int | None = None  # until answer or abandon
    callback: bool = False  # asked for a queued callback
    callback_number: str = ""
    gone: bool = False  # a caller with a callback hung up (keeps the place)

    @classmethod
    def decode(cls, raw: dict[str, str]) -> CallRecord:
        """The record in a call hash (HGETALL)."""
        get = raw.get
        wait = get("wait")
        return cls(get("st", ""), get("ln", ""), get("dl", ""), get("lg", ""), get("fr", ""),
                   get("q", ""), get("seat", ""), get("leg", ""),
                   int(wait) if wait else None, get("cb") == "1", get("cbn", ""),
                   get("gone") == "1")


#: The call-hash field each CallRecord attribute is decoded from.
RECORD_FIELDS = {"state": "st", "line": "ln", "dialect": "dl", "language": "lg", "caller": "fr",
                 "queue": "q", "seat": "seat", "leg": "leg", "waited_ms": "wait",
                 "callback": "cb", "callback_number": "cbn", "gone": "gone"}


@dataclass(frozen=True, slots=True)
class SeatRecord:
    """A seat's hash (``seat:{seat}``); ``known`` is False when the seat has none."""

    known: bool
    state: str = "offline"
    call: str = ""  # the call it holds now
    last: str = ""  # the last call it talked on

    @classmethod
    def decode(cls, raw: dict[str, str]) -> SeatRecord:
        """The record in a seat hash (HGETALL)."""
        get = raw.get
        return cls(bool(raw), get("st") or "offline", get("call", ""), get("last", ""))
