"""Arrivals, figures and sampling error: the arithmetic under the report."""

from __future__ import annotations

import math
import random

import pytest

from ivr.sim.recorder import CallRecord
from ivr.sim.scenario import OFFICE_DAY, PROFILES, arrival_times, normalised
from ivr.sim.stats import batch_error, figures, percentile


def test_poisson_arrivals_follow_the_hourly_profile() -> None:
    profile = tuple([0.0] * 12 + [2.0] * 12)
    times = list(arrival_times(360.0, profile, 0.0, 86400.0, random.Random(4)))
    assert all(t >= 12 * 3600 for t in times), "no calls in hours weighted 0"
    assert abs(len(times) - 360 * 2 * 12) < 4 * math.sqrt(360 * 24)
    assert times == sorted(times)
    assert times[-1] < 86400.0


def test_profiles_are_normalised_to_a_mean_of_one() -> None:
    assert sum(normalised(OFFICE_DAY)) == pytest.approx(24.0)
    assert sum(PROFILES["office"]) == pytest.approx(24.0), "rates stay daily averages"
    with pytest.raises(ValueError, match="24 non-negative hourly weights"):
        normalised([1.0] * 23)


def test_figures_of_answered_and_abandoned_calls() -> None:
    recs = [CallRecord("a", "12345", 0.0, queued=0.0, answered=10.0, ended=100.0,
                       outcome="answered"),
            CallRecord("b", "12345", 0.0, queued=0.0, found_busy=True, answered=30.0,
                       ended=90.0, outcome="answered"),
            CallRecord("c", "12345", 0.0, queued=0.0, found_busy=True, ended=50.0,
                       outcome="abandoned"),
            CallRecord("d", "12345", 0.0, ended=3.0, outcome="ivr")]
    f = figures(recs, lambda r: 15.0)
    assert (f.offered, f.answered, f.abandoned) == (3, 2, 1)
    assert f.answer_rate == pytest.approx(2 / 3)
    assert f.within_sl == pytest.approx(1 / 3)
    assert f.p_wait == pytest.approx(2 / 3)
    assert f.avg_wait == pytest.approx(20.0)
    assert f.longest_wait == 50.0
    assert f.p90_wait == pytest.approx(28.0)


def test_percentile_and_batch_error() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == pytest.approx(2.5)
    same = [CallRecord(str(i), "l", float(i), queued=float(i), answered=float(i),
                       outcome="answered") for i in range(100)]
    assert batch_error(same, 0.0, 100.0, lambda rs: 1.0 if rs else None) == 0.0
    assert batch_error(same[:1], 0.0, 100.0, lambda rs: 1.0 if rs else None) == math.inf
