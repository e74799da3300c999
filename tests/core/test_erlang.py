"""Erlang B/C/A checked against published figures, an exact birth-death chain and pyworkforce."""

import math
from dataclasses import dataclass
from fractions import Fraction

import pytest

from ivr.core.erlang import (
    QueueMetrics,
    erlang_a_metrics,
    erlang_b,
    erlang_c,
    erlang_c_asa,
    erlang_c_metrics,
    erlang_c_service_level,
    occupancy,
    offered_load,
)
from ivr.core.staffing import TargetNotReachedError, seats_needed, staffing_curve

# --- an independent model: the truncated M/M/n+M birth-death chain, solved numerically ----


@dataclass(frozen=True)
class Exact:
    p_wait: float
    p_abandon: float
    p_abandon_by_caller: float
    asa: float
    mean_wait: float
    service_level: float
    occupancy: float


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(math.fsum(math.exp(v - top) for v in values))


def exact_erlang_a(n: int, lam: float, mu: float, theta: float, t: float) -> Exact:
    """Stationary law by the balance equations, tagged caller by first-step and uniformization."""
    log_p = [0.0]
    k = 0
    while True:  # grow the state space until the tail is negligible and falling
        k += 1
        death = k * mu if k <= n else n * mu + (k - n) * theta
        log_p.append(log_p[-1] + math.log(lam) - math.log(death))
        if k > n and lam < death and log_p[-1] < max(log_p) - 50:
            break
    norm = _logsumexp(log_p)
    pi = [math.exp(v - norm) for v in log_p]
    queue = pi[n:]  # queue[j]: an arrival finds all seats busy and j callers queued (PASTA)
    p_wait = math.fsum(queue)
    p_ab_flow = math.fsum(p * j * theta for j, p in enumerate(queue)) / lam
    # tagged caller with i callers ahead: served with s_i, E[wait; served] = m_i
    s_prev, m_prev, s, m = 1.0, 0.0, [], []
    for i in range(len(queue)):
        rate = n * mu + (i + 1) * theta
        move = (n * mu + i * theta) / rate
        s_i = move * s_prev
        m_i = s_i / rate + move * m_prev
        s.append(s_i)
        m.append(m_i)
        s_prev, m_prev = s_i, m_i
    p_ab_caller = math.fsum(p * (1 - s_j) for p, s_j in zip(queue, s, strict=True))
    answered = 1 - p_ab_caller
    asa = math.fsum(p * m_j for p, m_j in zip(queue, m, strict=True)) / answered
    mean_wait = math.fsum(p * j for j, p in enumerate(queue)) / lam  # Little: E[Q] / lambda
    # uniformization of the tagged chain from the arrival law, for P(answered within t)
    size = len(queue)
    big = n * mu + (size + 1) * theta
    down = [(n * mu + i * theta) / big for i in range(size)]
    stay = [1 - (n * mu + (i + 1) * theta) / big for i in range(size)]
    v = list(queue)
    served_steps = [0.0]
    lt = big * t
    steps = int(lt + 12 * math.sqrt(lt) + 40)
    for _ in range(steps):
        served_steps.append(served_steps[-1] + v[0] * down[0])
        v = [v[i] * stay[i] + v[i + 1] * down[i + 1] for i in range(size - 1)] + [v[-1] * stay[-1]]
    served_by_t = math.fsum(
        math.exp(-lt + k * math.log(lt) - math.lgamma(k + 1)) * served
        for k, served in enumerate(served_steps)
    ) if lt > 0 else 0.0
    return Exact(
        p_wait=p_wait,
        p_abandon=p_ab_flow,
        p_abandon_by_caller=p_ab_caller,
        asa=asa,
        mean_wait=mean_wait,
        service_level=(1 - p_wait) + served_by_t,
        occupancy=math.fsum(min(k, n) * p for k, p in enumerate(pi)) / n,
    )


# --- Erlang C: the published rows in DOMAIN.md ----------------------------------------------

CALLS_PER_HOUR = 200.0  # 100 calls in 30 minutes
AHT = 180.0


def test_published_row_14_seats() -> None:
    m = erlang_c_metrics(CALLS_PER_HOUR, AHT, 14, 20)
    assert m.load == pytest.approx(10.0)
    assert m.p_wait == pytest.approx(0.1741, abs=5e-5)
    assert m.asa == pytest.approx(7.84, abs=5e-3)
    assert m.service_level == pytest.approx(0.888, abs=5e-4)
    assert m.occupancy == pytest.approx(10 / 14)
    assert m.answer_rate == 1.0


