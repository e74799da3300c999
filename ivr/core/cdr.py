"""Call-detail records as counters: the archive's figures, defined once. Pure, no I/O.

A call's final record (the Redis call hash as the archive receives it, string values)
becomes the same counter fields the Lua scripts add to the live 15-minute buckets
(``ivr/store/lua/common.lua``), so every report over archived calls goes through
:func:`ivr.core.kpi.figures` and :func:`ivr.core.rates.three_rates` exactly as the live
monitor does. Where a record is attributed:

- **line** (and the **center**, the sum of lines): every counter of the call;
- **queue**: the queue it ended in (``q``); ``offered`` and ``overflow_out`` go to the
  queue it overflowed from (``oq``) when it moved, ``overflow_in`` to ``q``; line-only
  counters (calls, IVR endings, transfers, exclusions, rate limits) are not per queue;
- **seat**: the seat that answered it (answered calls only);
- **hour**: the hour of day (Asia/Shanghai) the call arrived;
- **day**: the day (Asia/Shanghai) the call arrived (``t1``, else its end).

The 15-second connection rate is the service level with a fixed 15 s threshold
(``SL_MS``), as the national standard GB/T 33358-2016 sets it; the live monitor uses each
queue's ``sl_seconds``, which is 15 in every shipped queue. Fields only a report needs:
``talk_max_ms`` (merged by max, not sum) and seat state time ``st_ms:<state>``.

Differences from the live counters, by construction: ``noanswer`` and ``resv_expired``
(events during a call, not in its record) are not derived; a call is counted on the day
it arrived, the live counters in the bucket where each event happened.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ivr.core import kpi
from ivr.core.numbers import UNKNOWN_LINE
from ivr.core.rates import three_rates

SL_MS = 15_000
DAY_MS = 86_400_000
OFFSET_MS = 8 * 3_600_000  # Asia/Shanghai, no daylight saving
MAX_FIELDS = frozenset({"talk_max_ms"})
LINE_ONLY = ("calls", "ended_in_ivr", "transferred", "excluded", "rate_limited")
LINE_ONLY_PREFIXES = ("transfer:", "exclusion:")
NOT_IVR = frozenset({"rate_limited", "ended_early", "stale"})
DIMENSIONS = ("center", "line", "queue", "seat", "hour")

Counts = dict[str, int]


def _int(rec: Mapping[str, Any], key: str, default: int = 0) -> int:
    try:
        return int(float(rec.get(key) or default))
    except (TypeError, ValueError, OverflowError):  # "1e400", "inf": the default
        return default


def wait_bin(ms: int) -> str:
    """The wait bin (upper bound in seconds, or ``inf``) of a wait, as the Lua scripts bin it."""
    s = ms / 1000
    return next((str(ub) for ub in kpi.BOUNDS if s <= ub), "inf")


def day_of_ms(ms: int) -> int:
    """Day number (days since 1970-01-01 in Asia/Shanghai) of a time in epoch ms."""
    return (ms + OFFSET_MS) // DAY_MS


def day_start_ms(day: int) -> int:
    """Epoch ms of midnight Asia/Shanghai starting a day number."""
    return day * DAY_MS - OFFSET_MS


def arrival_ms(rec: Mapping[str, Any]) -> int:
    """When the call reached the service (``t1``, else ``tq``, else its end)."""
    return _int(rec, "t1") or _int(rec, "tq") or _int(rec, "tend")


def call_counts(rec: Mapping[str, Any], short_ms: int) -> Counts:
    """Every counter one call record adds, as the Lua scripts count it for its line."""
    out = rec.get("out") or ""
    c: Counts = {}

    def inc(k: str, n: int = 1) -> None:
        c[k] = c.get(k, 0) + n

    if out == "ended_early":
        return c
    inc("calls")
    if out == "rate_limited":
        inc("rate_limited")
        return c
    queued = bool(rec.get("tq"))
    if queued:
        inc("offered")
    if rec.get("oq"):
        inc("overflow_in")
    if out.startswith("closed:"):
        inc("closed")
    if rec.get("cb") == "1":
        inc("callback_requested")
    wait = _int(rec, "wait")
    if rec.get("ans"):
        inc("answered")
        inc("wait_answered_ms", wait)
        inc("wa:" + wait_bin(wait))
        if wait <= SL_MS:
            inc("sl_answered")
        if rec.get("cb") == "1":
            inc("callback_connected")
    if rec.get("talk") not in (None, ""):
        talk = _int(rec, "talk")
        inc("handled")
        inc("handled_ms", talk)
        c["talk_max_ms"] = talk
    if out in ("abandoned", "lost"):
        inc("abandoned")
        inc("wait_abandoned_ms", wait)
        inc("wb:" + wait_bin(wait))
        if out == "lost":
            inc("lost")
        elif wait < short_ms:
            inc("abandoned_short")
    if out == "callback_failed":
        inc("callback_failed")
    if out == "stale":
        inc("stale")
    if not queued and not rec.get("ans") and out not in NOT_IVR:
        inc("ended_in_ivr")
    for kind, what in (_handoff(out), _handoff(str(rec.get("xfer") or ""))):
        if kind:
            inc("transferred" if kind == "transfer" else "excluded")
            inc(f"{kind}:{what}")
    if rec.get("rating") in ("1", "2", "3"):
        inc("rated")
        inc("rated_" + str(rec["rating"]))
    if rec.get("cat"):
        inc("disposed")
        inc("resolved" if rec.get("res") == "1" else "handed")
        inc("cat:" + str(rec["cat"]))
    return c


def _handoff(text: str) -> tuple[str, str]:
    """('transfer' | 'exclusion' | '', what) of an outcome or a seat hand-off."""
    kind, _, what = text.partition(":")
    if kind in ("transferred", "transfer") and what:
        return "transfer", what
    if kind == "exclusion" and what:
        return "exclusion", what
    return "", ""


def _queue_part(c: Counts) -> Counts:
    return {k: v for k, v in c.items()
            if k not in LINE_ONLY and not k.startswith(LINE_ONLY_PREFIXES)}


def contributions(rec: Mapping[str, Any], short_ms: int) -> Iterator[tuple[str, str, Counts]]:
    """(dimension, key, counters) a call record adds to the rollups of its day."""
    c = call_counts(rec, short_ms)
    if not c:
        return
    yield "center", "", c
    yield "line", str(rec.get("ln") or UNKNOWN_LINE), c
    hour = (arrival_ms(rec) + OFFSET_MS) % DAY_MS // 3_600_000
    yield "hour", f"{hour:02d}", c
    q, oq = str(rec.get("q") or ""), str(rec.get("oq") or "")
    if q:
        part = _queue_part(c)
        closed = part.pop("closed", 0)
        if oq:
            moved = {"offered": part.pop("offered", 0), "overflow_out": 1}
            yield "queue", oq, {k: v for k, v in moved.items() if v}
        if part:
            yield "queue", q, part
        if closed:
            yield "queue", str(rec.get("out", ""))[7:], {"closed": closed}
    elif c.get("closed"):
        yield "queue", str(rec.get("out", ""))[7:], {"closed": c["closed"]}
    if rec.get("ans") and rec.get("seat"):
        yield "seat", str(rec["seat"]), _queue_part(c)


def merge(into: Counts, part: Mapping[str, int], sign: int = 1) -> Counts:
    """Add (or, with sign -1, take away) counters; ``*_max`` fields keep the maximum."""
    if sign > 0:
        for k, v in part.items():
            into[k] = max(into.get(k, 0), v) if k in MAX_FIELDS else into.get(k, 0) + v
        return into
    for k, v in part.items():
        if k in MAX_FIELDS:
            into[k] = max(into.get(k, 0), int(v)) if sign > 0 else into.get(k, 0)
        else:
            into[k] = into.get(k, 0) + sign * int(v)
            if into[k] == 0:
                del into[k]
    return into


def interval_parts(st: str, start_ms: int, end_ms: int) -> Iterator[tuple[int, Counts]]:
    """A seat's state interval split at midnights: (day, {st_ms:<state>: ms}) per day."""
    t = start_ms
    while t < end_ms:
        day = day_of_ms(t)
        upto = min(end_ms, day_start_ms(day + 1))
        yield day, {f"st_ms:{st}": upto - t}
        t = upto


def figures(c: Mapping[str, int]) -> dict[str, Any]:
    """Every report figure of summed counters: live-monitor KPIs, line figures, three rates."""
    talks = int(c.get("handled", 0))
    busy = sum(int(c.get(f"st_ms:{s}", 0)) for s in kpi.BUSY_STATES)
    ready = int(c.get("st_ms:ready", 0))
    return (kpi.figures(c, SL_MS / 1000, None) | kpi.line_extras(c) | three_rates(c) | {
        "connection_rate_15s": kpi.figures(c, SL_MS / 1000, None)["service_level"],
        "talk_avg_seconds": round(int(c.get("handled_ms", 0)) / 1000 / talks, 1) if talks else None,
        "talk_max_seconds": round(int(c.get("talk_max_ms", 0)) / 1000, 1) if talks else None,
        "ready_seconds": round(ready / 1000, 1),
        "break_seconds": round(int(c.get("st_ms:break", 0)) / 1000, 1),
        "occupancy": round(busy / (busy + ready), 4) if busy + ready else None,
    })
