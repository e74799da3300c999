"""What happens to a call at each turn of the call path, as actions. Pure, no I/O.

The voice handlers ask the store where a call stands, ask these functions what to do
about it, and hand the action to the telephony edge to render:

- :func:`admit`: a call asks for a queue: :class:`Join` it (maybe its overflow queue,
  when the queue is closed and overflows), or :class:`Closed` (the closed message);
- :func:`hold_turn`: one turn of the hold loop: :class:`Connect` the reserved seat,
  :class:`Hold` (position, estimated wait, maybe the callback offer), :class:`Goodbye`
  (the call is over here) or :data:`STAY` (it is talking: nothing to add);
- :func:`after_dial`: the dial to a seat ended: :class:`JoinRoom` (a warm transfer),
  :class:`Survey` or :class:`Goodbye` (the talk is over), else the hold turn again;
- :func:`room_of` / :func:`warm_move`: a warm transfer's conference and which leg moves.

Time comes in as an argument (``now``, epoch seconds); texts come from ``waiting.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivr.core import callback
from ivr.core.engine import EnqueueAction
from ivr.core.hours import Schedule, is_open
from ivr.core.roster import QueueConfig, Roster
from ivr.core.waiting import (
    CALLBACK_GREETING,
    CALLBACK_OFFER,
    CALLBACK_UNAVAILABLE,
    SURVEY,
    announcement,
    estimate_wait_seconds,
    pick,
)

ANNOUNCE_EVERY = 6  #: hold-loop turns between repeats of an unchanged position


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a call stands (the store decodes it from the scripts' status reply).

    ``state`` is a call state, or ``unknown`` (no record) / ``limited`` (refused over the
    repeated-call limit). Offered or talking: ``seat``, its ``endpoint`` and the queue's
    ``ring_seconds``; waiting: ``position`` (1 = next), seats ``logged`` in to the queue,
    its average handle time ``aht_ms`` and ``waited_ms`` since the call asked for a seat.
    """

    state: str
    queue: str = ""
    line: str = ""
    callback: bool = False  # the caller asked to be called back
    seat: str = ""
    endpoint: str = ""
    ring_seconds: int = 0
    position: int = 0
    logged: int = 0
    aht_ms: float = 0.0
    waited_ms: int = 0


@dataclass(frozen=True, slots=True)
class Join:
    """Queue the call with ``action``.

    ``closed_from``: the closed queue it was turned away from ('' none);
    ``offer_callback``: offer the callback at once (a closed queue that offers it).
    """

    action: EnqueueAction
    closed_from: str = ""
    offer_callback: bool = False


@dataclass(frozen=True, slots=True)
class Closed:
    """The queue is closed and says so: note the call as ``closed``, say ``text``, end."""

    queue: str
    text: str


@dataclass(frozen=True, slots=True)
class Connect:
    """Dial the seat reserved for the call."""

    seat: str
    endpoint: str
    ring_seconds: int


@dataclass(frozen=True, slots=True)
class Hold:
    """One turn of the hold loop, then music and back as turn ``loop``.

    ``announcement``: position and estimated wait (None: nothing new to say);
    ``offer``: the callback offer to say inside a one-key gather (None: no offer).
    """

    position: int
    loop: int
    announcement: str | None = None
    offer: str | None = None


@dataclass(frozen=True, slots=True)
class Goodbye:
    """Say ``text`` ('' nothing) and hang up."""

    text: str = ""


@dataclass(frozen=True, slots=True)
class Survey:
    """Ask the after-call rating question (keys 1-3), then hang up."""

    text: str


@dataclass(frozen=True, slots=True)
class JoinRoom:
    """A leg joins a warm transfer's conference room.

    ``ends_room``: the caller's leg, whose leaving ends the room (the seat's and the
    target's do not).
    """

    room: str
    ends_room: bool = True


@dataclass(frozen=True, slots=True)
class Greet:
    """Say ``text``, then ring the seat (a caller answering our call back)."""

    text: str
    connect: Connect


@dataclass(frozen=True, slots=True)
class Stay:
    """Nothing to add: the call is talking to its seat."""


STAY = Stay()
Turn = Connect | Hold | Goodbye | Stay  #: what a hold-loop turn does
AfterDial = Turn | JoinRoom | Survey  #: what the end of a dial to a seat leads to


def admit(queue: QueueConfig, action: EnqueueAction, schedules: dict[str, Schedule],
          now: float) -> Join | Closed:
    """How a call joins ``queue`` at ``now``, honouring its opening hours."""
    schedule = schedules.get(queue.hours or "")
    if schedule is None or is_open(schedule, now):
        return Join(action)
    if queue.when_closed == "message":
        return Closed(queue.id, queue.closed_text)
    if queue.when_closed == "overflow" and queue.overflow:
        return Join(EnqueueAction(queue.overflow.to, "any", action.priority, action.widen_after),
                    closed_from=queue.id)
    return Join(action, offer_callback=queue.when_closed == "callback")


def hold_turn(standing: Standing, roster: Roster, lang: str, loop: int, last_position: int,
              offer_now: bool = False) -> Turn:
    """What the caller hears on this turn: the seat, the hold loop, or the end."""
    st = standing.state
    if st == "offered":
        return Connect(standing.seat, standing.endpoint, standing.ring_seconds)
    if st == "waiting":
        pos = standing.position
        text = None
        if pos != last_position or loop % ANNOUNCE_EVERY == 0:
            eta = estimate_wait_seconds(pos, standing.logged, standing.aht_ms)
            text = announcement(pos, eta, lang)
        policy = callback.policy_of(roster, standing.queue)
        due = callback.offer_due(policy, standing.callback, standing.waited_ms, offer_now)
        return Hold(pos, loop + 1, text, pick(CALLBACK_OFFER, lang) if due else None)
    return STAY if st == "talking" else Goodbye()


def after_dial(next_step: str, standing: Standing, roster: Roster, sid: str, lang: str,
               survey: bool) -> AfterDial:
    """After the dial to a seat: join the transfer room, end the talk, or wait again."""
    if next_step == "conference":
        return JoinRoom(room_of(sid))
    if next_step == "hangup":
        return Survey(pick(SURVEY, lang)) if survey else Goodbye()
    return hold_turn(standing, roster, lang, 0, 0)


def call_back_answered(standing: Standing, lang: str) -> Greet | Goodbye:
    """A caller answered our call back: greet and ring the seat kept for the place.

    When no seat is reserved for it any more: say we will call again, and hang up.
    """
    if standing.state != "offered":
        return Goodbye(pick(CALLBACK_UNAVAILABLE, lang))
    return Greet(pick(CALLBACK_GREETING, lang),
                 Connect(standing.seat, standing.endpoint, standing.ring_seconds))


def room_of(sid: str) -> str:
    """The conference room of a warm transfer of call ``sid``."""
    return f"xfer-{sid}"


@dataclass(frozen=True, slots=True)
class Move:
    """Redirect leg ``call`` into ``room``.

    ``seat_leg``: it is the seat's leg (whose leaving the room ends the talk), else the
    caller's (the seat drops).
    """

    call: str
    room: str
    seat_leg: bool


def warm_move(sid: str, leg: str) -> Move:
    """Which leg a warm transfer moves into the room, once the target was called into it.

    The seat's leg when its call sid is known: the caller's ``<Dial>`` then ends, and its
    action sees the recorded transfer and joins the same room. Else the caller moves.
    """
    return Move(leg, room_of(sid), True) if leg else Move(sid, room_of(sid), False)
