"""What ``ivr simulate`` prints: figures per queue and per line, checks, Erlang A.

:func:`summary` turns a :class:`~ivr.sim.result.SimResult` into plain data (the
``--json`` output); :func:`erlang` compares each queue with Erlang A (Erlang C when
callers never hang up) for the same inputs, with the sampling error of the simulated
shares by batch means; :func:`render` lays both out as text tables.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from ivr.core.erlang import QueueMetrics, erlang_a_metrics, erlang_c_metrics
from ivr.sim.recorder import CallRecord
from ivr.sim.result import SimResult
from ivr.sim.stats import (
    Figures,
    answer_rate_of,
    batch_error,
    figures,
    occupancy,
    p_wait_of,
)


def _sl(result: SimResult) -> Any:
    roster = result.config.roster
    ids = {q.id for q in roster.queues}

    def sl(rec: CallRecord) -> float:
        return roster.queue(rec.queue).sl_seconds if rec.queue in ids else 15.0
    return sl


def window(result: SimResult) -> tuple[float, float]:
    """The stretch the Erlang comparison measures: the run without its warm-up.

    Theory is the steady state, but a run opens with every seat free: in the heavy-load
    test (50 seats, 50 Erlangs) the busy count climbs from 0 to ~46 over the first
    ten minutes, which cost the 8-hour occupancy 0.48 points against Erlang A and
    P(wait) one point; from minute 15 on, both agree within their error bars.
    """
    span = result.end - result.start
    return result.start + min(max(0.0, result.scenario.warmup), span / 4), result.end


def by_queue(result: SimResult, since: float | None = None) -> dict[str, Figures]:
    """Figures per queue (a call counts in the queue it ended in).

    ``since``: only calls that arrived from then on, occupancy from then on.
    """
    start = result.start if since is None else since
    groups: dict[str, list[CallRecord]] = defaultdict(list)
    for r in result.records:
        if r.queue and r.arrived >= start:
            groups[r.queue].append(r)
    out = {}
    for q in result.config.roster.queues:
        agents = [a for a in result.agents if a.queues and a.queues[0] == q.id]
        if not agents and q.id not in groups:
            continue
        out[q.id] = figures(groups.get(q.id, []), _sl(result),
                            occupancy(agents, start, result.end), len(agents))
    return out


def by_line(result: SimResult) -> dict[str, Figures]:
    """Figures per dialed line."""
    groups: dict[str, list[CallRecord]] = defaultdict(list)
    for r in result.records:
        groups[r.line].append(r)
    return {line: figures(recs, _sl(result)) for line, recs in sorted(groups.items())}


def summary(result: SimResult) -> dict[str, Any]:
    """The run as plain data: scenario, figures, checks and speed."""
    s = result.scenario
    total = figures(result.records, _sl(result), occupancy(result.agents, result.start,
                                                           result.end), len(result.agents))
    return {
        "scenario": {"hours": s.hours, "rates": s.rates, "aht": s.aht, "handle": s.handle,
                     "patience": s.patience, "ring_seconds": s.ring_seconds,
                     "no_answer": s.no_answer, "seed": s.seed, "flat_profile": s.flat,
                     "warmup": s.warmup},
        "queues": {q: f.as_dict() for q, f in by_queue(result).items()},
        "lines": {ln: f.as_dict() for ln, f in by_line(result).items()},
        "total": total.as_dict(),
        "checks": {"ok": not result.problems, "problems": result.problems[:50],
                   "problem_count": len(result.problems), "full_checks": result.full_checks,
                   "outcomes_verified": result.verified},
        "run": {"calls": len(result.records), "wall_seconds": round(result.wall_seconds, 2),
                "calls_per_second": round(result.calls_per_second, 1),
                "cpu_seconds": round(result.cpu_seconds, 2),
                "redis_cpu_seconds": (None if result.redis_cpu_seconds is None
                                      else round(result.redis_cpu_seconds, 2)),
                "events": result.events, "webhooks": result.requests, "sweeps": result.sweeps,
                "costs": result.costs, "cpu_costs": result.cpu_costs,
                "webhooks_by_prefix": result.prefixes},
    }


def realised(result: SimResult, queue: str) -> tuple[float, float] | None:
    """The run's own arrival rate (calls per hour) and mean talk time (s) for a queue.

    Both over the measured :func:`window` (calls that arrived in it).
    """
    cfg = result.config
    lines = {ln for ln in result.scenario.rates
             if (line := cfg.line(ln)) is not None and line.queue == queue}
    start, end = window(result)
    hours = (end - start) / 3600.0
    arrived = sum(1 for r in result.records if r.line in lines and start <= r.arrived < end)
    talks = [r.talk for r in result.records
             if r.queue == queue and r.answered is not None and r.arrived >= start]
    if not arrived or not talks or hours <= 0:
        return None
    return arrived / hours, sum(talks) / len(talks)


def theory(result: SimResult, queue: str, rate: float | None = None,
           talk: float | None = None) -> tuple[QueueMetrics, dict[str, float]] | None:
    """Erlang A (or C) for the queue's inputs: rate of its lines, seats, AHT, patience.

    ``rate`` and ``talk`` replace the scenario's arrival rate and mean talk time (to take
    theory at what a run actually drew).
    """
    s, cfg = result.scenario, result.config
    if rate is None:
        rate = sum(r for ln, r in s.rates.items()
                   if (line := cfg.line(ln)) is not None and line.queue == queue)
    seats = sum(1 for a in result.agents if a.queues and a.queues[0] == queue)
    if rate <= 0 or seats < 1:
        return None
    q = cfg.roster.queue(queue)
    aht = (s.aht if talk is None else talk) + q.wrapup_seconds + s.ring_seconds
    inputs = {"calls_per_hour": rate, "seats": seats, "aht": aht,
              "patience": s.patience or math.inf, "sl_seconds": q.sl_seconds}
    if s.patience:
        return erlang_a_metrics(rate, aht, s.patience, seats, q.sl_seconds), inputs
    return erlang_c_metrics(rate, aht, seats, q.sl_seconds), inputs


def erlang(result: SimResult) -> list[dict[str, Any]]:
    """Simulated against predicted figures for every queue that has traffic of its own.

    Each figure has ``theory`` for the scenario's inputs and ``realised``: theory at the
    run's own arrival rate and mean talk time, which takes the luck of the draw out of
    the comparison (at heavy load a 2% busier day moves P(wait) by five points).
    The simulated figures and the drawn inputs are over the :func:`window` (the run
    without its warm-up), since theory is the steady state.
    """
    rows = []
    start, end = window(result)
    figs = by_queue(result, start)
    for queue, fig in figs.items():
        found = theory(result, queue)
        if found is None or not fig.offered:
            continue
        m, inputs = found
        drawn = realised(result, queue)
        at = theory(result, queue, *drawn) if drawn is not None else None
        mr = at[0] if at is not None else None
        recs = [r for r in result.records if r.queue == queue and r.arrived >= start]
        notes = []
        if start > result.start:
            notes.append(f"the first {(start - result.start) / 60:g} min (warm-up: the "
                         "center opens empty) are left out of the simulated figures")
        if not result.scenario.flat:
            notes.append("arrival rates vary by hour: theory assumes a steady rate")
        if result.scenario.handle != "exponential":
            notes.append("handle times are not exponential")
        if inputs["aht"] != result.scenario.aht:
            notes.append("wrap-up and ring delay are counted in the AHT")

        def pair(sim: float | None, key: str, m: QueueMetrics = m,
                 mr: QueueMetrics | None = mr) -> dict[str, Any]:
            return {"sim": sim, "theory": getattr(m, key),
                    "realised": getattr(mr, key) if mr is not None else None}
        rows.append({
            "queue": queue, "model": m.model, "inputs": inputs, "notes": notes,
            "window": [round(start - result.start, 3), round(end - result.start, 3)],
            "realised_inputs": at[1] if at is not None else None,
            "answer_rate": {**pair(fig.answer_rate, "answer_rate"),
                            "error": batch_error(recs, start, end, answer_rate_of)},
            "p_wait": {**pair(fig.p_wait, "p_wait"),
                       "error": batch_error(recs, start, end, p_wait_of)},
            "within_sl": pair(fig.within_sl, "service_level"),
            "asa": pair(fig.avg_wait, "asa"),
            "occupancy": pair(fig.occupancy, "occupancy"),
        })
    return rows


def _f(v: Any, pct: bool = False, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return f"{100 * v:.1f}%" if pct else f"{v:.{digits}f}"


def _table(title: str, rows: dict[str, Any], seats: bool) -> list[str]:
    head = (f"{title:<12}" + (f"{'seats':>6}" if seats else "") +
            f"{'offered':>9}{'answered':>9}{'abandon':>8}{'answer':>8}{'<=SL':>7}"
            f"{'P(wait)':>8}{'avg wait':>9}{'p90 wait':>9}{'longest':>8}"
            + (f"{'occupancy':>10}" if seats else ""))
    out = [head]
    for name, f in rows.items():
        out.append(f"{name:<12}" + (f"{_f(f['seats']):>6}" if seats else "")
                   + f"{_f(f['offered']):>9}{_f(f['answered']):>9}{_f(f['abandoned']):>8}"
                   f"{_f(f['answer_rate'], True):>8}{_f(f['within_sl'], True):>7}"
                   f"{_f(f['p_wait'], True):>8}{_f(f['avg_wait']):>9}{_f(f['p90_wait']):>9}"
                   f"{_f(f['longest_wait'], digits=0):>8}"
                   + (f"{_f(f['occupancy'], True):>10}" if seats else ""))
    return out


def render(data: dict[str, Any], rows: list[dict[str, Any]] | None = None) -> str:
    """The summary (and the Erlang comparison) as text tables."""
    run, checks, sc = data["run"], data["checks"], data["scenario"]
    ok = ("all held" if checks["ok"] else f"{checks['problem_count']} PROBLEMS")
    lines = [f"Simulated {sc['hours']:g} h (seed {sc['seed']}): {run['calls']:,} calls in "
             f"{run['wall_seconds']:.1f} s wall clock ({run['calls_per_second']:.0f} calls/s, "
             f"{run['webhooks']:,} webhooks)",
             f"CPU: {run.get('cpu_seconds', 0.0):.1f} s in this process"
             + (f", {run['redis_cpu_seconds']:.1f} s in Redis"
                if run.get("redis_cpu_seconds") is not None else ""),
             f"Invariants: {ok} ({checks['full_checks']} full checks, "
             f"{checks['outcomes_verified']:,} call outcomes verified, counters compared)", ""]
    lines += _table("queue", data["queues"], True) + [""]
    lines += _table("line", data["lines"], False)
    for row in rows or []:
        i = row["inputs"]
        lines += ["", f"{row['model']} check, queue {row['queue']}: {i['calls_per_hour']:g} calls/h,"
                  f" {i['seats']} seats, AHT {i['aht']:g} s, patience {i['patience']:g} s"]
        lines.append(f"  {'':<12}{'simulated':>18}{'theory':>10}{'at drawn':>10}")
        for key, label in (("answer_rate", "answer rate"), ("p_wait", "P(wait)"),
                           ("within_sl", "within SL"), ("occupancy", "occupancy")):
            v = row[key]
            err = f" ± {100 * 2 * v['error']:.1f}" if math.isfinite(v.get("error", math.inf)) else ""
            lines.append(f"  {label:<12}{_f(v['sim'], True) + err:>18}{_f(v['theory'], True):>10}"
                         f"{_f(v.get('realised'), True):>10}")
        a = row["asa"]
        lines.append(f"  {'ASA (s)':<12}{_f(a['sim']):>18}{_f(a['theory']):>10}"
                     f"{_f(a.get('realised')):>10}")
        if row.get("realised_inputs"):
            r = row["realised_inputs"]
            lines.append(f"  (at drawn: theory at the run's own {r['calls_per_hour']:.1f} calls/h "
                         f"and AHT {r['aht']:.1f} s)")
        lines += [f"  note: {n}" for n in row["notes"]]
    if not checks["ok"]:
        lines += ["", "Problems:"] + [f"  {p}" for p in checks["problems"]]
    return "\n".join(lines)