def test_published_row_15_seats() -> None:
    m = erlang_c_metrics(CALLS_PER_HOUR, AHT, 15, 20)
    assert m.p_wait == pytest.approx(0.1020, abs=5e-5)
    assert m.service_level == pytest.approx(0.941, abs=5e-4)


def test_erlang_c_primitives_agree_with_metrics() -> None:
    m = erlang_c_metrics(CALLS_PER_HOUR, AHT, 14, 20)
    assert erlang_c(14, 10.0) == pytest.approx(m.p_wait, rel=1e-14)
    assert erlang_c_asa(14, 10.0, AHT) == pytest.approx(m.asa, rel=1e-14)
    assert erlang_c_service_level(14, 10.0, AHT, 20) == pytest.approx(m.service_level, rel=1e-14)
    assert occupancy(14, 10.0) == pytest.approx(m.occupancy)
    assert erlang_c(10, 10.0) == 1.0
    assert erlang_c_asa(9, 10.0, AHT) == math.inf
    assert erlang_c_service_level(9, 10.0, AHT, 20) == 0.0


@pytest.mark.parametrize(("n", "load"), [(1, 0.5), (5, 3.2), (14, 10.0), (30, 29.5), (40, 12.0)])
def test_erlang_b_against_exact_fractions(n: int, load: float) -> None:
    a = Fraction(load)
    terms = [a**k / math.factorial(k) for k in range(n + 1)]
    assert erlang_b(n, load) == pytest.approx(float(terms[-1] / sum(terms)), rel=1e-12)


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="calls_per_hour"):
        offered_load(-1.0, 180)
    with pytest.raises(ValueError, match="aht"):
        erlang_c_metrics(100, 0.0, 3, 20)
    with pytest.raises(ValueError, match="seats"):
        erlang_b(0, 1.0)
    with pytest.raises(ValueError, match="patience"):
        erlang_a_metrics(100, 180, float("nan"), 3, 20)
    with pytest.raises(ValueError, match="sl_seconds"):
        erlang_a_metrics(100, 180, 60, 3, -1)
    with pytest.raises(ValueError, match="target_answer_rate"):
        seats_needed(100, 180, 60, 1.5, 0.8, 20)


# --- Erlang A against the exact chain -------------------------------------------------------

CASES = [  # n, lambda per s, mu = 1/AHT, theta = 1/patience, t seconds
    (14, 100 / 1800, 1 / 180, 1 / 60, 20.0),  # the published queue with 60 s patience
    (5, 0.1, 1 / 30, 1 / 120, 15.0),  # overloaded: y > x, the Kummer sum peaks inside
    (50, 0.3, 1 / 200, 1 / 30, 15.0),  # impatient callers, load 60 on 50 seats
    (3, 0.02, 1 / 100, 1 / 10, 5.0),  # patience shorter than the handle time
    (20, 0.05, 1 / 300, 1 / 600, 60.0),  # patient callers, under-loaded
    (1, 0.01, 1 / 60, 1 / 45, 30.0),  # a single seat
    (5, 0.5, 1 / 30, 1 / 2000, 60.0),  # load 15 on 5 seats, patient: 667 queued at the peak
]


@pytest.mark.parametrize(("n", "lam", "mu", "theta", "t"), CASES)
def test_erlang_a_matches_birth_death_chain(
    n: int, lam: float, mu: float, theta: float, t: float
) -> None:
    exact = exact_erlang_a(n, lam, mu, theta, t)
    assert exact.p_abandon == pytest.approx(exact.p_abandon_by_caller, abs=1e-12)
    m = erlang_a_metrics(lam * 3600, 1 / mu, 1 / theta, n, t)
    assert m.p_wait == pytest.approx(exact.p_wait, abs=1e-11)
    assert m.p_abandon == pytest.approx(exact.p_abandon, abs=1e-11)
    assert m.answer_rate == pytest.approx(1 - exact.p_abandon, abs=1e-11)
    assert m.asa == pytest.approx(exact.asa, rel=1e-9)
    assert m.mean_wait == pytest.approx(exact.mean_wait, rel=1e-9)
    assert m.service_level == pytest.approx(exact.service_level, abs=1e-10)
    assert m.occupancy == pytest.approx(exact.occupancy, abs=1e-11)


