"""Call-center figures from 15-minute counter buckets: pure formulas, no I/O.

Counters come as ``Counts`` (field -> integer, absent = 0), one per queue or line and
15-minute bucket (see ``ivr/store/lua/common.lua``). Definitions, for every window:

- answer rate = answered / (answered + abandoned - abandoned_short); short abandons
  (caller hung up within ``short_abandon_seconds``) count neither way, nor do callers
  who asked to be called back (not abandons; answered when the call back connects);
- service level = answered within the queue's threshold / the same denominator, so a
  caller who gave up after the short-abandon threshold counts as not served;
- ASA = total wait of answered calls / answered; average wait over answered and
  abandoned calls; p90/p99 wait are *estimated* from the wait bins (linear inside a
  bin, like Prometheus ``histogram_quantile``; a value in the last bin reads 600 = "600 s
  or more"); AHT = talk time / talks ended (``handled``, else answered);
- windows are whole buckets: ``15m`` and ``1h`` are the buckets that overlap the last 15
  minutes or hour (so they span 15-30 and 60-75 minutes), ``today`` starts at midnight
  Asia/Shanghai (UTC+8, no daylight saving).

Staffing advice from these counters (Erlang A/C over a window): :mod:`ivr.core.staffing`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

BUCKET = 900
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
WINDOWS: dict[str, int] = {"15m": 900, "1h": 3600}  # plus "today"
WINDOW_NAMES = ("15m", "1h", "today")
BOUNDS = (5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)  # wait bins (s), then inf
SEAT_STATES = ("ready", "reserved", "talking", "wrapup", "break")
BUSY_STATES = ("reserved", "talking", "wrapup")

Counts = dict[str, int]
Fig = dict[str, Any]


def bucket_of(t: float) -> int:
    """Start (epoch seconds) of the 15-minute bucket holding time ``t``."""
    return int(t // BUCKET) * BUCKET


def day_start(t: float) -> int:
    """Midnight Asia/Shanghai of the day holding ``t``, in epoch seconds."""
    local = datetime.fromtimestamp(t, SHANGHAI)
    return int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())


def window_buckets(now: float, window: str) -> list[int]:
    """The buckets making up a window (``15m``, ``1h`` or ``today``), oldest first."""
    first = day_start(now) if window == "today" else bucket_of(now - WINDOWS[window])
    return list(range(first, bucket_of(now) + 1, BUCKET))


def last_buckets(now: float, n: int) -> list[int]:
    """The last ``n`` buckets up to the current one, oldest first."""
    top = bucket_of(now)
    return [top - BUCKET * i for i in range(n - 1, -1, -1)]


def iso(t: float) -> str:
    """An epoch time as ISO 8601 in Asia/Shanghai."""
    return datetime.fromtimestamp(t, UTC).astimezone(SHANGHAI).isoformat(timespec="seconds")


def add(parts: Iterable[Mapping[str, int]]) -> Counts:
    """Sum counter hashes field by field."""
    out: Counts = {}
    for part in parts:
        for k, v in part.items():
            out[k] = out.get(k, 0) + int(v)
    return out


def _getter(c: Mapping[str, int]) -> Callable[[str], int]:
    return lambda k: int(c.get(k, 0))


def _ratio(num: float, den: float, digits: int = 4) -> float | None:
    return round(num / den, digits) if den > 0 else None


def quantile(bins: Mapping[str, int], q: float) -> float | None:
    """The q-quantile (0..1) of waits in seconds, estimated from bins ``<ub>`` -> count."""
    counts = [int(bins.get(str(ub), 0)) for ub in BOUNDS] + [int(bins.get("inf", 0))]
    total = sum(counts)
    if total == 0:
        return None
    rank, seen, low = q * total, 0, 0.0
    for ub, n in zip((*BOUNDS, math.inf), counts, strict=True):
        if n and seen + n >= rank:
            if math.isinf(ub):
                return float(BOUNDS[-1])
            return round(low + (ub - low) * max(0.0, rank - seen) / n, 2)
        seen += n
        low = float(ub)
    return float(BOUNDS[-1])  # pragma: no cover - rank <= total always stops above


def wait_bins(c: Mapping[str, int], prefix: str = "") -> dict[str, int]:
    """Wait bins of answered (``wa``), abandoned (``wb``) or both (``""``) calls."""
    out: dict[str, int] = {}
    for ub in (*map(str, BOUNDS), "inf"):
        keys = [f"{prefix}:{ub}"] if prefix else [f"wa:{ub}", f"wb:{ub}"]
        out[ub] = sum(int(c.get(k, 0)) for k in keys)
    return out


def figures(c: Mapping[str, int], sl_seconds: float, target: float | None) -> Fig:
    """Every windowed figure of one queue, line or the center from summed counters."""
    g = _getter(c)
    answered, abandoned, short = g("answered"), g("abandoned"), g("abandoned_short")
    counted = answered + abandoned - short
    talks = g("handled") or answered
    bins = wait_bins(c)
    rate = _ratio(answered, counted)
    return {
        "offered": g("offered"), "answered": answered, "abandoned": abandoned,
        "abandoned_short": short, "abandoned_counted": abandoned - short,
        "callbacks_requested": g("callback_requested"),
        "callbacks_connected": g("callback_connected"),
        "callbacks_failed": g("callback_failed"), "closed": g("closed"),
        "overflow_out": g("overflow_out"),
        "overflow_in": g("overflow_in"), "noanswer": g("noanswer"),
        "answer_rate": rate, "target_answer_rate": target,
        "below_target": None if rate is None or target is None else rate < target,
        "service_level": _ratio(g("sl_answered"), counted), "sl_seconds": sl_seconds,
        "asa_seconds": _ratio(g("wait_answered_ms") / 1000, answered, 2),
        "wait_avg_seconds": _ratio((g("wait_answered_ms") + g("wait_abandoned_ms")) / 1000,
                                   answered + abandoned, 2),
        "wait_p90_seconds": quantile(bins, 0.90),
        "wait_p99_seconds": quantile(bins, 0.99),
        "aht_seconds": _ratio(g("handled_ms") / 1000, talks if g("handled_ms") else 0, 1),
        "handled_seconds": round(g("handled_ms") / 1000, 1),
    }


def line_extras(c: Mapping[str, int]) -> Fig:
    """Figures only lines count: calls that reached us, ended in the IVR, transferred."""
    transfers = {k.split(":", 1)[1]: int(v) for k, v in c.items() if k.startswith("transfer:")}
    return {"calls": int(c.get("calls", 0)), "ended_in_ivr": int(c.get("ended_in_ivr", 0)),
            "transferred": int(c.get("transferred", 0)) or sum(transfers.values()),
            "transfers": transfers, "excluded": int(c.get("excluded", 0))}


@dataclass(frozen=True)
class Live:
    """What a queue looks like right now."""

    waiting: int = 0
    oldest_arrival_ms: int | None = None
    logged: int = 0
    states: tuple[tuple[str, int], ...] = ()


def live_figures(live: Live, now: float) -> Fig:
    """Queue length, longest wait, seats by state and occupancy right now."""
    states = dict(live.states)
    seats = {"logged": live.logged, **{s: states.get(s, 0) for s in SEAT_STATES}}
    busy = sum(seats[s] for s in BUSY_STATES)
    longest = (max(0.0, now - live.oldest_arrival_ms / 1000)
               if live.oldest_arrival_ms is not None else 0.0)
    return {"waiting": live.waiting, "longest_wait_seconds": round(longest, 1),
            "seats": seats, "occupancy": _ratio(busy, busy + seats["ready"])}


def windowed(series: Mapping[int, Mapping[str, int]], now: float, sl_seconds: float,
             target: float | None, extras: bool = False) -> dict[str, Fig]:
    """Figures over each window from a bucket -> counts series."""
    out: dict[str, Fig] = {}
    for w in WINDOW_NAMES:
        c = add(series.get(b, {}) for b in window_buckets(now, w))
        out[w] = figures(c, sl_seconds, target) | (line_extras(c) if extras else {})
    return out


def history(series: Mapping[int, Mapping[str, int]], buckets: Iterable[int],
            sl_seconds: float, target: float | None) -> list[Fig]:
    """One figure set per 15-minute interval, for charts."""
    return [{"start": b, "start_iso": iso(b)} | figures(series.get(b, {}), sl_seconds, target)
            for b in buckets]


@dataclass(frozen=True)
class AlertRules:
    """When an alert fires."""

    longest_wait_seconds: float = 60.0  # a caller waiting longer than this now
    min_calls: int = 1  # counted calls a window needs before its answer rate can alert
    overflow_intervals: int = 3  # consecutive 15-min intervals with overflow out


def _alert(kind: str, q: Mapping[str, Any], value: float, threshold: float,
           text: str, window: str | None = None) -> Fig:
    return {"kind": kind, "queue": q["id"], "queue_name": q["name"], "window": window,
            "value": value, "threshold": threshold, "message": text}


def continuous(values: list[int], n: int) -> int:
    """How many intervals in a row had a non-zero value, ending now (or just before)."""
    if values and values[-1] == 0:
        values = values[:-1]  # the current interval has only begun: judge the last whole ones
    run = 0
    for v in reversed(values):
        if v <= 0:
            break
        run += 1
    return min(run, n)


def queue_alerts(q: Mapping[str, Any], rules: AlertRules, overflow_out: list[int]) -> list[Fig]:
    """Alerts of one queue report (``windows`` and ``live``) and its recent overflow counts."""
    out: list[Fig] = []
    for w, f in q["windows"].items():
        rate, target = f["answer_rate"], f["target_answer_rate"]
        if (rate is not None and target is not None and rate < target
                and f["answered"] + f["abandoned_counted"] >= rules.min_calls):
            out.append(_alert("answer_rate_below_target", q, rate, target,
                              f"{q['id']}: answer rate {rate:.1%} < {target:.0%} ({w})", w))
    live = q["live"]
    if live["longest_wait_seconds"] > rules.longest_wait_seconds:
        out.append(_alert("longest_wait", q, live["longest_wait_seconds"],
                          rules.longest_wait_seconds,
                          f"{q['id']}: a caller has waited {live['longest_wait_seconds']:.0f} s"))
    if live["waiting"] > 0 and live["seats"]["logged"] == 0:
        out.append(_alert("no_seat_logged_in", q, live["waiting"], 0,
                          f"{q['id']}: {live['waiting']} waiting, no seat logged in"))
    run = continuous(overflow_out, rules.overflow_intervals)
    if run >= rules.overflow_intervals:
        out.append(_alert("overflowing", q, run, rules.overflow_intervals,
                          f"{q['id']}: overflowing for {run * BUCKET // 60} min"))
    return out
