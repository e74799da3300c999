"""Several seeds of one scenario, run side by side on the machine's cores.

:func:`parse_seeds` reads ``1-8`` or ``1,3,5-7``. :func:`run_seeds` runs each seed in its
own worker process (``concurrent.futures.ProcessPoolExecutor``, spawned fresh, at most one
per core): each worker runs the whole simulation on its own scratch center (its own
throwaway Redis when no ``IVR_REDIS_URL`` is set) and sends back plain data, the
:func:`~ivr.sim.report.summary` of the run and, when asked, its Erlang comparison.
:func:`spread` reduces the runs to the mean, standard deviation, minimum and maximum of
every figure, and the standard error of the mean across seeds (runs with different seeds
are independent, so this error bar needs no assumption about correlation within a run).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import statistics
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from typing import Any

from ivr.core.config import CenterConfig
from ivr.settings import Settings
from ivr.sim.scenario import Scenario

FIGURES = ("offered", "answered", "abandoned", "answer_rate", "within_sl", "p_wait", "avg_wait",
           "p90_wait", "longest_wait", "occupancy")


def parse_seeds(text: str) -> list[int]:
    """Seeds from ``1-8``, ``7`` or ``1,3,5-7`` (sorted, without repeats)."""
    seeds: set[int] = set()
    for part in text.replace(" ", "").split(","):
        lo, sep, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi if sep else lo)
        except ValueError:
            raise ValueError(f"{part!r} is not a seed or a range of seeds like 1-8") from None
        if last < first:
            raise ValueError(f"{part!r}: the range runs backwards")
        if last - first >= 10_000:
            raise ValueError(f"{part!r}: at most 10,000 seeds")
        seeds.update(range(first, last + 1))
    return sorted(seeds)


def workers_for(n: int) -> int:
    """Worker processes for ``n`` runs: one per core the process may use, at most ``n``."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(n, cores or 1))


#: the CPU of this worker process (set by :func:`_take_cpu` when the pool starts it)
_worker_cpu: int | None = None


def _take_cpu(counter: Any, cpus: list[int]) -> None:
    """Pool initializer: each worker takes the next CPU, so no two share one."""
    global _worker_cpu
    with counter.get_lock():
        _worker_cpu = cpus[counter.value % len(cpus)]
        counter.value += 1


def run_one(scenario: Scenario, config: CenterConfig, settings: Settings,
            compare: bool = False, transport: str = "asgi", archive: bool = False,
            one_cpu: bool = True) -> dict[str, Any]:
    """One run as plain data: its summary, and its Erlang comparison when ``compare``.

    ``one_cpu``: the run and its throwaway Redis share one CPU, this worker's own.
    """
    from ivr.phone.cli import quiet_service
    from ivr.sim.cli import run_simulation
    from ivr.sim.report import erlang, summary

    with quiet_service():
        result = run_simulation(scenario, config, settings, transport, archive=archive,
                                one_cpu=one_cpu, cpu=_worker_cpu)
    data = summary(result)
    if compare:
        data["erlang"] = erlang(result)
    return data


def run_seeds(scenario: Scenario, config: CenterConfig, settings: Settings,
              seeds: Iterable[int], compare: bool = False, transport: str = "asgi",
              workers: int | None = None, archive: bool = False,
              one_cpu: bool = True) -> list[dict[str, Any]]:
    """Run the scenario once per seed in parallel processes; the runs in seed order.

    With ``one_cpu`` each worker process and its throwaway Redis keep to a CPU of their
    own (the workers take the allowed CPUs in turn).
    """
    seeds = list(seeds)
    jobs = [replace(scenario, seed=s) for s in seeds]
    n = workers or workers_for(len(jobs))
    context = multiprocessing.get_context("spawn")
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    with ProcessPoolExecutor(n, mp_context=context, initializer=_take_cpu,
                             initargs=(context.Value("i", 0), cpus)) as pool:
        futures = [pool.submit(run_one, job, config, settings, compare, transport, archive,
                               one_cpu)
                   for job in jobs]
        return [f.result() for f in futures]


def describe(values: list[float]) -> dict[str, float | int]:
    """Mean, standard deviation, standard error of the mean, min and max of some values."""
    n = len(values)
    sd = statistics.stdev(values) if n > 1 else math.nan
    return {"n": n, "mean": statistics.fmean(values), "sd": sd,
            "se": sd / math.sqrt(n) if n > 1 else math.nan,
            "min": min(values), "max": max(values)}