def test_erlang_a_matches_mandelbaum_zeltyn_abandonment() -> None:
    n, lam, mu, theta = 14, 100 / 1800, 1 / 180, 1 / 60
    x, y, rho = n * mu / theta, lam / theta, lam / (n * mu)
    acal = math.fsum(math.exp(j * math.log(y) - math.lgamma(x + 1 + j) + math.lgamma(x + 1))
                     for j in range(400))
    e = erlang_b(n, lam / mu)
    p_wait = acal * e / (1 + (acal - 1) * e)
    p_ab = p_wait * (1 / (rho * acal) + 1 - 1 / rho)
    m = erlang_a_metrics(lam * 3600, 1 / mu, 1 / theta, n, 20)
    assert m.p_wait == pytest.approx(p_wait, rel=1e-12)
    assert m.p_abandon == pytest.approx(p_ab, rel=1e-10)


def test_erlang_a_service_level_ends() -> None:
    m0 = erlang_a_metrics(200, 180, 60, 14, 0)
    assert m0.service_level == pytest.approx(1 - m0.p_wait, abs=1e-14)
    far = erlang_a_metrics(200, 180, 60, 14, 1e6)
    assert far.service_level == pytest.approx(far.answer_rate, abs=1e-12)
    levels = [erlang_a_metrics(200, 180, 60, 14, t).service_level for t in (0, 5, 20, 60, 300)]
    assert levels == sorted(levels)
    assert levels[0] < levels[-1]


def test_erlang_a_approaches_erlang_c_as_patience_grows() -> None:
    c = erlang_c_metrics(CALLS_PER_HOUR, AHT, 14, 20)
    gaps = []
    for patience in (1e3, 1e5, 1e7):
        a = erlang_a_metrics(CALLS_PER_HOUR, AHT, patience, 14, 20)
        gaps.append((abs(a.p_wait - c.p_wait), abs(a.service_level - c.service_level),
                     abs(a.asa - c.asa), a.p_abandon))
    for earlier, later in zip(gaps, gaps[1:], strict=False):  # each gap shrinks like 1/patience
        assert all(b < a / 50 for a, b in zip(earlier, later, strict=True))
    assert gaps[-1][0] < 1e-5
    assert gaps[-1][1] < 1e-5
    assert gaps[-1][2] < 1e-3
    assert gaps[-1][3] < 1e-5


# --- a large center: no overflow, no underflow, still exact ---------------------------------


def test_stable_at_5000_seats() -> None:
    a = erlang_a_metrics(72000, 240, 120, 5000, 15)  # load 4800 Erlangs
    exact = exact_erlang_a(5000, 20.0, 1 / 240, 1 / 120, 15.0)
    assert a.p_wait == pytest.approx(exact.p_wait, rel=1e-8)
    assert a.p_abandon == pytest.approx(exact.p_abandon, rel=1e-8)
    assert a.service_level == pytest.approx(exact.service_level, abs=1e-10)
    assert a.asa == pytest.approx(exact.asa, rel=1e-8)
    c = erlang_c_metrics(72000, 240, 5000, 15)
    assert 0 < c.p_wait < 1
    assert 0 < c.service_level < 1
    assert math.isfinite(c.asa)
    assert c.p_wait > a.p_wait  # abandonment shortens the queue


def test_extreme_loads_stay_finite() -> None:
    # 4000 seats for 4800 Erlangs, callers who almost never give up: Kummer sum ~ e^(10^5)
    over = erlang_a_metrics(72000, 240, 1e6, 4000, 15)
    assert over.p_wait == pytest.approx(1.0)
    assert over.answer_rate == pytest.approx(4000 / 4800, rel=1e-9)  # the seats' capacity
    assert over.occupancy == pytest.approx(1.0, rel=1e-9)
    # 5000 seats for 100 Erlangs: Erlang B underflows far below the smallest double
    idle = erlang_c_metrics(1200, 300, 5000, 15)
    assert idle.p_wait == 0.0
    assert idle.service_level == 1.0
    assert idle.occupancy == 0.02
    idle_a = erlang_a_metrics(1200, 300, 60, 5000, 15)
    assert idle_a.p_wait == 0.0
    assert idle_a.answer_rate == 1.0
    for m in (over, idle, idle_a):
        assert all(math.isfinite(v) for v in (m.p_wait, m.asa, m.service_level, m.occupancy))


# --- staffing: curve and least seats ---------------------------------------------------------


