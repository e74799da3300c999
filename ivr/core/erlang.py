"""Erlang B, C and A: the figures of a queue with n seats, from the standard library alone.

Units, everywhere: arrival rates are **calls per hour**; AHT, patience, the service-level
threshold ``t`` and every wait are in **seconds**; the offered load ``A = calls_per_hour *
aht / 3600`` is in Erlangs. Pure maths: no I/O, nothing imported beyond the standard library.

Erlang C (M/M/n, nobody hangs up). Erlang B by the stable recursion ``B_0 = 1``,
``B_k = A B_{k-1} / (k + A B_{k-1})`` (in log space once it gets tiny, so it never
underflows); ``C = n B / (n - A (1 - B))``, ``ASA = C AHT / (n - A)``,
``SL(t) = 1 - C exp(-(n - A) t / AHT)``, occupancy ``A / n``.

Erlang A (M/M/n+M, exponential patience; Mandelbaum & Zeltyn, "The Palm/Erlang-A queue").
With ``mu = 1/AHT``, ``theta = 1/patience``, ``x = n mu / theta``, ``y = lambda / theta``,
``E = B(n, A)`` and ``w_j = y^j / ((x+1)...(x+j)) = pi_{n+j} / pi_n``, the constant
``Acal = x e^y y^-x gamma(x, y)`` is the Kummer series ``sum_j w_j``; we sum it in log
space around its largest term (no incomplete gamma, no overflow at n = 5000 or beyond).
``P(wait) = Acal E / (1 + (Acal - 1) E)``. A caller who finds ``j`` callers queued reaches
a seat after ``V_j``, the time of the (j+1)-th death among ``x + j`` Exp(theta) clocks,
so ``P(V_j <= s) = I_p(j+1, x)`` with ``p = 1 - e^(-theta s)`` (regularised incomplete
beta); she is answered iff ``V_j`` beats her own Exp(theta) patience. Hence:

- ``P(abandon | j) = (j+1) / (x+j+1)``, summed over ``w_j`` (equals Mandelbaum &
  Zeltyn's ``P(Ab | W > 0) = 1/(rho Acal) + 1 - 1/rho``);
- ASA (mean wait of *answered* calls): ``E[V_j; answered] = x H_j / (theta (x+j+1))``,
  ``H_j = sum_{i=1}^{j+1} 1/(x+i)``;
- service level = P(answered within t) over all offered calls (calls that abandon
  count as not answered); summing ``I_p`` over ``w_j`` gives the closed form
  ``pi_n [J(y) - J(y e^(-theta t))]`` with ``J(z) = x e^y y^-(x+1) gamma(x+1, z)``,
  the incomplete-gamma form of Mandelbaum & Zeltyn, again summed as a Kummer series.

The tests check all of it against a truncated birth-death chain solved numerically.
Which seat count meets a target is searched in :mod:`ivr.core.staffing`.
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass

SECONDS_PER_HOUR = 3600.0
_EPS = 1e-17
_FLOOR = 1e-280


@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state figures of one queue with a given number of seats."""

    model: str  # "erlang-a" or "erlang-c"
    seats: int
    load: float  # offered load, Erlangs
    p_wait: float  # P(a caller finds every seat busy)
    p_abandon: float  # P(a caller hangs up before an answer)
    answer_rate: float  # 1 - p_abandon
    asa: float  # mean wait of answered calls, seconds
    mean_wait: float  # mean time in queue of all calls (answered or not), seconds
    service_level: float  # share of offered calls answered within sl_seconds
    sl_seconds: float
    occupancy: float  # busy share of seat time


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be a positive finite number, got {value!r}")


def offered_load(calls_per_hour: float, aht: float) -> float:
    """Offered load in Erlangs for an arrival rate per hour and an AHT in seconds."""
    _check_positive(calls_per_hour=calls_per_hour, aht=aht)
    return calls_per_hour * aht / SECONDS_PER_HOUR


def _log_erlang_b(load: float) -> Iterator[float]:
    """Yield log B(k, load) for k = 0, 1, 2, ..."""
    b, log_b, log_a, k = 1.0, 0.0, math.log(load), 0
    yield 0.0
    while True:
        k += 1
        ab = load * b
        if ab > _FLOOR:
            b = ab / (k + ab)
            log_b = math.log(b)
        else:  # B is vanishingly small: carry on in logs, exactly the same recursion
            log_b = log_a + log_b - math.log(k + ab)
            b = math.exp(log_b)
        yield log_b


