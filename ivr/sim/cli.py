"""``ivr simulate``: a day of traffic through the real app, in seconds."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from ivr.config import load
from ivr.core.config import CenterConfig
from ivr.core.errors import ConfigError
from ivr.phone.cli import quiet_service
from ivr.phone.service import scratch_redis, scratch_settings
from ivr.settings import Settings
from ivr.sim.engine import Simulation
from ivr.sim.plot import missing_matplotlib
from ivr.sim.report import erlang, render, summary
from ivr.sim.result import SimResult
from ivr.sim.scenario import (
    PROFILES,
    Scenario,
    default_rates,
    normalised,
    textbook_config,
    with_seats,
)
from ivr.sim.seeds import agreement, parse_seeds, render_spread, run_seeds, spread, workers_for


def _pairs(values: tuple[str, ...], what: str) -> dict[str, float]:
    out = {}
    for item in values:
        key, sep, num = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = float(num)
        except ValueError:
            raise click.BadParameter(f"{item!r} is not {what}=NUMBER") from None
    return out


def _profile(name: str) -> tuple[float, ...]:
    if name in PROFILES:
        return PROFILES[name]
    path = Path(name)
    if not path.is_file():
        raise click.BadParameter(f"{name!r} is neither {', '.join(PROFILES)} nor a file")
    from ivr.config import load_yaml

    doc = load_yaml(path)
    weights = [doc[h] for h in range(24)] if isinstance(doc, dict) else doc
    try:
        return normalised([float(w) for w in weights])
    except (TypeError, ValueError, KeyError) as exc:
        raise click.BadParameter(f"{name}: {exc}") from None


# How long an ended call's record stays in the scratch Redis, in wall-clock seconds (Redis
# expires keys on its own clock, not the simulation's): long enough that a machine busy
# with other work never expires a record before the next outcome check reads it.
SIM_RETENTION_SECONDS = 3600


def run_simulation(scenario: Scenario, config: CenterConfig, settings: Settings,
                   transport: str = "asgi", progress: bool = False,
                   archive: bool = False, uvloop: bool = True,
                   dialect: str = "twilio", one_cpu: bool = True,
                   cpu: int | None = None) -> SimResult:
    """Run a simulation on a scratch center of IVR_REDIS_URL or a throwaway Redis.

    ``one_cpu``: a throwaway Redis runs on the same CPU as this process (``cpu``, default
    the one it is on; see :func:`ivr.phone.service.sharing_one_cpu`): the two take turns,
    and handing over between CPUs costs more than it gains.

    The archive consumer (``IVR_ARCHIVE``) stays off unless ``archive``: it is a reader of
    the event stream beside the call path, on the wall clock, and costs more than the
    rest of the service together; with it on, it writes into a throwaway SQLite file.
    """
    async def go() -> SimResult:
        with scratch_redis(settings.redis_url, one_cpu=one_cpu, cpu=cpu) as url, \
                tempfile.TemporaryDirectory(prefix="ivr-sim-") as data:
            local = scratch_settings(settings, url, "sim").model_copy(
                update={"call_retention_seconds": SIM_RETENTION_SECONDS, "archive": archive,
                        "data_dir": Path(data)})
            if not progress:
                return await Simulation(scenario, config, local, transport,
                                        dialect=dialect).run()
            total = int(scenario.hours * 3600)
            with click.progressbar(length=total, label="simulating", file=sys.stderr,
                                   show_eta=True) as bar:
                done = [0]

                def tick(seconds: float) -> None:
                    step = int(seconds) - done[0]
                    if step > 0:
                        bar.update(step)
                        done[0] += step
                return await Simulation(scenario, config, local, transport, tick,
                                        dialect=dialect).run()
    with asyncio.Runner(loop_factory=_loop_factory() if uvloop else None) as runner:
        return runner.run(go())


def _loop_factory() -> Any:
    """The event loop factory: uvloop's when it is installed, else asyncio's (None)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return None
    return uvloop.new_event_loop


@click.command("simulate")
@click.option("--hours", type=float, default=24.0, show_default=True,
              help="Simulated hours of arrivals.")
@click.option("--rate", "rates", multiple=True, metavar="LINE=PER_HOUR",
              help="Poisson arrivals per line (daily average per hour with a profile). "
                   "Default: 12345 at 85% seat occupancy.")
@click.option("--seats", multiple=True, metavar="QUEUE=N",
              help="Seats in a queue (others as configured in seats/).")
@click.option("--single-queue", type=int, default=None, metavar="N",
              help="Instead of the config: one line straight into one queue of N seats "
                   "(the textbook Erlang A setting).")
@click.option("--aht", type=float, default=240.0, show_default=True,
              help="Mean handle (talk) time, seconds.")
@click.option("--handle", type=click.Choice(["exponential", "lognormal"]),
              default="exponential", show_default=True, help="Handle time distribution.")
@click.option("--handle-cv", type=float, default=1.0, show_default=True,
              help="Coefficient of variation of lognormal handle times.")
@click.option("--patience", type=float, default=180.0, show_default=True,
              help="Mean patience (exponential), seconds; 0: callers never hang up.")
@click.option("--ring", type=float, default=2.0, show_default=True,
              help="Mean seconds a seat lets a call ring before answering.")