def _meets(m: QueueMetrics, answer: float, sl: float) -> bool:
    return m.answer_rate >= answer and m.service_level >= sl


@pytest.mark.parametrize(
    ("calls", "aht", "patience", "answer", "sl", "t"),
    [
        (600, 240, 120, 0.99, 0.8, 15),
        (200, 180, 60, 0.95, 0.9, 20),
        (72000, 240, 120, 0.99, 0.8, 15),
        (72000, 240, 30, 0.999, 0.5, 15),  # the answer rate decides here
        (30, 300, 90, 0.9, 0.2, 10),
    ],
)
def test_seats_needed_is_the_least_that_meets_both_targets(
    calls: float, aht: float, patience: float, answer: float, sl: float, t: float
) -> None:
    n = seats_needed(calls, aht, patience, answer, sl, t)
    assert _meets(erlang_a_metrics(calls, aht, patience, n, t), answer, sl)
    assert n == 1 or not _meets(erlang_a_metrics(calls, aht, patience, n - 1, t), answer, sl)


def test_seats_needed_erlang_c_uses_service_level_only() -> None:
    assert seats_needed(CALLS_PER_HOUR, AHT, None, 0.99, 0.85, 20) == 14
    assert seats_needed(CALLS_PER_HOUR, AHT, None, None, 0.9, 20) == 15
    assert seats_needed(CALLS_PER_HOUR, AHT, None, None, None, 20) == 11  # just stable


def test_seats_needed_reports_an_unreachable_target() -> None:
    with pytest.raises(TargetNotReachedError, match="12 seats"):
        seats_needed(CALLS_PER_HOUR, AHT, 60, 0.999, 0.8, 20, max_seats=12)


def test_staffing_curve_rows() -> None:
    rows = staffing_curve(600, 240, 120, 15)
    assert [r.seats for r in rows] == list(range(40, rows[-1].seats + 1))
    assert rows[-1].seats > seats_needed(600, 240, 120, 0.99, 0.8, 15)
    for r in rows:
        assert r == erlang_a_metrics(600, 240, 120, r.seats, 15)
    for lo, hi in zip(rows[:30], rows[1:30], strict=False):  # before the figures round to 1
        assert hi.answer_rate > lo.answer_rate
        assert hi.service_level > lo.service_level
        assert hi.asa < lo.asa
        assert hi.occupancy < lo.occupancy
        assert hi.p_wait < lo.p_wait
    c_rows = staffing_curve(CALLS_PER_HOUR, AHT, None, 20, min_seats=14, max_seats=15)
    assert c_rows == [erlang_c_metrics(CALLS_PER_HOUR, AHT, n, 20) for n in (14, 15)]
    assert staffing_curve(CALLS_PER_HOUR, AHT, None, 20)[0].seats == 11
    with pytest.raises(ValueError, match="below min_seats"):
        staffing_curve(CALLS_PER_HOUR, AHT, 60, 20, min_seats=20, max_seats=19)


# --- the pyworkforce package's ErlangC -------------------------------------------------------


@pytest.mark.parametrize(
    ("calls_per_hour", "aht", "t"),
    [(200, 180, 20), (600, 240, 15), (72000, 240, 15), (1234, 317, 30)],
)
def test_erlang_c_agrees_with_pyworkforce(calls_per_hour: float, aht: float, t: float) -> None:
    from pyworkforce.queuing import ErlangC

    # pyworkforce counts minutes: transactions per interval, aht and the SL time in minutes
    pw = ErlangC(transactions=calls_per_hour, aht=aht / 60, asa=t / 60, interval=60)
    load = offered_load(calls_per_hour, aht)
    assert pw.intensity == pytest.approx(load, rel=1e-12)
    low = math.floor(load) + 1
    for n in (low, low + 1, low + 3, round(load + 2 * math.sqrt(load)) + 1):
        m = erlang_c_metrics(calls_per_hour, aht, n, t)
        assert m.p_wait == pytest.approx(pw.waiting_probability(n), rel=1e-9)
        assert m.service_level == pytest.approx(pw.service_level(n), rel=1e-9)
        assert m.occupancy == pytest.approx(pw.achieved_occupancy(n), rel=1e-12)
    for target in (0.5, 0.8, 0.95):
        expected = pw.required_positions(service_level=target)["raw_positions"]
        assert seats_needed(calls_per_hour, aht, None, None, target, t) == expected
