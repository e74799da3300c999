"""Every Redis key the service uses, in one place.

All keys of one center share the hash tag ``{center}`` so that they live in one
Redis Cluster slot and every Lua script of that center can touch them atomically.
A province shards its cities across a cluster by giving each city its own center.

``TEMPLATES`` is the single table of key shapes. Python builds keys with
:class:`Keys`; the Lua scripts get the same builders from :func:`lua_preamble`,
generated from this table, so no script spells a key name by hand.
"""

from __future__ import annotations

import re

from ivr.core import states
from ivr.core.states import BUCKET_SECONDS

#: name -> (suffix template, argument names). The full key is ``ivr:{center}:`` + suffix.
TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "meta": ("meta", ()),  # hash: config version, anchor key of every script
    "call": ("call:{sid}", ("sid",)),  # hash: one call's live state and outcome
    "wait": ("wait:{queue}:{skill}", ("queue", "skill")),  # zset sid -> priority/arrival score
    "ready": ("ready:{queue}:{skill}", ("queue", "skill")),  # zset seat -> ready-since ms
    "wskills": ("wskills:{queue}", ("queue",)),  # set: skills that have a wait set in a queue
    "seat": ("seat:{seat}", ("seat",)),  # hash: one seat's state and static routing data
    "seats": ("seats", ()),  # set: every seat id in the roster
    "logged": ("logged:{queue}", ("queue",)),  # set: seats logged in to a queue
    "qcfg": ("qcfg:{queue}", ("queue",)),  # hash: the queue settings the scripts need
    "qstat": ("qstat:{queue}", ("queue",)),  # hash: running figures (average handle time)
    "timers": ("timers", ()),  # zset: "kind:id" -> due ms (wrap-up, widen, overflow, ...)
    "live": ("live", ()),  # zset: sid of every call not ended -> start ms
    "cnt": ("cnt:{kind}:{name}:{bucket}", ("kind", "name", "bucket")),  # hash: 15-min counters
    "rl": ("rl:{caller}:{window}", ("caller", "window")),  # counter: a caller's calls in a window
    "cfg": ("cfg:{kind}", ("kind",)),  # hash: config resource id -> JSON (lines, queues, ...)
    "cfgrev": ("cfgrev:{kind}", ("kind",)),  # hash: config resource id -> revision (ETag)
    "flowrevs": ("flowrevs:{flow}", ("flow",)),  # hash: revision -> immutable flow document
    "audit": ("audit", ()),  # stream: every config change, who/when/what/before/after
    "events": ("events", ()),  # stream: call records and seat intervals for the archive
    "cfgchan": ("cfg-changed", ()),  # pub/sub channel (not a key): config version changed
}

__all__ = ["BUCKET_SECONDS", "TEMPLATES", "Keys", "inline_names", "lua_preamble", "prefix"]


def prefix(center: str) -> str:
    """The hash-tagged prefix of every key of ``center``."""
    return "ivr:{" + center + "}"


