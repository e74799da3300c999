"""``ivr archive`` (run the consumer alone, migrate, status) and ``ivr report``."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from ivr.settings import Settings


async def _engine(settings: Settings) -> Any:
    from ivr.archive.db import database_url, make_engine, migrate

    engine = make_engine(database_url(settings))
    await migrate(engine)
    return engine


async def _engine_when_up(settings: Settings) -> Any:
    """The migrated engine, waiting for a database that is away (a consumer outlives outages)."""
    delay = 0.5
    while True:
        try:
            return await _engine(settings)
        except (OSError, ConnectionError, Exception) as exc:  # noqa: BLE001 - any driver error
            click.echo(f"archive database not ready ({type(exc).__name__}); retrying", err=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def _consume(settings: Settings, once: bool) -> int:
    from ivr.archive.consumer import Archiver
    from ivr.archive.service import keep_retention, stream_client
    from ivr.store.connection import open_server
    from ivr.store.keys import Keys

    if not settings.redis_url:
        raise click.UsageError("the archive consumer needs the service's Redis: set IVR_REDIS_URL")
    server = open_server(settings.redis_url, settings.data_dir)
    engine = await (_engine(settings) if once else _engine_when_up(settings))
    redis = stream_client(server.url, settings)
    archiver = Archiver(redis, Keys(settings.center), engine,
                        short_ms=int(settings.short_abandon_seconds * 1000),
                        batch=settings.archive_batch,
                        claim_idle_ms=int(settings.archive_claim_idle_seconds * 1000))
    try:
        if once:
            await archiver.start()
            return await archiver.drain()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        click.echo(f"archiving center {settings.center} as consumer {archiver.name}")
        prune = asyncio.create_task(keep_retention(engine, settings))
        try:
            await archiver.run(stop)
        finally:
            prune.cancel()
            await asyncio.gather(prune, return_exceptions=True)
        return archiver.totals.events
    finally:
        await redis.aclose()
        await engine.dispose()


async def _prune(settings: Settings) -> tuple[int, int]:
    from ivr.archive.service import apply_retention

    engine = await _engine(settings)
    try:
        return await apply_retention(engine, settings, int(time.time() * 1000))
    finally:
        await engine.dispose()


@click.group("archive", invoke_without_command=True)
@click.option("--once", is_flag=True, help="Archive what is in the stream now, then exit.")
@click.option("--prune", is_flag=True, help="Apply the retention now (IVR_ARCHIVE_RETENTION_DAYS, "
              "IVR_ARCHIVE_CALLER_DAYS), then exit. The consumer also does it every 6 h.")
@click.pass_context
def archive(ctx: click.Context, once: bool, prune: bool) -> None:
    """Run an archive consumer (stream -> database) on its own; see also the subcommands."""
    if ctx.invoked_subcommand is not None:
        return
    settings = Settings()
    if prune:
        gone, erased = asyncio.run(_prune(settings))
        click.echo(f"retention: deleted {gone} call records older than "
                   f"{settings.archive_retention_days} days; erased {erased} callers older than "
                   f"{settings.archive_caller_days} days")
        return
    n = asyncio.run(_consume(settings, once))
    click.echo(f"archived {n} events")


@archive.command("migrate")
def migrate_cmd() -> None:
    """Bring the archive database's schema up to date (Alembic)."""
    from ivr.archive.db import current_revision, database_url

    async def go() -> str | None:
        engine = await _engine(Settings())
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    click.echo(f"{database_url(Settings()).split('@')[-1]}: at revision {asyncio.run(go())}")


@archive.command("status")
def status_cmd() -> None:
    """Print the event stream's length and the archive's lag as JSON."""
    from redis.asyncio import Redis

    from ivr.archive.lag import archive_lag
    from ivr.store.keys import Keys

    settings = Settings()
    if not settings.redis_url:
        raise click.UsageError("set IVR_REDIS_URL to the service's Redis")

    async def go() -> dict[str, Any]:
        redis = Redis.from_url(settings.redis_url or "", decode_responses=True)
        try:
            return await archive_lag(redis, Keys(settings.center), int(time.time() * 1000))
        finally:
            await redis.aclose()

    click.echo(json.dumps(asyncio.run(go())))


def _table(rep: dict[str, Any]) -> str:
    from ivr.archive.reports import table

    cols = ["key", "name", "offered", "answered", "abandoned", "abandoned_short", "answer_rate",
            "connection_rate_15s", "asa_seconds", "wait_p90_seconds", "aht_seconds",
            "talk_max_seconds", "response_rate", "resolution_rate", "satisfaction_rate"]
    rows = table(rep)
    idx = [rows[0].index(c) for c in cols]
    text = [[("" if r[i] is None else f"{r[i]:.1%}" if isinstance(r[i], float) and r[i] <= 1
              and "rate" in cols[k] else str(r[i])) for k, i in enumerate(idx)] for r in rows[1:]]
    widths = [max(len(c), *(len(t[k]) for t in text)) for k, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(t.ljust(w) for t, w in zip(r, widths, strict=True)) for r in text]
    return "\n".join(lines)


@click.command("report")
@click.option("--group", type=click.Choice(["center", "line", "department", "queue", "seat",
                                            "hour"]), default="center", show_default=True)
@click.option("--period", type=click.Choice(["day", "week", "month", "quarter", "year",
                                             "range"]), default="month", show_default=True)
@click.option("--value", help="2027-01-11, 2027-W02, 2027-01, 2027-Q1 or 2027 (default: now).")
@click.option("--from", "start", help="Range start (YYYY-MM-DD).")
@click.option("--to", "end", help="Range end (YYYY-MM-DD, included).")
@click.option("--source", type=click.Choice(["rollups", "raw"]), default="rollups")
@click.option("--rank", is_flag=True, help="Rank the rows (by the mean of the three rates).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "xlsx"]),
              default="table")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (xlsx needs one).")
def report(group: str, period: str, value: str | None, start: str | None, end: str | None,
           source: str, rank: bool, fmt: str, output: Path | None) -> None:
    """Print a report from the archive: any period, grouped, as a table, JSON, CSV or XLSX."""
    from ivr.archive import reports as rep
    from ivr.archive.periods import PeriodError, parse_period
    from ivr.config import load

    settings = Settings()
    try:
        p = parse_period(period, value, start, end, today_ms=int(time.time() * 1000))
    except PeriodError as exc:
        raise click.BadParameter(str(exc)) from exc
    if fmt == "xlsx" and output is None:
        raise click.UsageError("--format xlsx needs --output FILE")
    cfg = load(settings.config_dir)
    names = ({ln.number: ln.name for ln in cfg.plan.lines} | {q.id: q.name for q in cfg.roster.queues}
             | {s.id: s.name or s.id for s in cfg.roster.seats})
    depts = {ln.number: ln.department or rep.NO_DEPARTMENT for ln in cfg.plan.lines}

    async def go() -> dict[str, Any]:
        engine = await _engine(settings)
        try:
            return await rep.report(engine, settings.center, group, p,
                                    short_ms=int(settings.short_abandon_seconds * 1000),
                                    names=names, departments=depts, source=source)
        finally:
            await engine.dispose()

    result = asyncio.run(go())
    if rank:
        result["rows"] = rep.ranking(result["rows"])
    if fmt == "xlsx" and output is not None:
        output.write_bytes(rep.to_xlsx(result))
        click.echo(f"wrote {output}")
        return
    text = (json.dumps(result, ensure_ascii=False, indent=1) if fmt == "json"
            else rep.to_csv(result) if fmt == "csv" else _table(result))
    if output is not None:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        sys.stdout.write(text + "\n")