@click.option("--no-answer", type=float, default=0.0, show_default=True,
              help="Probability that a seat lets a call ring out.")
@click.option("--profile", default="flat", show_default=True,
              help="Daily profile: flat, office, or a YAML file of 24 hourly weights.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
@click.option("--seeds", default=None, metavar="A-B[,C]",
              help="Run once per seed (e.g. 1-8), in parallel on all cores; print the mean "
                   "and spread of every figure.")
@click.option("--config-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Config folders (default: IVR_CONFIG_DIR or .).")
@click.option("--check-every", type=float, default=3600.0, show_default=True,
              help="Simulated seconds between full invariant checks in Redis.")
@click.option("--transport", type=click.Choice(["asgi", "httpx"]), default="asgi",
              show_default=True, help="Call the ASGI app directly, or through httpx.")
@click.option("--dialect", type=click.Choice(["twilio", "jambonz"]), default="twilio",
              show_default=True, help="Callers come in as Twilio (TwiML) or as jambonz "
                                      "(signed JSON, verb arrays) calls.")
@click.option("--archive", is_flag=True,
              help="Also run the archive consumer (event stream to a throwaway SQLite file).")
@click.option("--spread-cpus", is_flag=True,
              help="Let the simulation and its throwaway Redis run on different CPUs (by "
                   "default they share one: they take turns, and a hand-over between CPUs "
                   "costs more than it gains). A Redis at IVR_REDIS_URL is never moved.")
@click.option("--compare-erlang", is_flag=True, help="Compare each queue with Erlang A.")
@click.option("--warmup", type=float, default=1800.0, show_default=True,
              help="Simulated seconds at the start that --compare-erlang leaves out (the "
                   "center opens empty; at most a quarter of the run).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Draw queue length and answer rate over time into this PNG file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def simulate(hours: float, rates: tuple[str, ...], seats: tuple[str, ...],
             single_queue: int | None, aht: float, handle: str, handle_cv: float,
             patience: float, ring: float, no_answer: float, profile: str, seed: int,
             seeds: str | None, config_dir: Path | None, check_every: float, transport: str,
             dialect: str, archive: bool, spread_cpus: bool, compare_erlang: bool,
             warmup: float, as_json: bool, plot: Path | None, quiet: bool) -> None:
    """Simulate traffic through the real app and its Redis ACD on a virtual clock.

    Callers dial the real webhooks (signed, as Twilio), seats use the seat API; the
    invariants are asserted while it runs. Exits 1 if any invariant broke.
    """
    settings = Settings()
    if plot is not None and (why := missing_matplotlib()):  # before the run, not after it
        raise click.UsageError(why)
    try:
        if single_queue is not None:
            config = textbook_config(single_queue, aht)
        else:
            config = with_seats(load(config_dir or settings.config_dir),
                                {q: int(n) for q, n in _pairs(seats, "QUEUE").items()})
    except (ConfigError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    per_hour = _pairs(rates, "LINE") or default_rates(config, aht)
    unknown = [ln for ln in per_hour if config.line(ln) is None]
    if unknown:
        raise click.UsageError(f"no such line: {', '.join(unknown)}")
    scenario = Scenario(rates=per_hour, hours=hours, aht=aht, handle=handle,
                        handle_cv=handle_cv, patience=patience or None, ring_seconds=ring,
                        no_answer=no_answer, profile=_profile(profile), seed=seed,
                        check_every=check_every, warmup=warmup)
    if seeds is not None:
        if dialect != "twilio":
            raise click.UsageError("--seeds runs Twilio callers only; leave out --dialect")
        _many(scenario, config, settings, seeds, transport, compare_erlang, as_json, archive,
              not spread_cpus)
        return
    with quiet_service():
        result = run_simulation(scenario, config, settings, transport,
                                progress=not quiet and not as_json, archive=archive,
                                dialect=dialect, one_cpu=not spread_cpus)
    data: dict[str, Any] = summary(result)
    rows = erlang(result) if compare_erlang else None
    if rows is not None:
        data["erlang"] = rows
    if plot is not None:
        from ivr.sim.plot import plot as draw

        draw(result, plot)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))
    else:
        click.echo(render(data, rows))
        if plot is not None:
            click.echo(f"\nplot written to {plot}")
    sys.exit(0 if data["checks"]["ok"] else 1)


def _many(scenario: Scenario, config: CenterConfig, settings: Settings, seeds: str,
          transport: str, compare: bool, as_json: bool, archive: bool, one_cpu: bool) -> None:
    """``--seeds``: every seed in its own process; the spread of the figures."""
    try:
        chosen = parse_seeds(seeds)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--seeds") from None
    wall = time.perf_counter()
    runs = run_seeds(scenario, config, settings, chosen, compare, transport, archive=archive,
                     one_cpu=one_cpu)
    data: dict[str, Any] = {"spread": spread(runs), "runs": runs,
                            "wall_seconds": round(time.perf_counter() - wall, 2),
                            "workers": workers_for(len(chosen))}
    if compare:
        data["erlang"] = {q: agreement(runs, q) for q in data["spread"]["queues"]}
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))
    else:
        click.echo(render_spread(data))
    sys.exit(0 if data["spread"]["checks_ok"] else 1)