class Keys:
    """Key builders for one center."""

    def __init__(self, center: str) -> None:
        self.center = center
        self.prefix = prefix(center)

    def _k(self, name: str, *args: str) -> str:
        template, names = TEMPLATES[name]
        return f"{self.prefix}:" + template.format(**dict(zip(names, args, strict=True)))

    def meta(self) -> str:
        """The center's meta hash, also the anchor KEYS[1] of every script."""
        return self._k("meta")

    def call(self, sid: str) -> str:
        """One call's hash."""
        return self._k("call", sid)

    def wait(self, queue: str, skill: str) -> str:
        """The waiting calls of one queue that need one skill."""
        return self._k("wait", queue, skill)

    def ready(self, queue: str, skill: str) -> str:
        """The ready seats of one queue that have one skill."""
        return self._k("ready", queue, skill)

    def wskills(self, queue: str) -> str:
        """The skills for which a queue has had waiting calls."""
        return self._k("wskills", queue)

    def seat(self, seat: str) -> str:
        """One seat's hash."""
        return self._k("seat", seat)

    def seats(self) -> str:
        """The set of all seat ids."""
        return self._k("seats")

    def logged(self, queue: str) -> str:
        """The seats logged in to a queue."""
        return self._k("logged", queue)

    def qcfg(self, queue: str) -> str:
        """A queue's settings as the scripts read them."""
        return self._k("qcfg", queue)

    def qstat(self, queue: str) -> str:
        """A queue's running figures."""
        return self._k("qstat", queue)

    def timers(self) -> str:
        """The center's timer set."""
        return self._k("timers")

    def live(self) -> str:
        """Calls not yet ended."""
        return self._k("live")

    def cnt(self, kind: str, name: str, bucket: int) -> str:
        """Counters of one queue (kind ``q``) or line (kind ``l``) in one 15-minute bucket."""
        return self._k("cnt", kind, name, str(bucket))

    def rl(self, caller: str, window: int) -> str:
        """The repeated-call counter of one caller (by digest, never the number) in a window."""
        return self._k("rl", caller, str(window))

    def cfg(self, kind: str) -> str:
        """Config resources of one kind (lines, queues, seats, targets, plan, flows)."""
        return self._k("cfg", kind)

    def cfgrev(self, kind: str) -> str:
        """Revisions (ETags) of the config resources of one kind."""
        return self._k("cfgrev", kind)

    def flowrevs(self, flow: str) -> str:
        """Every saved revision of one flow."""
        return self._k("flowrevs", flow)

    def audit(self) -> str:
        """The audit stream of config changes."""
        return self._k("audit")

    def events(self) -> str:
        """The stream of call-record and seat-interval events the archive consumes."""
        return self._k("events")

    def cfgchan(self) -> str:
        """The pub/sub channel announcing a new config version."""
        return self._k("cfgchan")

    def pattern(self) -> str:
        """A SCAN pattern matching every key of this center."""
        return self.prefix.replace("{", "\\{").replace("}", "\\}") + ":*"


