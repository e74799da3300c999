"""The call and seat state machines, as tables: the one home of the rules. Pure, no I/O.

The Lua scripts get these tables through the generated preamble
(:func:`ivr.store.keys.lua_preamble`): ``S`` (states), ``T`` (transitions), ``E``
(events), ``F`` (the call record's fields), ``SF`` (the seat hash's fields), ``O``
(outcomes), ``KIND`` (call, seat), ``NEXT`` (dial_done's next steps), ``MF``, ``QF``,
``QS`` (the fields of the meta, queue-settings and queue-figures hashes), ``TM`` (timer
prefixes), ``C`` (shared constants), and the helpers ``allows(kind, from, event)`` (the
state an event leads to, or nil) and ``transition(kind, from, event)`` (the same, but a
script error before anything is written when the table forbids it). No script spells one
of these names by hand (``tests/store/test_state_rules.py``).

Rules the tables encode:

- A call is in exactly one state at a time: ``ivr``, ``waiting``, ``offered``,
  ``talking``, ``retry`` or ``ended``. ``new`` is no state of the record but its absence
  (the first webhook has not made one yet).
- A call that ended stays ended: ``ended`` has no transition out, so a late or repeated
  webhook (incoming, enqueue, note, answered) cannot queue or revive it.
- A call ends exactly once and with one outcome (``out``); every non-ended state can end.
- A seat holds at most one call: only a ``ready`` seat is reserved for a call, and a seat
  with a call (``reserved``, ``talking``) cannot take a break, log out or be removed.
- A talk ends in ``wrapup`` (or ``ready`` with no wrap-up), never straight to ``break``.

Self-transitions (``waiting -widen-> waiting``) are events that change the record but
not the state. A transition names the state *after* the script's own step; a call that
is enqueued ends the script ``waiting`` or, reserved at once, ``offered``.
"""

from __future__ import annotations

from ivr.core.kpi import BOUNDS

NEW = "new"  #: pseudo state: no call record (or seat hash) yet

CALL_STATES: dict[str, str] = {
    NEW: "no record yet: the call's first webhook has not arrived",
    "ivr": "in an IVR flow (menu, announcement) before asking for a seat",
    "waiting": "in a queue's wait set, hearing the hold loop",
    "offered": "reserved for a seat; the caller's <Dial> to it rings",
    "talking": "a seat answered; the talk is under way",
    "retry": "a queued callback attempt failed; the place comes back after a delay",
    "ended": "over, with one outcome in 'out'; final",
}

SEAT_STATES: dict[str, str] = {
    "offline": "not logged in (also a seat without a hash yet)",
    "ready": "logged in and free: in its ready sets, may be reserved",
    "reserved": "holds one call that rings at its endpoint",
    "talking": "talking on its one call",
    "wrapup": "after-call work; ready again by itself when the wrap-up timer runs",
    "break": "logged in, not taking calls (by choice, or after a missed ring)",
}

#: Answers a script gives in place of a record's state (never stored in ``st``).
RESULT_STATES: dict[str, str] = {
    "unknown": "no record of the call",
    "limited": "refused over the repeated-call limit (recorded as ended, rate_limited)",
}

# Names for the states code outside the tables tests (web handlers, the admin API).
ENDED = "ended"  #: the call state with no way out
UNKNOWN = "unknown"  #: a script's answer: no record of the call
LIMITED = "limited"  #: a script's answer: refused over the repeated-call limit
SEAT_BUSY = frozenset({"reserved", "talking"})  #: seat states that hold a call

#: (call state, event) -> state after the event.
CALL_TRANSITIONS: dict[tuple[str, str], str] = {
    (NEW, "begin"): "ivr",  # begin.lua: a call with a menu starts
    (NEW, "note"): "ivr",  # note.lua: a transfer note made the record
    ("ivr", "note"): "ivr",
    (NEW, "enqueue"): "waiting",  # enqueue.lua (then maybe offered at once)
    ("ivr", "enqueue"): "waiting",
    ("waiting", "offer"): "offered",  # reserve() in common.lua
    ("waiting", "widen"): "waiting",  # tick.lua 'k': the skill becomes 'any'
    ("waiting", "overflow"): "waiting",  # to the queue's overflow queue
    ("waiting", "callback"): "waiting",  # callback.lua request: keeps the place
    ("offered", "answer"): "talking",  # answered.lua, dial_done.lua
    ("offered", "noanswer"): "waiting",  # dial_done.lua: seat to break, call requeued
    ("offered", "expire"): "waiting",  # tick.lua 'r': reservation nobody picked up
    ("offered", "cb_failed"): "retry",  # callback.lua failed: attempt not answered
    ("retry", "cb_due"): "waiting",  # tick.lua 'c'
    ("talking", "warm"): "talking",  # seat_handoff.lua warm transfer
    # the caller hung up (hangup.lua) while it asked for a callback: keeps its place
    ("waiting", "leave"): "waiting",
    ("offered", "leave"): "offered",
    ("retry", "leave"): "retry",
    # the one end of a call (end_call, rate_limited, hangup's early end)
    (NEW, "end"): "ended",
    ("ivr", "end"): "ended",
    ("waiting", "end"): "ended",
    ("offered", "end"): "ended",
    ("talking", "end"): "ended",
    ("retry", "end"): "ended",
}
#: the events of hangup.lua are ``end`` and ``leave``; every state but ended has ``end``
CALL_EVENTS = frozenset(ev for _, ev in CALL_TRANSITIONS)

