"""The pure KPI formulas: windows, quantiles from bins, figures, alerts, staffing."""

from __future__ import annotations

from datetime import datetime

import pytest

from ivr.core import kpi, staffing
from ivr.core.erlang import erlang_a_metrics
from ivr.core.staffing import seats_needed

T0 = 1_800_000_000  # 2027-01-15 16:00 Asia/Shanghai, a bucket boundary


def test_buckets_and_windows() -> None:
    assert kpi.bucket_of(T0 + 899.9) == T0
    assert kpi.bucket_of(T0 + 900) == T0 + 900
    start = kpi.day_start(T0)
    assert datetime.fromtimestamp(start, kpi.SHANGHAI).strftime("%H:%M") == "00:00"
    assert T0 - start == 16 * 3600
    assert kpi.window_buckets(T0 + 60, "15m") == [T0 - 900, T0]
    assert kpi.window_buckets(T0 + 60, "1h") == [T0 - 3600 + 900 * i for i in range(5)]
    today = kpi.window_buckets(T0 + 60, "today")
    assert today[0] == start
    assert today[-1] == T0
    assert len(today) == 16 * 4 + 1
    just_after_midnight = start + 86400 + 10
    assert kpi.window_buckets(just_after_midnight, "today") == [start + 86400]
    assert kpi.last_buckets(T0, 3) == [T0 - 1800, T0 - 900, T0]


def test_quantile_interpolates_inside_bins() -> None:
    assert kpi.quantile({}, 0.9) is None
    assert kpi.quantile({"5": 10}, 0.5) == 2.5
    assert kpi.quantile({"5": 1, "10": 1}, 1.0) == 10.0
    bins = {"15": 9, "20": 1}  # 9 in (10, 15], 1 in (15, 20]
    assert kpi.quantile(bins, 0.9) == 15.0
    assert kpi.quantile(bins, 0.95) == 17.5
    assert kpi.quantile({"inf": 3}, 0.5) == 600.0, "the last bin reads as 600 s or more"


def test_figures_definitions() -> None:
    c = {"offered": 103, "answered": 97, "abandoned": 5, "abandoned_short": 3,
         "sl_answered": 90, "wait_answered_ms": 970_000, "wait_abandoned_ms": 50_000,
         "handled_ms": 97 * 200_000, "wa:15": 90, "wa:20": 7, "wb:5": 3, "wb:30": 2,
         "callback_requested": 4, "callback_connected": 3, "callback_failed": 1}
    f = kpi.figures(c, 15, 0.99)
    assert f["answer_rate"] == round(97 / 99, 4)
    assert f["below_target"] is True
    assert f["service_level"] == round(90 / 99, 4)
    assert f["asa_seconds"] == 10.0
    assert f["wait_avg_seconds"] == 10.0
    assert f["aht_seconds"] == 200.0
    assert f["abandoned_counted"] == 2
    assert (f["callbacks_requested"], f["callbacks_connected"], f["callbacks_failed"]) == (4, 3, 1)
    empty = kpi.figures({}, 15, 0.99)
    assert empty["answer_rate"] is None
    assert empty["below_target"] is None
    assert empty["asa_seconds"] is None
    assert empty["wait_p90_seconds"] is None
    only_short = kpi.figures({"abandoned": 2, "abandoned_short": 2}, 15, 0.99)
    assert only_short["answer_rate"] is None, "short abandons count neither way"
    assert kpi.figures({"answered": 1, "handled": 2, "handled_ms": 300_000}, 15,
                       None)["aht_seconds"] == 150.0


def test_live_figures_and_occupancy() -> None:
    live = kpi.Live(3, (T0 - 42) * 1000, 5, (("ready", 1), ("talking", 2), ("wrapup", 1),
                                              ("break", 1)))
    f = kpi.live_figures(live, T0)
    assert f["longest_wait_seconds"] == 42.0
    assert f["occupancy"] == 0.75
    assert f["seats"] == {"logged": 5, "ready": 1, "reserved": 0, "talking": 2, "wrapup": 1,
                          "break": 1}
    assert kpi.live_figures(kpi.Live(), T0)["occupancy"] is None


