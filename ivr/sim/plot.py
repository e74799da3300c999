"""``--plot FILE.png``: queue length and answer rate over the simulated time (matplotlib)."""

from __future__ import annotations

from pathlib import Path

from ivr.sim.result import SimResult
from ivr.sim.stats import series_answer_rate


def missing_matplotlib() -> str | None:
    """Why ``--plot`` cannot draw here (matplotlib is an optional extra), or None."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ("--plot needs matplotlib, an optional extra: pip install 'ivr12345[plot]' "
                "(in a checkout: make setup, or uv sync --extra plot)")
    return None


def plot(result: SimResult, path: Path) -> None:
    """Draw callers waiting and busy seats per queue, and the answer rate per 15 minutes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    hours = [s.t / 3600.0 for s in result.samples]
    queues = sorted({q for s in result.samples for q in (*s.waiting, *s.busy)})
    for q in queues:
        line = top.plot(hours, [s.waiting.get(q, 0) for s in result.samples],
                        label=f"{q}: waiting")[0]
        top.plot(hours, [s.busy.get(q, 0) for s in result.samples], linestyle=":",
                 color=line.get_color(), label=f"{q}: seats busy")
    top.set_ylabel("calls / seats")
    top.set_title("Callers waiting and seats busy")
    top.legend(loc="upper right", fontsize="small", ncol=2)
    series = series_answer_rate(result.records, result.start, result.end)
    xs = [t / 3600.0 for t, v in series if v is not None]
    ys = [100.0 * v for _, v in series if v is not None]
    bottom.step(xs, ys, where="post", label="answer rate per 15 min")
    bottom.axhline(99.0, color="grey", linestyle="--", linewidth=0.8, label="99% target")
    bottom.set_ylabel("answered / (answered + abandoned), %")
    bottom.set_xlabel("simulated hours")
    bottom.set_ylim(min([*ys, 90.0]) - 1.0, 100.5)
    bottom.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
