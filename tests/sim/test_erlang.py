"""A long fixed-seed run of the textbook queue agrees with Erlang A within sampling error."""

from __future__ import annotations

from ivr.core.erlang import erlang_a_metrics
from ivr.settings import Settings
from ivr.sim.engine import Simulation
from ivr.sim.report import erlang, summary
from ivr.sim.scenario import Scenario, textbook_config

SEATS, AHT, PATIENCE = 8, 120.0, 90.0
RATE = 7.0 * 3600 / AHT  # 7 Erlangs offered to 8 seats: busy, with real abandonment


async def test_textbook_queue_matches_erlang_a(sim_settings: Settings) -> None:
    scenario = Scenario(rates={"12345": RATE}, hours=14.0, aht=AHT, patience=PATIENCE,
                        ring_seconds=0.0, seed=20260101, check_every=1800.0)
    result = await Simulation(scenario, textbook_config(SEATS, AHT), sim_settings).run()
    assert result.problems == []
    assert len(result.records) > 2500
    (row,) = erlang(result)
    theory = erlang_a_metrics(RATE, AHT, PATIENCE, SEATS, 15.0)
    assert row["answer_rate"]["theory"] == theory.answer_rate
    for key in ("answer_rate", "p_wait"):
        sim, exp, err = row[key]["sim"], row[key]["theory"], row[key]["error"]
        assert 0 < err < 0.05, (key, err)
        assert abs(sim - exp) <= 3 * err, f"{key}: simulated {sim:.4f}, Erlang A {exp:.4f} ± {err:.4f}"
    figures = summary(result)["queues"]["q"]
    assert figures["offered"] == figures["answered"] + figures["abandoned"]
