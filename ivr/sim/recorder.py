"""What the simulator sees of each call, from the caller's side of the phone.

The :class:`Recorder` listens to every simulated call. A call counts as queued when
a document first puts it on hold (a ``Redirect`` to ``/voice/wait``) or rings a seat;
it found every seat busy when that document was a hold loop. From then on the
caller's patience runs; a seat answering stops it. The recorder also keeps its own
tally of what the service's counters must say (``calls``, ``offered``, ``answered``,
``abandoned``, ``sl_answered``, ``noanswer``, ``wait_answered_ms``, ``handled_ms``),
counted from these observations, in whole milliseconds as the Lua scripts count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ivr.phone import twiml
from ivr.phone.call import CallEvent, CallSession
from ivr.phone.runtime import Handle

SEAT_PREFIXES = ("client:", "sip:")
IVR_END = "ivr"  # ended in the IVR: ivr_end, closed:<queue>, exclusion:<topic>, ...
HOLD_PATHS = ("/voice/wait", "/jambonz/wait")  # the hold loop, on Twilio or jambonz
# the kinds of call event the recorder reads (a record changes on no other)
KINDS = frozenset({"document", "dial", "answered", "dial-end", "talk-end", "end"})


def ms(t: float) -> int:
    """Milliseconds as the service stores them (``int(now * 1000)``)."""
    return int(t * 1000)


def _seat_dial(verbs: list[twiml.Verb]) -> bool:
    return any(isinstance(v, twiml.Dial) and any(n.endpoint.startswith(SEAT_PREFIXES)
                                                 for n in v.nouns) for v in verbs)


@dataclass
class CallRecord:
    """One simulated call as its caller lived it."""

    sid: str
    line: str
    arrived: float
    patience: float | None = None
    queued: float | None = None
    found_busy: bool = False
    ringing: bool = False  # a seat is reserved for the call (ringing, or about to)
    answered: float | None = None
    seat: str = ""
    talk: float = 0.0
    ended: float | None = None
    outcome: str = ""
    target: str = ""
    queue: str = ""
    noanswer: int = 0
    hangup: Handle | None = field(default=None, repr=False)

    @property
    def wait(self) -> float | None:
        """Seconds from queueing to an answer (or to hanging up); None if never queued."""
        if self.queued is None:
            return None
        end = self.answered if self.answered is not None else self.ended
        return None if end is None else end - self.queued

    @property
    def waiting(self) -> bool:
        """Queued, not ringing a seat, not answered, not over."""
        return (self.queued is not None and not self.ringing and self.answered is None
                and self.ended is None)


@dataclass
class Recorder:
    """Call records and the counters they imply (see the module docstring)."""

    seat_queue: Callable[[str], str]  # endpoint -> the queue its seat answers
    sl_ms: Callable[[str], int]  # queue -> service-level threshold in ms
    targets: dict[str, str] = field(default_factory=dict)  # dialed number -> target name
    records: dict[str, CallRecord] = field(default_factory=dict)
    live: dict[str, CallRecord] = field(default_factory=dict)
    on_hold: dict[str, CallRecord] = field(default_factory=dict)
    tally: dict[tuple[str, str], dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    ended: list[CallRecord] = field(default_factory=list)

    def add(self, sid: str, line: str, arrived: float, patience: float | None) -> CallRecord:
        """A call starts."""
        rec = CallRecord(sid, line, arrived, patience)
        self.records[sid] = rec
        self.live[sid] = rec
        self.tally[("l", line)]["calls"] += 1
        return rec

    def _count(self, rec: CallRecord, name: str, n: int = 1, queue: str = "") -> None:
        self.tally[("l", rec.line)][name] += n
        if queue:
            self.tally[("q", queue)][name] += n

    def __call__(self, call: CallSession, e: CallEvent) -> None:
        """Update the call's record from one event."""
        if e.kind not in KINDS:  # (nor does on_hold: it follows the record)
            return
        rec = self.records.get(call.sid)
        if rec is None:
            return
        d: dict[str, Any] = e.data
        if e.kind == "document":
            if rec.queued is None:
                self._maybe_queued(call, rec, d["parsed"], e.t)
            elif _seat_dial(d["parsed"]):
                rec.ringing = True  # reserved for a seat again (after a no-answer)
        elif e.kind == "dial":
            rec.ringing = any(t.startswith(SEAT_PREFIXES) for t in d["to"])
        elif e.kind == "answered":
            rec.ringing = False
            if d["endpoint"].startswith(SEAT_PREFIXES):
                self._answered(rec, d["endpoint"], e.t)
            else:
                rec.target = self.targets.get(d["endpoint"], d["endpoint"])
        elif e.kind == "dial-end":
            # a caller who hung up while the seat rang is not the seat's no-answer
            caller_gone = d.get("caller_hung_up")
            if rec.ringing and d["status"] not in ("completed", "answered") \
                    and not d.get("redirected") and not caller_gone:
                rec.noanswer += 1
                self._count(rec, "noanswer")
            rec.ringing = False
        elif e.kind == "talk-end" and d["endpoint"].startswith(SEAT_PREFIXES):
            rec.talk = d["seconds"]
            self._count(rec, "handled_ms", ms(e.t) - ms(rec.answered or e.t))
        elif e.kind == "end":
            self._end(rec, d["by"], e.t)
        if rec.waiting:
            self.on_hold[rec.sid] = rec
        else:
            self.on_hold.pop(rec.sid, None)

    def _maybe_queued(self, call: CallSession, rec: CallRecord, verbs: list[twiml.Verb],
                      t: float) -> None:
        hold = any(isinstance(v, twiml.Redirect) and any(p in v.url for p in HOLD_PATHS)
                   for v in verbs)
        dial = _seat_dial(verbs)
        if not (hold or dial):
            if any(isinstance(v, twiml.Dial) for v in verbs):
                rec.target = rec.target or self._target(verbs)
            return
        rec.queued, rec.found_busy = t, hold and not dial
        rec.ringing = dial  # a seat is reserved already (it rings after any notice)
        self._count(rec, "offered")
        if rec.patience is not None:
            rec.hangup = call.hang_up_later(rec.patience)

    def _target(self, verbs: list[twiml.Verb]) -> str:
        for v in verbs:
            if isinstance(v, twiml.Dial) and v.nouns:
                return self.targets.get(v.nouns[0].address, v.nouns[0].address)
        return ""

    def _answered(self, rec: CallRecord, endpoint: str, t: float) -> None:
        rec.answered, rec.seat = t, endpoint
        if rec.hangup is not None:
            rec.hangup.cancel()
        queue = self.seat_queue(endpoint)
        wait = ms(t) - ms(rec.queued if rec.queued is not None else t)
        self._count(rec, "answered", queue=queue)
        self._count(rec, "wait_answered_ms", wait)
        if wait <= self.sl_ms(queue):
            self._count(rec, "sl_answered")

    def _end(self, rec: CallRecord, by: str, t: float) -> None:
        rec.ended, rec.ringing = t, False
        self.live.pop(rec.sid, None)
        if rec.answered is not None:
            rec.outcome = "answered"
        elif rec.queued is not None:
            rec.outcome = "abandoned" if by == "caller" else f"error ({by})"
            self._count(rec, "abandoned")
        elif rec.target:
            rec.outcome = f"transferred:{rec.target}"
        else:
            rec.outcome = IVR_END
        self.ended.append(rec)

    def waiting(self) -> list[CallRecord]:
        """Calls in a hold loop right now."""
        return list(self.on_hold.values())

    def anyone_waiting(self) -> bool:
        """Whether some caller is in a hold loop right now."""
        return bool(self.on_hold)
