"""At critical load the simulated textbook queue agrees with Erlang A, over several seeds.

50 seats, 900 calls/h, AHT 200 s (50 Erlangs offered to 50 seats), patience 90 s, no ring
delay, 8 h: P(wait) near 0.42 and 7% abandoning. Single runs scatter widely here (a 2%
busier day moves P(wait) by five points), so each run is compared with theory at its own
drawn arrival rate and mean talk time, and the error bar is the standard error of the
mean difference across seeds: independent runs, so nothing is assumed about the
correlation between neighbouring calls. The seeds run in parallel processes.

The center opens empty, so the first 30 minutes (warm-up) are left out of the comparison:
measured over the whole 8 h, occupancy came out 0.48 ± 0.05 points under Erlang A (the
busy count climbs from 0 to ~46 seats over the first ten minutes) and P(wait) 1.0 point
under; from minute 15 or 30 on, every figure agrees within its error bar.
"""

from __future__ import annotations

from typing import Any

import pytest

from ivr.settings import Settings
from ivr.sim.scenario import Scenario, textbook_config
from ivr.sim.seeds import agreement, run_seeds
from tests.sim.conftest import ROOT

SEATS, RATE, AHT, PATIENCE, HOURS = 50, 900.0, 200.0, 90.0, 8.0
SEEDS = range(101, 107)
# Largest standard error each figure may have for the test to mean something.
MAX_SE = {"answer_rate": 0.006, "p_wait": 0.03, "within_sl": 0.03, "asa": 1.0,
          "occupancy": 0.004}
#: |bias| must stay within this many standard errors (t with 5 degrees of freedom:
#: two-sided 1% at 4.03).
WITHIN = 4.03


@pytest.fixture(scope="module")
def runs(redis_url: str) -> list[dict[str, Any]]:
    base = Settings(redis_url=redis_url, config_dir=ROOT, twilio_auth_token="test-token-123")
    scenario = Scenario(rates={"12345": RATE}, hours=HOURS, aht=AHT, patience=PATIENCE,
                        ring_seconds=0.0, check_every=3600.0, warmup=1800.0)
    return run_seeds(scenario, textbook_config(SEATS, AHT), base, SEEDS, compare=True)


@pytest.mark.timeout(1500)
def test_every_seed_keeps_every_invariant(runs: list[dict[str, Any]]) -> None:
    assert [r["scenario"]["seed"] for r in runs] == list(SEEDS)
    for r in runs:
        assert r["checks"]["problems"] == [], r["scenario"]["seed"]
        assert r["run"]["calls"] > 6500
        q = r["queues"]["q"]
        assert q["offered"] == q["answered"] + q["abandoned"] == r["run"]["calls"]


@pytest.mark.parametrize("key", sorted(MAX_SE))
def test_heavy_load_agrees_with_erlang_a_at_the_drawn_rate(runs: list[dict[str, Any]],
                                                           key: str) -> None:
    a = agreement(runs, "q")[key]
    assert a["n"] == len(SEEDS)
    assert 0 < a["se"] < MAX_SE[key], f"{key}: the error bar {a['se']:.4f} is too wide to judge"
    assert abs(a["bias"]) <= WITHIN * a["se"], (
        f"{key}: simulated {a['sim']:.4f}, Erlang A {a['theory']:.4f}, "
        f"bias {a['bias']:+.4f} ± {a['se']:.4f}")