def test_continuous_overflow_ignores_a_just_started_interval() -> None:
    assert kpi.continuous([1, 1, 1, 0], 3) == 3
    assert kpi.continuous([0, 1, 1, 1], 3) == 3
    assert kpi.continuous([1, 1, 0, 0], 3) == 0
    assert kpi.continuous([1, 0, 1, 1], 3) == 2


def test_alert_rules() -> None:
    f = kpi.figures({"answered": 1, "abandoned": 1}, 15, 0.99)
    q = {"id": "pool", "name": "池", "windows": {"15m": f},
         "live": kpi.live_figures(kpi.Live(1, (T0 - 61) * 1000, 0), T0)}
    kinds = [a["kind"] for a in kpi.queue_alerts(q, kpi.AlertRules(), [1, 1, 1])]
    assert kinds == ["answer_rate_below_target", "longest_wait", "no_seat_logged_in",
                     "overflowing"]
    strict = kpi.AlertRules(longest_wait_seconds=120, min_calls=3, overflow_intervals=4)
    assert kpi.queue_alerts(q, strict, [1, 1, 1])[0]["kind"] == "no_seat_logged_in"


def test_staffing_inputs_and_advice_agree_with_erlang_a() -> None:
    # 150 calls in an hour, 200 s talk + 40 s wrap-up, 600 s waited by 5 abandons
    c = {"offered": 140, "overflow_in": 10, "answered": 145, "abandoned": 5,
         "handled_ms": 145 * 200_000, "wait_answered_ms": 400_000, "wait_abandoned_ms": 200_000}
    cph, aht, patience = staffing.staffing_inputs(c, 3600, 40, 300)
    assert (cph, aht, patience) == (150.0, 240.0, 120.0)
    a = staffing.staffing_advice(c, 3600, target=0.99, sl_target=0.8, sl_seconds=15,
                            wrap_seconds=40, default_aht_seconds=300, logged=8, ready=2)
    n = a["seats_needed"]
    assert a["model"] == "erlang-a"
    assert n == max(a["seats_for_answer_rate"], a["seats_for_sl"])
    best = erlang_a_metrics(150, 240, 120, n, 15)
    worse = erlang_a_metrics(150, 240, 120, n - 1, 15)
    assert best.answer_rate >= 0.99
    assert best.service_level >= 0.8
    assert worse.answer_rate < 0.99 or worse.service_level < 0.8
    assert a["at_logged_in"]["seats"] == 8
    assert a["at_needed"]["answer_rate"] == pytest.approx(best.answer_rate, abs=1e-4)
    no_abandon = staffing.staffing_advice({"offered": 10, "answered": 10}, 3600, target=0.99,
                                     sl_target=0.8, sl_seconds=15, wrap_seconds=0,
                                     default_aht_seconds=180, logged=0, ready=0)
    assert no_abandon["model"] == "erlang-c"
    assert no_abandon["aht_seconds"] == 180.0
    assert no_abandon["at_logged_in"] is None
    assert no_abandon["seats_needed"] >= 1


@pytest.mark.parametrize(("cph", "aht", "patience"), [(600, 240, 120), (100, 180, None),
                                                      (4000, 200, 60), (3, 300, 30)])
def test_advice_matches_erlang_seats_needed(cph: float, aht: float,
                                            patience: float | None) -> None:
    rate = 0.99 if patience is not None else None
    c = {"offered": int(cph), "answered": int(cph), "handled_ms": int(cph * aht * 1000)}
    if patience is not None:  # one abandon, and waits adding up to the patience
        c |= {"abandoned": 1, "wait_abandoned_ms": int(patience * 1000)}
    a = staffing.staffing_advice(c, 3600, target=0.99, sl_target=0.8, sl_seconds=15,
                            wrap_seconds=0, default_aht_seconds=aht, logged=1, ready=1)
    assert (a["calls_per_hour"], a["aht_seconds"], a["patience_seconds"]) == (
        float(int(cph)), float(aht), patience)
    assert a["seats_needed"] == seats_needed(cph, aht, patience, rate, 0.8, 15)
    assert a["seats_for_sl"] == seats_needed(cph, aht, patience, None, 0.8, 15)
    if patience is not None:
        assert a["seats_for_answer_rate"] == seats_needed(cph, aht, patience, 0.99, None, 15)
