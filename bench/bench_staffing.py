"""Time seats_needed and a staffing curve for a 5,000-seat center, side by side with pyworkforce.

Run: .venv/bin/python bench/bench_staffing.py [--repeat 5]

Load: 72,000 calls/h, AHT 240 s -> 4,800 Erlangs; service level 80% within 15 s.
pyworkforce only has Erlang C, so the side-by-side rows are Erlang C; the Erlang A rows
(patience 120 s, 99% answer rate) are ours alone, for scale.
"""

import argparse
import time
from collections.abc import Callable
from typing import Any

from ivr.core.erlang import QueueMetrics
from ivr.core.staffing import seats_needed, staffing_curve

CALLS_PER_HOUR, AHT, PATIENCE, SL, SL_SECONDS, TOP = 72000.0, 240.0, 120.0, 0.8, 15.0, 5000


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def largest_gap(rows: list[QueueMetrics], other: list[tuple[int, float, float, float]]) -> float:
    gaps = [max(abs(r.p_wait - pw_wait), abs(r.service_level - pw_sl))
            for r, (n, pw_wait, pw_sl, _) in zip(rows, other, strict=True) if r.seats == n]
    assert len(gaps) == len(rows), "the two curves cover different seats"
    return max(gaps)


def pyworkforce_cases() -> dict[str, Callable[[], Any]] | None:
    try:
        from pyworkforce.queuing import ErlangC
    except ImportError:
        return None
    pw = ErlangC(transactions=CALLS_PER_HOUR, aht=AHT / 60, asa=SL_SECONDS / 60, interval=60)
    low = int(pw.intensity) + 1

    def curve() -> list[tuple[int, float, float, float]]:
        return [(n, pw.waiting_probability(n), pw.service_level(n), pw.achieved_occupancy(n))
                for n in range(low, TOP + 1)]

    return {
        "seats_needed, Erlang C": lambda: pw.required_positions(service_level=SL)["raw_positions"],
        f"curve {low}..{TOP}, Erlang C": curve,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    low_c = int(CALLS_PER_HOUR * AHT / 3600) + 1
    ours: dict[str, Callable[[], Any]] = {
        "seats_needed, Erlang C": lambda: seats_needed(
            CALLS_PER_HOUR, AHT, None, None, SL, SL_SECONDS, max_seats=TOP),
        f"curve {low_c}..{TOP}, Erlang C": lambda: staffing_curve(
            CALLS_PER_HOUR, AHT, None, SL_SECONDS, min_seats=low_c, max_seats=TOP),
        "seats_needed, Erlang A": lambda: seats_needed(
            CALLS_PER_HOUR, AHT, PATIENCE, 0.99, SL, SL_SECONDS, max_seats=TOP),
        f"curve {low_c - 1}..{TOP}, Erlang A": lambda: staffing_curve(
            CALLS_PER_HOUR, AHT, PATIENCE, SL_SECONDS, min_seats=low_c - 1, max_seats=TOP),
    }
    theirs = pyworkforce_cases()
    print(f"{CALLS_PER_HOUR:g} calls/h, AHT {AHT:g} s (4800 Erlangs), SL {SL:g}/{SL_SECONDS:g} s,"
          f" up to {TOP} seats; best of {repeat} runs")
    if theirs is None:
        print("pyworkforce is not installed: our figures only")
    print(f"{'case':<28} {'ivr ms':>10} {'pyworkforce ms':>15} {'ratio':>8}  result")
    for name, fn in ours.items():
        ours_s, result = best_of(repeat, fn)
        shown = result if isinstance(result, int) else f"{len(result)} rows"
        if theirs is not None and name in theirs:
            theirs_s, other = best_of(repeat, theirs[name])
            other_shown = other if isinstance(other, int) else f"{len(other)} rows"
            print(f"{name:<28} {ours_s * 1e3:>10.2f} {theirs_s * 1e3:>15.2f} "
                  f"{theirs_s / ours_s:>7.1f}x  ivr {shown}, pyworkforce {other_shown}")
            if isinstance(result, list):
                print(f"{'':<28} largest gap in P(wait) or SL: {largest_gap(result, other):.1e}")
        else:
            print(f"{name:<28} {ours_s * 1e3:>10.2f} {'-':>15} {'-':>8}  ivr {shown}")


if __name__ == "__main__":
    main()
