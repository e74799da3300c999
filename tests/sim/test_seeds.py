"""Several seeds: parsing, the spread of the figures, and ``ivr simulate --seeds``."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from click.testing import CliRunner

from ivr.sim.cli import simulate
from ivr.sim.seeds import agreement, describe, parse_seeds, spread, workers_for
from tests.sim.conftest import ROOT


def test_seeds_are_read_from_ranges_and_lists() -> None:
    assert parse_seeds("1-8") == [1, 2, 3, 4, 5, 6, 7, 8]
    assert parse_seeds("7") == [7]
    assert parse_seeds("5-6, 1,3,5") == [1, 3, 5, 6]
    for bad, why in (("x", "not a seed"), ("3-1", "runs backwards"), ("1-", "not a seed"),
                     ("", "not a seed"), ("0-20000", "at most 10,000 seeds")):
        with pytest.raises(ValueError, match=why):
            parse_seeds(bad)


def test_one_worker_per_core_at_most_one_per_run() -> None:
    assert workers_for(1) == 1
    assert 1 <= workers_for(64) <= 64


def test_describe_gives_the_standard_error_across_seeds() -> None:
    d = describe([1.0, 2.0, 3.0, 6.0])
    assert d["mean"] == 3.0
    assert d["min"] == 1.0
    assert d["max"] == 6.0
    assert d["sd"] == pytest.approx(math.sqrt(14 / 3))
    assert d["se"] == pytest.approx(math.sqrt(14 / 3) / 2)
    assert math.isnan(describe([4.0])["se"])


def _run(seed: int, answer: float, sim_asa: float, theory_asa: float) -> dict[str, Any]:
    fig = {"offered": 100, "answer_rate": answer, "p_wait": None}
    return {"scenario": {"seed": seed}, "total": fig, "queues": {"q": fig}, "lines": {"1": fig},
            "checks": {"ok": seed != 3, "problem_count": int(seed == 3)},
            "run": {"wall_seconds": 2.0 * seed, "calls": 100},
            "erlang": [{"queue": "q", **{k: {"sim": None, "realised": None}
                                         for k in ("answer_rate", "p_wait", "within_sl",
                                                   "occupancy")},
                        "asa": {"sim": sim_asa, "realised": theory_asa}}]}


def test_spread_and_agreement_over_runs() -> None:
    runs = [_run(1, 0.9, 6.0, 5.0), _run(2, 0.8, 5.0, 5.0), _run(3, 1.0, 7.0, 4.0)]
    sp = spread(runs)
    assert sp["seeds"] == [1, 2, 3]
    assert not sp["checks_ok"]
    assert sp["problem_count"] == 1
    assert sp["queues"]["q"]["answer_rate"]["mean"] == pytest.approx(0.9)
    assert sp["queues"]["q"]["answer_rate"]["sd"] == pytest.approx(0.1)
    assert "p_wait" not in sp["total"], "a figure no run has is left out"
    assert sp["wall_seconds"]["max"] == 6.0
    a = agreement(runs, "q")
    assert set(a) == {"asa"}
    assert a["asa"]["bias"] == pytest.approx(4 / 3)
    assert a["asa"]["n"] == 3
    assert a["asa"]["se"] == pytest.approx(describe([1.0, 0.0, 3.0])["se"])
    assert a["asa"]["sim"] == pytest.approx(6.0)
    assert a["asa"]["theory"] == pytest.approx(14 / 3)


@pytest.mark.timeout(300)
def test_simulate_several_seeds_in_parallel(redis_url: str) -> None:
    env = {"IVR_REDIS_URL": redis_url, "IVR_CONFIG_DIR": str(ROOT)}
    args = ["--single-queue", "3", "--aht", "120", "--rate", "12345=80", "--hours", "0.25",
            "--patience", "60", "--ring", "0", "--compare-erlang"]
    result = CliRunner().invoke(simulate, [*args, "--seeds", "4-5", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [r["scenario"]["seed"] for r in data["runs"]] == [4, 5]
    assert data["runs"][0]["run"]["calls"] != data["runs"][1]["run"]["calls"] or \
        data["runs"][0]["queues"] != data["runs"][1]["queues"], "different seeds, different runs"
    sp = data["spread"]
    assert sp["checks_ok"]
    assert sp["queues"]["q"]["offered"]["n"] == 2
    assert sp["calls"]["mean"] == sum(r["run"]["calls"] for r in data["runs"]) / 2
    assert set(data["erlang"]["q"]) >= {"answer_rate", "asa"}
    costs = data["runs"][0]["run"]["costs"]
    assert costs["service (webhooks, seat API, sweeps)"] > 0
    assert sum(costs.values()) == pytest.approx(data["runs"][0]["run"]["wall_seconds"], abs=0.05)
    text = CliRunner().invoke(simulate, [*args, "--seeds", "4-5"], env=env)
    assert text.exit_code == 0, text.output
    assert text.output.startswith("2 seeds (4–5) on ")
    assert "Erlang check, queue q" in text.output
    assert "answer_rate" in text.output
    bad = CliRunner().invoke(simulate, [*args, "--seeds", "9-1"], env=env)
    assert bad.exit_code == 2
    assert "runs backwards" in bad.output