def _log_b_at(seats: int, load: float) -> float:
    for k, log_b in enumerate(_log_erlang_b(load)):
        if k == seats:
            return log_b
    raise AssertionError("unreachable")  # pragma: no cover


def _check_seats(seats: int) -> None:
    if seats < 1:
        raise ValueError(f"seats must be at least 1, got {seats!r}")


def erlang_b(seats: int, load: float) -> float:
    """Blocking probability of n seats and no queue (Erlang B) for a load in Erlangs."""
    _check_seats(seats)
    _check_positive(load=load)
    return math.exp(_log_b_at(seats, load))


def _c_from_b(seats: int, load: float, b: float) -> float:
    return 1.0 if seats <= load else seats * b / (seats - load * (1.0 - b))


def erlang_c(seats: int, load: float) -> float:
    """Probability that a caller waits in M/M/n (Erlang C); 1 when seats <= load."""
    return _c_from_b(seats, load, erlang_b(seats, load))


def erlang_c_asa(seats: int, load: float, aht: float) -> float:
    """Average speed of answer in seconds under Erlang C (inf when seats <= load)."""
    c = erlang_c(seats, load)
    return math.inf if seats <= load else c * aht / (seats - load)


def erlang_c_service_level(seats: int, load: float, aht: float, sl_seconds: float) -> float:
    """Share of calls answered within sl_seconds under Erlang C (0 when seats <= load)."""
    c = erlang_c(seats, load)
    return 0.0 if seats <= load else 1.0 - c * math.exp(-(seats - load) * sl_seconds / aht)


def occupancy(seats: int, load: float) -> float:
    """Busy share of seat time under Erlang C, capped at 1."""
    _check_seats(seats)
    return min(1.0, load / seats)


def _erlang_c_metrics(seats: int, load: float, aht: float, t: float, log_b: float) -> QueueMetrics:
    if seats <= load:  # unstable: the queue grows for ever, only seats/load get answered
        answered = seats / load
        return QueueMetrics("erlang-c", seats, load, 1.0, 1.0 - answered, answered,
                            math.inf, math.inf, 0.0, t, 1.0)
    c = _c_from_b(seats, load, math.exp(log_b))
    asa = c * aht / (seats - load)
    sl = 1.0 - c * math.exp(-(seats - load) * t / aht)
    return QueueMetrics("erlang-c", seats, load, c, 0.0, 1.0, asa, asa, sl, t, load / seats)


def _harmonic(x: float, m: int) -> float:
    """Return sum_{i=1}^{m} 1/(x+i)."""
    if m <= 512:
        return math.fsum(1.0 / (x + i) for i in range(1, m + 1))
    return _digamma(x + m + 1) - _digamma(x + 1)


def _digamma(v: float) -> float:
    shift = 0.0
    while v < 12.0:
        shift -= 1.0 / v
        v += 1.0
    f = 1.0 / (v * v)
    tail = f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f / 132))))
    return shift + math.log(v) - 0.5 / v - tail


def _log_kummer(a: float, z: float) -> float:
    """Return log sum_{k>=0} z^k / ((a+1)...(a+k)), summed outwards from the largest term."""
    if z <= 0.0:
        return 0.0
    top = max(0, math.floor(z - a))
    log_top = top * math.log(z) - (math.lgamma(a + 1 + top) - math.lgamma(a + 1)) if top else 0.0
    total, term, k = 1.0, 1.0, top
    while True:  # upwards: ratio z/(a+k) falls below 1 and keeps falling
        k += 1
        r = z / (a + k)
        term *= r
        total += term
        if r < 1.0 and term * r < _EPS * total * (1.0 - r):
            break
    term, k = 1.0, top
    while k > 0:  # downwards: ratio (a+k)/z <= 1 and keeps falling
        r = (a + k) / z
        term *= r
        total += term
        k -= 1
        if r < 1.0 and term * r < _EPS * total * (1.0 - r):
            break
    return log_top + math.log(total)


