"""``ivr simulate`` end to end: JSON figures, the Erlang comparison and the plot."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ivr.sim.cli import simulate
from tests.sim.conftest import ROOT


def test_simulate_prints_json_compares_with_erlang_and_plots(redis_url: str,
                                                              tmp_path: Path) -> None:
    png = tmp_path / "day.png"
    env = {"IVR_REDIS_URL": redis_url, "IVR_CONFIG_DIR": str(ROOT)}
    result = CliRunner().invoke(simulate, [
        "--single-queue", "4", "--aht", "120", "--rate", "12345=100", "--hours", "0.5",
        "--patience", "60", "--ring", "0", "--seed", "3", "--json", "--compare-erlang",
        "--plot", str(png)], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["checks"]["ok"]
    assert data["checks"]["problems"] == []
    q = data["queues"]["q"]
    assert q["seats"] == 4
    assert q["offered"] == q["answered"] + q["abandoned"] > 20
    assert set(q) >= {"answer_rate", "within_sl", "p_wait", "avg_wait", "p90_wait",
                      "longest_wait", "occupancy"}
    assert data["lines"]["12345"]["offered"] == q["offered"]
    assert data["run"]["calls_per_second"] > 0
    assert data["run"]["webhooks"] > q["offered"]
    (row,) = data["erlang"]
    assert row["model"] == "erlang-a"
    assert row["inputs"]["seats"] == 4
    assert 0 < row["answer_rate"]["theory"] < 1
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_text_output_and_bad_input(redis_url: str) -> None:
    env = {"IVR_REDIS_URL": redis_url, "IVR_CONFIG_DIR": str(ROOT)}
    result = CliRunner().invoke(simulate, [
        "--seats", "pool=4", "--rate", "12328=60", "--hours", "0.2", "--quiet"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Simulated 0.2 h (seed 1): ")
    assert "Invariants: all held" in result.output
    assert "\npool " in result.output
    assert "\n12328 " in result.output
    bad = CliRunner().invoke(simulate, ["--rate", "99999=5", "--quiet"], env=env)
    assert bad.exit_code == 2
    assert "no such line: 99999" in bad.output
    bad = CliRunner().invoke(simulate, ["--seats", "nowhere=5", "--quiet"], env=env)
    assert bad.exit_code == 2
    assert "no such queue" in bad.output