def _figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for name in FIGURES:
        values = [float(r[name]) for r in rows if r.get(name) is not None]
        if values:
            out[name] = describe(values)
    return out


def spread(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Every figure over the runs: per queue, per line, in total, and the run's speed."""
    queues = sorted({q for r in runs for q in r["queues"]})
    lines = sorted({ln for r in runs for ln in r["lines"]})
    return {
        "seeds": [r["scenario"]["seed"] for r in runs],
        "total": _figures([r["total"] for r in runs]),
        "queues": {q: _figures([r["queues"][q] for r in runs if q in r["queues"]])
                   for q in queues},
        "lines": {ln: _figures([r["lines"][ln] for r in runs if ln in r["lines"]])
                  for ln in lines},
        "checks_ok": all(r["checks"]["ok"] for r in runs),
        "problem_count": sum(r["checks"]["problem_count"] for r in runs),
        "wall_seconds": describe([r["run"]["wall_seconds"] for r in runs]),
        "calls": describe([float(r["run"]["calls"]) for r in runs]),
    }


def _cell(d: dict[str, Any] | None, pct: bool) -> str:
    if not d:
        return "-"
    k = 100.0 if pct else 1.0
    unit = "%" if pct else ""
    return f"{k * d['mean']:.1f}{unit} ± {k * d['sd']:.1f} [{k * d['min']:.1f}–{k * d['max']:.1f}]" \
        if d["n"] > 1 else f"{k * d['mean']:.1f}{unit}"


ROWS = (("offered", False), ("answer_rate", True), ("within_sl", True), ("p_wait", True),
        ("avg_wait", False), ("p90_wait", False), ("occupancy", True))


def render_spread(data: dict[str, Any]) -> str:
    """The spread as text: mean ± standard deviation [min–max] of each figure per queue."""
    sp = data["spread"]
    ok = "all held" if sp["checks_ok"] else f"{sp['problem_count']} PROBLEMS"
    wall, calls = sp["wall_seconds"], sp["calls"]
    out = [f"{len(sp['seeds'])} seeds ({sp['seeds'][0]}–{sp['seeds'][-1]}) on {data['workers']} "
           f"processes in {data['wall_seconds']:.1f} s wall clock; per run "
           f"{calls['mean']:,.0f} calls in {wall['mean']:.1f} s (max {wall['max']:.1f} s)",
           f"Invariants: {ok}", "", "mean ± sd [min–max] over the seeds"]
    groups = [("total", sp["total"])] + [(f"queue {q}", f) for q, f in sp["queues"].items()
                                         if f.get("offered", {}).get("max")]
    for title, figs in groups:
        out.append(title)
        out += [f"  {name:<12}{_cell(figs.get(name), pct)}" for name, pct in ROWS]
    for queue, fig in (data.get("erlang") or {}).items():
        if not fig:
            continue
        out += ["", f"Erlang check, queue {queue}: simulated minus theory at each run's drawn "
                    "rate and talk time, mean ± standard error across seeds"]
        for key, a in fig.items():
            k = 1.0 if key == "asa" else 100.0
            unit = " s" if key == "asa" else " pp"
            out.append(f"  {key:<12}{k * a['bias']:+.2f} ± {k * a['se']:.2f}{unit}"
                       f"   (simulated {k * a['sim']:.2f}, theory {k * a['theory']:.2f})")
    return "\n".join(out)


AGREEMENT = ("answer_rate", "p_wait", "within_sl", "asa", "occupancy")


def agreement(runs: list[dict[str, Any]], queue: str) -> dict[str, dict[str, float | int]]:
    """Simulated minus theory at each run's drawn rate and talk time, over the seeds.

    Per figure: the mean difference ``bias`` and its standard error ``se`` across seeds
    (independent runs), with the mean simulated and theoretical values.
    """
    rows = [row for r in runs for row in r.get("erlang", []) if row["queue"] == queue]
    out: dict[str, dict[str, float | int]] = {}
    for key in AGREEMENT:
        pairs = [(row[key]["sim"], row[key]["realised"]) for row in rows
                 if row[key]["sim"] is not None and row[key].get("realised") is not None]
        if len(pairs) < 2:
            continue
        d = describe([s - t for s, t in pairs])
        out[key] = {"n": d["n"], "bias": d["mean"], "se": d["se"],
                    "sim": statistics.fmean(s for s, _ in pairs),
                    "theory": statistics.fmean(t for _, t in pairs)}
    return out
