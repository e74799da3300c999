"""How many seats a queue needs: the staffing search over Erlang A/C, and the live advice.

Pure: no I/O. The queue figures for one seat count come from :mod:`ivr.core.erlang`
(units there: calls per hour, seconds, Erlangs); this module walks seat counts upwards
and stops at the first that meets the targets.

Live advice (the monitor's ``/api/staffing``): arrivals (offered + overflow in) per hour,
AHT (talk + wrap-up) and patience (total wait / abandons, the exponential estimate) over
a window of counters (see :mod:`ivr.core.kpi`) feed Erlang A, or Erlang C when nobody
abandoned.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

from ivr.core.erlang import (
    QueueMetrics,
    erlang_a_metrics,
    erlang_c_metrics,
    metrics_over,
    offered_load,
)


class TargetNotReachedError(ValueError):
    """No number of seats up to the limit meets the targets."""


def default_seat_range(load: float, patience: float | None) -> tuple[int, int]:
    """Default (min, max) seats of a curve: from the load up to far past any sane target."""
    low = math.floor(load) + 1 if patience is None else max(1, math.floor(load))
    return low, math.ceil(load + 12.0 * math.sqrt(load) + 30.0)


def staffing_curve(
    calls_per_hour: float, aht: float, patience: float | None, sl_seconds: float,
    min_seats: int | None = None, max_seats: int | None = None,
) -> list[QueueMetrics]:
    """Figures for every seat count in a range: Erlang A with a patience, else Erlang C."""
    low, high = default_seat_range(offered_load(calls_per_hour, aht), patience)
    start = low if min_seats is None else min_seats
    stop = high if max_seats is None else max_seats
    if stop < start:
        raise ValueError(f"max_seats {stop} is below min_seats {start}")
    return list(metrics_over(start, stop, calls_per_hour, aht, patience, sl_seconds))


def seats_needed(
    calls_per_hour: float, aht: float, patience: float | None,
    target_answer_rate: float | None, sl_target: float | None, sl_seconds: float,
    *, max_seats: int | None = None,
) -> int:
    """Least seats meeting both the answer-rate and the service-level target."""
    for name, target in (("target_answer_rate", target_answer_rate), ("sl_target", sl_target)):
        if target is not None and not 0.0 <= target <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {target!r}")
    load = offered_load(calls_per_hour, aht)
    low, high = default_seat_range(load, patience)
    stop = high if max_seats is None else max_seats
    if patience is not None:  # carried load A * answer_rate can never exceed n
        low = max(1, math.ceil(load * (target_answer_rate or 0.0) * (1 - 1e-12)))
    for m in metrics_over(low, stop, calls_per_hour, aht, patience, sl_seconds):
        if ((target_answer_rate is None or m.answer_rate >= target_answer_rate)
                and (sl_target is None or m.service_level >= sl_target)):
            return m.seats
    raise TargetNotReachedError(f"targets not met with at most {stop} seats")


# --- live advice from counters -------------------------------------------------------------

Fig = dict[str, Any]


def _getter(c: Mapping[str, int]) -> Callable[[str], int]:
    return lambda k: int(c.get(k, 0))


def staffing_inputs(c: Mapping[str, int], seconds: float, wrap_seconds: float,
                    default_aht_seconds: float) -> tuple[float, float, float | None]:
    """(calls per hour, AHT with wrap-up, patience or None) measured over a window."""
    g = _getter(c)
    cph = (g("offered") + g("overflow_in")) * 3600.0 / max(seconds, 1.0)
    talks = g("handled") or g("answered")
    talk = g("handled_ms") / 1000 / talks if talks and g("handled_ms") else default_aht_seconds
    waited = (g("wait_answered_ms") + g("wait_abandoned_ms")) / 1000
    patience = waited / g("abandoned") if g("abandoned") and waited > 0 else None
    return cph, talk + wrap_seconds, patience


def _sig(x: float) -> float:
    """Three significant digits: staffing inputs are estimates, and the maths is memoised."""
    return float(f"{x:.3g}")


@functools.lru_cache(maxsize=512)
def _first_seats(cph: float, aht: float, patience: float | None, rate: float | None,
                 sl: float, sl_seconds: float) -> tuple[int | None, int | None, int | None]:
    """Least seats for (both targets, the answer rate alone, the SL alone), in one pass."""
    load = offered_load(cph, aht)
    low, high = default_seat_range(load, patience)
    if patience is not None:  # carried load <= seats: SL and answer rate <= seats / load
        low = max(1, math.ceil(load * min(sl, rate or sl) * (1 - 1e-12)))
    found: list[int | None] = [None, None, None]
    start = low
    while start <= high and None in found:
        for m in staffing_curve(cph, aht, patience, sl_seconds, start, min(high, start + 15)):
            ok_rate = rate is None or m.answer_rate >= rate
            ok_sl = m.service_level >= sl
            for i, ok in enumerate((ok_rate and ok_sl, ok_rate, ok_sl)):
                if ok and found[i] is None:
                    found[i] = m.seats
        start += 16
    return found[0], found[1], found[2]


@functools.lru_cache(maxsize=512)
def _model(cph: float, aht: float, patience: float | None, seats: int,
           sl_seconds: float) -> QueueMetrics:
    return (erlang_c_metrics(cph, aht, seats, sl_seconds) if patience is None
            else erlang_a_metrics(cph, aht, patience, seats, sl_seconds))


def _predict(cph: float, aht: float, patience: float | None, seats: int,
             sl_seconds: float) -> Fig | None:
    if seats < 1:
        return None
    m = _model(cph, aht, patience, seats, sl_seconds)
    return {"seats": seats, "answer_rate": round(m.answer_rate, 4),
            "service_level": round(m.service_level, 4),
            "asa_seconds": round(m.asa, 1) if math.isfinite(m.asa) else None,
            "occupancy": round(m.occupancy, 4)}


def staffing_advice(c: Mapping[str, int], seconds: float, *, target: float, sl_target: float,
                    sl_seconds: float, wrap_seconds: float, default_aht_seconds: float,
                    logged: int, ready: int) -> Fig:
    """Seats that would meet the answer-rate and service-level targets, from live figures."""
    cph, aht, patience = staffing_inputs(c, seconds, wrap_seconds, default_aht_seconds)
    cph, aht = _sig(cph), _sig(aht)
    patience = None if patience is None else _sig(patience)
    out: Fig = {"calls_per_hour": round(cph, 1), "aht_seconds": round(aht, 1),
                "patience_seconds": None if patience is None else round(patience, 1),
                "model": "erlang-a" if patience is not None else "erlang-c",
                "target_answer_rate": target, "sl_target": sl_target, "sl_seconds": sl_seconds,
                "logged_in": logged, "ready": ready}
    if cph <= 0:
        return out | {"seats_needed": 0, "seats_for_answer_rate": 0, "seats_for_sl": 0,
                      "at_needed": None, "at_logged_in": None}
    ar = target if patience is not None else None
    needed, for_rate, for_sl = _first_seats(cph, aht, patience, ar, sl_target, sl_seconds)
    return out | {
        "seats_needed": needed, "seats_for_answer_rate": for_rate, "seats_for_sl": for_sl,
        "at_needed": _predict(cph, aht, patience, needed or 0, sl_seconds),
        "at_logged_in": _predict(cph, aht, patience, logged, sl_seconds),
    }
