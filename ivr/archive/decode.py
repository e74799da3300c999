"""Stream entries to archive rows, and rows back to records: no I/O, no Redis.

The event contract (written by the Lua scripts, ``emit`` in ``ivr/store/lua/common.lua``):
``XADD ivr:{center}:events MAXLEN ~ <cap> * e <type> d <json>`` with

- ``e=call``: ``d`` is the call's whole hash (string values) plus ``sid``, sent when the call
  ends and again, whole, whenever the ended call's record changes (survey, disposition);
  a later stream id supersedes an earlier one. Unknown fields are kept (``extra``).
- ``e=seat``: ``d`` is ``{seat, st, from, to, next, call}``, one per seat state change;
  idempotent by (seat, from, st).

The callback number (``cbn``) is never archived, even if an event carried it; a caller
number that arrives whole is masked (``ivr.core.numbers.mask``) before it is stored.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ivr.core import cdr
from ivr.core.numbers import mask

log = logging.getLogger("ivr.archive")

#: record field -> (column, is integer)
FIELDS: dict[str, tuple[str, bool]] = {
    "ln": ("line", False), "fr": ("caller", False), "q": ("queue", False),
    "sk": ("skill", False), "pr": ("priority", True), "oq": ("overflow_from", False),
    "seat": ("seat", False), "out": ("outcome", False), "t1": ("t_ivr", True),
    "tq": ("t_queue", True), "t0": ("t_arrival", True), "toff": ("t_offer", True),
    "ans": ("t_answer", True), "tend": ("t_end", True), "wait": ("wait_ms", True),
    "talk": ("talk_ms", True), "cb": ("callback", False), "cba": ("callback_attempts", True),
    "lg": ("language", False), "rating": ("rating", False), "cat": ("category", False),
    "res": ("resolved", False), "dept": ("department", False), "xfer": ("handoff", False),
    "fv": ("flow", False), "fr_rev": ("flow_rev", False), "path": ("path", False),
}
COLUMNS = {col: key for key, (col, _) in FIELDS.items()}
UNMASKED = re.compile(r"\d{7}")  # a whole number; masked ones read 138****5678
NEVER = frozenset({"cbn", "sid"})  # never archived / the key itself
LIMITS = {"line": 64, "caller": 64, "queue": 64, "skill": 64, "overflow_from": 64, "seat": 64,
          "outcome": 160, "callback": 1, "language": 16, "rating": 1, "category": 32,
          "resolved": 1, "department": 128, "handoff": 160, "flow": 64, "flow_rev": 32}
INT32 = frozenset({"priority", "callback_attempts"})  # Integer columns; the others BigInteger
SMALL, BIG = 2**31 - 1, 2**63 - 1  # the largest Integer, BigInteger
MAX_MS, MAX_INTERVAL_MS = 2**53, 3660 * 86_400_000  # a seat interval's times, its length
TEXT, INT, CALLER = 0, 1, 2
#: record field -> (column, kind, bound): the longest text, or the largest integer, it holds
SPECS: dict[str, tuple[str, int, int]] = {
    key: (col, INT, SMALL if col in INT32 else BIG) if is_int
    else (col, CALLER if col == "caller" else TEXT, LIMITS.get(col, 2**62))
    for key, (col, is_int) in FIELDS.items()}
EMPTY = dict.fromkeys(COLUMNS)


def version_of(stream_id: str) -> str:
    """A stream id ``ms-seq`` as text that sorts in stream order."""
    ms, _, seq = stream_id.partition("-")
    return f"{int(ms):015d}-{int(seq or 0):010d}"


@dataclass
class Batch:
    """What a read of the stream holds: the newest record per call, and seat intervals."""

    calls: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    seats: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)  # every entry id, to acknowledge
    rejected: int = 0


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def decode(entries: Iterable[tuple[Any, Mapping[Any, Any]]]) -> Batch:
    """Sort stream entries into a batch; malformed ones are counted and skipped (acked)."""
    b = Batch()
    for raw_id, raw in entries:
        sid_ = _text(raw_id)
        b.ids.append(sid_)
        try:
            d, kind = raw.get("d", raw.get(b"d")), raw.get("e", raw.get(b"e"))
            if d is None or kind is None:
                raise KeyError("e or d")
            data = json.loads(d)
            if not isinstance(data, dict):
                raise ValueError("d is not an object")
            kind = _text(kind)
            if kind == "call":
                _add_call(b, version_of(sid_), data)
            elif kind == "seat":
                b.seats.append(seat_row(data))
            else:
                log.info("archive: event %s of unknown type %r ignored", sid_, kind)
        except (KeyError, ValueError, TypeError) as exc:
            b.rejected += 1
            log.warning("archive: malformed event %s skipped: %s", sid_, exc)
    return b


def _add_call(b: Batch, version: str, data: dict[str, Any]) -> None:
    sid = str(data["sid"])
    if not sid or len(sid) > 128:
        raise ValueError("bad sid")
    rec = {k: v if v.__class__ is str else "" if v is None else str(v) for k, v in data.items()}
    for k in NEVER:
        rec.pop(k, None)
    old = b.calls.get(sid)
    if old is None or old[0] < version:
        b.calls[sid] = (version, rec)


def seat_row(d: Mapping[str, Any]) -> dict[str, Any]:
    """The seat_intervals row of a seat event (raises ValueError when malformed)."""
    start, end = int(d["from"]), int(d["to"])
    seat, st = str(d["seat"]), str(d["st"])
    if not seat or not st or len(seat) > 64 or len(st) > 16:
        raise ValueError("bad seat or state")
    if not (0 <= start <= MAX_MS and 0 <= end <= MAX_MS and end - start <= MAX_INTERVAL_MS):
        raise ValueError("time out of range")  # its days would overflow, or take for ever
    return {"seat": seat, "start_ms": start, "state": st, "end_ms": max(start, end),
            "next_state": str(d.get("next") or "")[:16] or None,
            "call": str(d.get("call") or "")[:128] or None, "day": cdr.day_of_ms(start)}


def call_row(center: str, sid: str, version: str, rec: Mapping[str, str]) -> dict[str, Any]:
    """The call_records row of a record: known fields in columns, the rest in ``extra``.

    Nothing is lost or cut (``row_record`` gives back a record that counts the same): a value
    too long for its column, not a number, or beyond its integer column stays whole in
    ``extra``, so one odd event can never make a batch fail for ever.
    """
    day = cdr.day_of_ms(cdr.arrival_ms(rec))
    row: dict[str, Any] = {"center": center, "sid": sid, "version": version,
                           "day": day if -SMALL <= day <= SMALL else 0, **EMPTY}
    extra: dict[str, str] = {}
    for k, v in rec.items():
        spec = SPECS.get(k)
        if spec is None:
            extra[k] = v
            continue
        col, kind, bound = spec
        if kind == INT:
            if v != "":
                n = _integer(v)
                if n is None or not -bound <= n <= bound:
                    extra[k] = v
                else:
                    row[col] = n
            continue
        if kind == CALLER and UNMASKED.search(v):
            v = mask(v)  # personal data is archived masked, even if an event carried it whole
        if len(v) > bound:
            extra[k] = v  # too long for its column: kept whole, so nothing is cut
        else:
            row[col] = v
    row["extra"] = json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
    return row


def _integer(v: str) -> int | None:
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return int(float(v))  # "12.5", "1e3"
    except (ValueError, OverflowError):  # "x", "nan", "inf"
        return None


def row_record(row: Mapping[str, Any]) -> dict[str, str]:
    """A stored row back as the record it came from (what ``ivr.core.cdr`` reads)."""
    rec = {key: str(row[col]) for col, key in COLUMNS.items() if row.get(col) is not None}
    if row.get("extra"):
        rec.update(json.loads(row["extra"]))
    return rec