#: (seat state, event) -> state after the event.
SEAT_TRANSITIONS: dict[tuple[str, str], str] = {
    ("offline", "login"): "ready",  # seat.lua (then maybe reserved at once)
    ("ready", "ready"): "ready",
    ("break", "ready"): "ready",
    ("wrapup", "ready"): "ready",  # also tick.lua 'w': the wrap-up timer
    ("ready", "break"): "break",
    ("break", "break"): "break",
    ("wrapup", "break"): "break",
    ("ready", "logout"): "offline",
    ("break", "logout"): "offline",
    ("wrapup", "logout"): "offline",
    ("ready", "reserve"): "reserved",  # reserve() in common.lua
    ("reserved", "answer"): "talking",
    ("reserved", "noanswer"): "break",  # dial_done.lua: a missed ring
    ("reserved", "free"): "ready",  # the call left before the talk (abandon, expiry)
    ("talking", "free"): "ready",  # a stale call's seat
    ("talking", "done"): "wrapup",  # finish_talk (or ready at once with no wrap-up)
    # seat_remove.lua: out of the roster (the hash is deleted; a removed seat is offline)
    ("offline", "remove"): "offline",
    ("ready", "remove"): "offline",
    ("break", "remove"): "offline",
    ("wrapup", "remove"): "offline",
}
SEAT_EVENTS = frozenset(ev for _, ev in SEAT_TRANSITIONS)

#: Every field of the call record hash (``call:{sid}``) and what it holds.
CALL_FIELDS: dict[str, str] = {
    "st": "state, one of CALL_STATES",
    "out": "outcome once ended (answered, abandoned, lost, ivr_end, transferred:..., ...)",
    "ln": "the dialed line number",
    "fr": "the caller's number, masked",
    "dl": "the telephony dialect the call came in on (twilio, jambonz)",
    "lg": "the call's language",
    "t1": "ms the call reached the service",
    "tend": "ms the call ended",
    "q": "the queue it waits in (after an overflow: the overflow queue)",
    "oq": "the queue it overflowed from (or was turned away from, closed)",
    "sk": "the skill it needs ('any' once widened)",
    "pr": "priority 0-9 (9 first)",
    "sc": "its wait-set score: (9 - priority) * SCORE_SPAN + arrival",
    "wd": "ms after arrival the skill widens to 'any' (-1 never)",
    "t0": "ms it asked for a seat (the wait starts)",
    "tq": "ms it entered its current queue",
    "seat": "the seat it is offered to or talks with ('' none)",
    "toff": "ms it was last offered to a seat",
    "ans": "ms a seat answered",
    "wait": "ms waited until answer or abandon",
    "talk": "ms talked",
    "leg": "the call sid of the seat's leg",
    "cb": "'1' when the caller asked for a queued callback",
    "cbn": "the number to call back (erased when the call ends)",
    "cba": "callback attempts made",
    "gone": "'1' when a caller with a callback hung up (keeps the place)",
    "pend": "the IVR's note: the outcome if the call ends in the IVR (transferred:110, ...)",
    "seen": "ms the hold loop last heard from the caller (watchdog)",
    "warm": "'1' while a warm transfer moves the talk to a conference",
    "xfer": "a seat's handoff: transfer:<target> or exclusion:<topic>",
    "rc": "ms a worker last claimed the call to reconcile it with the platform",
    "rating": "the caller's survey answer (1-3)",
    "cat": "the seat's disposition category",
    "res": "'1' resolved / '0' handed to a department",
    "dept": "the department it was handed to",
}

#: Every field of a seat hash (``seat:{seat}``).
SEAT_FIELDS: dict[str, str] = {
    "st": "state, one of SEAT_STATES",
    "since": "ms the seat entered its state",
    "call": "the call it holds ('' none)",
    "last": "the last call it talked on",
    "sets": "its ready sets, 'queue|skill,...'",
    "qs": "the queues it logs in to, 'q1,q2'",
    "ep": "its endpoint (client identity, SIP URI or phone number)",
    "name": "its display name",
    "missed": "rings it did not answer",
}

#: Every field of the center's meta hash (``meta``) the scripts read or write.
META_FIELDS: dict[str, str] = {
    "retention": "seconds an ended call's record is kept",
    "resv_margin": "ms a reservation may outlast its ring before it expires",
    "short_ms": "an abandon sooner than this many ms is also counted abandoned_short",
    "watchdog_ms": "ms of silence in the hold loop after which a caller counts as gone",
    "ev_cap": "entries kept in the archive's event stream (0: no archive)",
    "version": "the config version the worker that synced last held",
    "cfgver": "the config version, bumped by every change (cfg_write.lua)",
    "roster": "SHA1 of the roster seat_sync.lua wrote last",
}