def _queue_sums(x: float, y: float) -> tuple[float, float, float, float]:
    """Return (log scale, sum w_j, sum w_j (j+1)/(x+j+1), sum w_j x H_j/(x+j+1)) / e^scale."""
    top = max(0, math.floor(y - x))
    log_top = top * math.log(y) - (math.lgamma(x + 1 + top) - math.lgamma(x + 1)) if top else 0.0
    h_top = _harmonic(x, top + 1)
    d = x + top + 1
    s0, s_ab, s_w = 1.0, (top + 1) / d, x * h_top / d
    w, h, j = 1.0, h_top, top
    while True:
        j += 1
        r = y / (x + j)
        w *= r
        d = x + j + 1
        h += 1.0 / d
        s0 += w
        s_ab += w * (j + 1) / d
        s_w += w * x * h / d
        if r < 1.0 and w * r < _EPS * s0 * (1.0 - r):
            break
    w, h, j = 1.0, h_top, top
    while j > 0:
        r = (x + j) / y
        h -= 1.0 / (x + j + 1)
        w *= r
        j -= 1
        d = x + j + 1
        s0 += w
        s_ab += w * (j + 1) / d
        s_w += w * x * h / d
        if r < 1.0 and w * r < _EPS * s0 * (1.0 - r):
            break
    return log_top, s0, s_ab, s_w


def _erlang_a_metrics(
    seats: int, load: float, aht: float, patience: float, t: float, log_b: float
) -> QueueMetrics:
    x = seats * patience / aht
    y = load * patience / aht  # lambda / theta
    log_top, s0, s_ab, s_w = _queue_sums(x, y)
    log_acal = log_top + math.log(s0)
    b = math.exp(log_b)
    if b >= 1.0:
        p_wait = 1.0
    else:  # 1 / P(wait) = 1 + (1 - E) / (Acal E), kept in logs
        lr = math.log1p(-b) - log_acal - log_b
        p_wait = math.exp(-lr) / (1.0 + math.exp(-lr)) if lr > 0 else 1.0 / (1.0 + math.exp(lr))
    p_ab = p_wait * s_ab / s0
    answered = 1.0 - p_ab
    asa = p_wait * (s_w / s0) * patience / answered
    z = y * math.exp(-t / patience)
    if z > 0.0:  # J(z) / Acal, with log(z/y) = -t/patience exactly
        log_jz = (math.log(x / (x + 1)) + (y - z) - (x + 1) * t / patience
                  + _log_kummer(x + 1, z) - log_acal)
        jz = math.exp(log_jz) if log_jz < 0.0 else 1.0
    else:
        jz = 0.0
    served_by_t = min(1.0, max(0.0, 1.0 - s_ab / s0 - jz))
    sl = min(1.0, (1.0 - p_wait) + p_wait * served_by_t)
    return QueueMetrics("erlang-a", seats, load, p_wait, p_ab, answered, asa,
                        p_ab * patience, sl, t, load * answered / seats)


def erlang_c_metrics(
    calls_per_hour: float, aht: float, seats: int, sl_seconds: float
) -> QueueMetrics:
    """Erlang C figures (P(wait), ASA, SL, occupancy) for n seats."""
    load = offered_load(calls_per_hour, aht)
    _check_seats(seats)
    _check_nonnegative(sl_seconds)
    return _erlang_c_metrics(seats, load, aht, sl_seconds, _log_b_at(seats, load))


def erlang_a_metrics(
    calls_per_hour: float, aht: float, patience: float, seats: int, sl_seconds: float
) -> QueueMetrics:
    """Erlang A figures (P(wait), P(abandon), answer rate, ASA, SL, occupancy) for n seats."""
    load = offered_load(calls_per_hour, aht)
    _check_positive(patience=patience)
    _check_seats(seats)
    _check_nonnegative(sl_seconds)
    return _erlang_a_metrics(seats, load, aht, patience, sl_seconds, _log_b_at(seats, load))


def _check_nonnegative(sl_seconds: float) -> None:
    if not (sl_seconds >= 0 and math.isfinite(sl_seconds)):
        raise ValueError(f"sl_seconds must be a finite number >= 0, got {sl_seconds!r}")


def metrics_over(
    start: int, stop: int, calls_per_hour: float, aht: float, patience: float | None,
    sl_seconds: float,
) -> Iterator[QueueMetrics]:
    """Figures for seats start..stop, lazily, on one Erlang B recursion: A with a patience, else C."""
    load = offered_load(calls_per_hour, aht)
    if patience is not None:
        _check_positive(patience=patience)
    _check_nonnegative(sl_seconds)
    _check_seats(start)
    for n, log_b in enumerate(_log_erlang_b(load)):
        if n > stop:
            return
        if n < start:
            continue
        if patience is None:
            yield _erlang_c_metrics(n, load, aht, sl_seconds, log_b)
        else:
            yield _erlang_a_metrics(n, load, aht, patience, sl_seconds, log_b)