def _lua(v: object) -> str:
    """A Python value (str, int, tuple of them, dict with str keys) as a Lua literal."""
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, bool):  # never in the tables; refuse rather than guess
        raise TypeError(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, tuple):
        return "{" + ", ".join(_lua(x) for x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"[{_lua(k)}] = {_lua(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


#: Lua's reserved words: a state with such a name is ``S.<kind>.<name>_`` (``S.seat.break_``).
LUA_KEYWORDS = frozenset(
    "and break do else elseif end false for function if in local nil not or repeat return"
    " then true until while".split())


def lua_name(state: str) -> str:
    """The key of a state in the Lua table ``S.<kind>`` (a reserved word gets a ``_``)."""
    return state + "_" if state in LUA_KEYWORDS else state


def _by_state(table: dict[tuple[str, str], str]) -> dict[str, dict[str, str]]:
    """A transition table as state -> event -> next state."""
    out: dict[str, dict[str, str]] = {}
    for (frm, ev), to in table.items():
        out.setdefault(frm, {})[ev] = to
    return out


def lua_names() -> dict[str, dict[str, int | str | tuple[int, ...]]]:
    """Every name of the preamble's name tables: table (``F``, ``S.call``, ...) -> name -> value."""
    return {
        "S.call": {lua_name(s): s for s in states.CALL_STATES},
        "S.seat": {lua_name(s): s for s in states.SEAT_STATES},
        "S.result": {s: s for s in states.RESULT_STATES},
        "E.call": {lua_name(e): e for e in sorted(states.CALL_EVENTS)},
        "E.seat": {lua_name(e): e for e in sorted(states.SEAT_EVENTS)},
        "F": {f: f for f in states.CALL_FIELDS},
        "SF": {f: f for f in states.SEAT_FIELDS},
        "O": {o: o for o in states.OUTCOMES},
        "KIND": {k: k for k in states.RECORD_KINDS},
        "NEXT": {n: n for n in states.DIAL_NEXT},
        "MF": {f: f for f in states.META_FIELDS},
        "QF": {f: f for f in states.QUEUE_FIELDS},
        "QS": {f: f for f in states.QSTAT_FIELDS},
        "TM": {n: p + ":" for n, p in states.TIMERS.items()},
        "C": dict(states.CONSTANTS),
    }


#: what a name of each table is, in the error for a name the table lacks
_WHAT = {"S.call": "call state", "S.seat": "seat state", "S.result": "result state",
         "E.call": "call event", "E.seat": "seat event", "F": "call field", "SF": "seat field",
         "O": "outcome", "KIND": "record kind", "NEXT": "next step", "MF": "meta field",
         "QF": "queue field", "QS": "queue figure", "TM": "timer", "C": "constant"}
_NAME_REF = re.compile(r"\b(S\.(?:call|seat|result)|E\.(?:call|seat)|SF|F|O|KIND|NEXT|MF|QF|QS|TM|C)\.(\w+)")


def inline_names(code: str) -> str:
    """Lua code with every ``F.st``, ``S.call.waiting``, ``C.ANY``... replaced by its value.

    A script runs its whole chunk on every call: values written in place cost nothing,
    while tables of names would be built again each time. A name no table has is an
    error here, when the script is registered, not on the one path that uses it.
    """
    names = lua_names()

    def value(m: re.Match[str]) -> str:
        table, name = m.group(1), m.group(2)
        if name not in names[table]:
            raise KeyError(f"no {_WHAT[table]} {name} ({table}.{name})")
        return _lua(names[table][name])

    return _NAME_REF.sub(value, code)


def lua_rules(tables: bool = True) -> str:
    """The tables of :mod:`ivr.core.states` as Lua, and the helpers ``allows``, ``transition``.

    ``T`` (transitions) and, unless ``tables=False``, every table of :func:`lua_names` (see
    ``_WHAT``); without them, code must have its names written in by :func:`inline_names`.
    """
    names = lua_names()
    trans = {"call": _by_state(states.CALL_TRANSITIONS),
             "seat": _by_state(states.SEAT_TRANSITIONS)}
    lines = [f"local T = {_lua(trans)}",
             f"local S0 = {_lua({'call': states.NEW, 'seat': 'offline'})}  -- no record yet"]
    if tables:
        lines += [
            f"local S = {_lua({k: names['S.' + k] for k in ('call', 'seat', 'result')})}",
            f"local E = {_lua({'call': names['E.call'], 'seat': names['E.seat']})}",
            *(f"local {t} = {_lua(names[t])}" for t in _WHAT if "." not in t),
            "-- a name the tables do not have is a bug: fail loudly instead of comparing with nil",
            "local function strict(t, what)",
            "  return setmetatable(t, {__index = function(_, k)",
            "    error('no ' .. what .. ' ' .. tostring(k)) end})",
            "end",
            *(f"strict({t}, '{what}')" for t, what in _WHAT.items()),
        ]
    lines += [
        "local BUCKET_MS = C.BUCKET_MS",
        "-- the state an event leads to from a state (nil: the table forbids it)",
        "local function allows(kind, from, event)",
        "  local t = T[kind][from or S0[kind]]",
        "  return t and t[event]",
        "end",
        "-- the same, but an error (before the script writes anything) when forbidden",
        "local function transition(kind, from, event)",
        "  local to = allows(kind, from, event)",
        "  if not to then",
        "    -- a string: Redis 6.2 cannot raise a table (error_reply) through error()",
        "    error('forbidden ' .. kind .. ' transition: ' .. tostring(from or S0[kind])",
        "      .. ' -' .. event .. '->')",
        "  end",
        "  return to",
        "end",
    ]
    text = "\n".join(lines) + "\n"
    return text if tables else inline_names(text)


def lua_preamble(tables: bool = True, keys: frozenset[str] | None = None) -> str:
    """The Lua key builders ``K.<name>(...)`` (from KEYS[1], the meta key), then the rules.

    The rules are the state tables of :func:`lua_rules` (``tables=False``: only those the
    helpers need, for code whose names :func:`inline_names` writes in place). ``keys``:
    build only these builders (and ``meta``), else all.
    """
    lines = [
        "local K = {}",
        "local P = string.sub(KEYS[1], 1, -6)  -- strip ':meta'",
    ]
    for name, (template, names) in TEMPLATES.items():
        if keys is not None and name not in keys and name != "meta":
            continue
        parts: list[str] = []
        rest = template
        for arg in names:
            before, rest = rest.split("{" + arg + "}", 1)
            if before:
                parts.append(repr(before).replace("'", '"'))
            parts.append(f"tostring({arg})")
        if rest:
            parts.append(repr(rest).replace("'", '"'))
        body = " .. ".join(['P .. ":"', *parts])
        lines.append(f"function K.{name}({', '.join(names)}) return {body} end")
    return "\n".join(lines) + "\n" + lua_rules(tables)