#: Every field of a queue's settings hash (``qcfg:{queue}``), written from the roster.
QUEUE_FIELDS: dict[str, str] = {
    "sl": "service-level threshold, ms",
    "wrap": "wrap-up after a talk, ms (0: ready at once)",
    "ring": "ms a seat's phone rings before no-answer",
    "aht": "the average handle time to assume before any talk was measured, ms",
    "ovq": "the overflow queue ('' none)",
    "ova": "ms of waiting after which a caller overflows (0 never)",
    "ovn": "'1': overflow at once when nobody is logged in to the queue",
}

#: Every field of a queue's running figures (``qstat:{queue}``).
QSTAT_FIELDS: dict[str, str] = {
    "aht": "measured average handle time, ms (exponential average of talks)",
    "drain": "prefix: drain:<skill> is the last call a drain batch passed (acd.lua)",
}

#: Timers in the center's timer set, a member is ``<prefix>:<id>`` (``TM.<name>`` in the
#: preamble is the prefix with its colon).
TIMERS: dict[str, str] = {
    "wrapup": "w",  # a seat's wrap-up ends (id: seat)
    "widen": "k",  # a call's skill widens to 'any' (id: sid)
    "overflow": "o",  # a call overflows after waiting (id: sid)
    "reservation": "r",  # a reservation nobody picked up expires (id: sid)
    "callback": "c",  # a failed callback's place comes back (id: sid)
    "watchdog": "p",  # a caller silent in the hold loop is gone (id: sid)
    "drain": "v",  # the next batch of a queue nobody serves (id: queue)
}

#: How a call ends: the ``out`` field of an ended call (``O.<name>`` in the preamble). The
#: last three are prefixes: the IVR's note ``pend`` is ``<prefix>:<target/topic/queue>``.
OUTCOMES: dict[str, str] = {
    "answered": "a seat answered and the talk ended (also after a transfer by the seat)",
    "abandoned": "the caller hung up while waiting or while a seat's phone rang",
    "lost": "the caller stopped polling the hold loop: hung up, the status callback lost",
    "stale": "no final status callback came within the stale-call limit",
    "callback_failed": "every queued-callback attempt went unanswered",
    "rate_limited": "refused over the repeated-call limit",
    "ended_early": "the call's end arrived before its first webhook",
    "ivr_end": "ended in the IVR with no note",
    "transferred": "prefix: the IVR transferred it (transferred:110)",
    "exclusion": "prefix: the IVR played an exclusion notice (exclusion:<topic>)",
    "closed": "prefix: its queue was closed (closed:<queue>)",
}

#: What the caller's leg does after its <Dial> to a seat ended (dial_done.lua's ``next``;
#: ``NEXT.<name>`` in the preamble).
DIAL_NEXT: dict[str, str] = {
    "dial": "another seat was reserved at once: dial it",
    "wait": "back at the head of the line: the hold loop",
    "hangup": "the call is over",
    "conference": "a warm transfer: join the seat and the target in a conference",
}

#: The two records with a state machine: a call (``call:{sid}``), a seat (``seat:{seat}``);
#: also the kinds of the archive's events (``KIND.<name>`` in the preamble).
RECORD_KINDS = ("call", "seat")

ANY_SKILL = "any"  #: the skill every seat of a queue has; a widened call needs only it
SCORE_SPAN = 10**13  #: wait-set score: (MAX_PRIORITY - priority) * SCORE_SPAN + arrival ms
MAX_PRIORITY = 9
BUCKET_SECONDS = 900  #: one counter bucket (15 minutes)
CNT_TTL_SECONDS = 3 * 86400  #: counter buckets live three days (bounded memory)
DRAIN_BATCH = 100  #: callers one script call moves out of a queue nobody serves any more
WAIT_BINS = BOUNDS  #: wait histogram bins, upper bounds in seconds, then 'inf'

#: The constants the Lua scripts share (``C.<name>`` in the preamble).
CONSTANTS: dict[str, int | str | tuple[int, ...]] = {
    "ANY": ANY_SKILL,
    "SCORE_SPAN": SCORE_SPAN,
    "MAX_PRIORITY": MAX_PRIORITY,
    "BUCKET_MS": BUCKET_SECONDS * 1000,
    "CNT_TTL": CNT_TTL_SECONDS,
    "HIST": WAIT_BINS,
    "DRAIN_BATCH": DRAIN_BATCH,
    "OVER_HIST": "inf",  # the last wait bin, above every bound of HIST
    "CNT_QUEUE": "q",  # the kind of a queue's counters (cnt:q:<queue>:<bucket>)
    "CNT_LINE": "l",  # the kind of a line's counters (cnt:l:<line>:<bucket>)
}


def call_next(state: str, event: str) -> str | None:
    """The call state ``event`` leads to from ``state``, or None when the table forbids it."""
    return CALL_TRANSITIONS.get((state, event))


def seat_next(state: str, event: str) -> str | None:
    """The seat state ``event`` leads to from ``state``, or None when the table forbids it."""
    return SEAT_TRANSITIONS.get((state, event))
