"""The ``ivr`` command: run the service and work with its configuration."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ivr.settings import Settings

#: Seconds a worker of ``ivr serve --workers N`` may take to start and to answer a ping.
WORKER_START_SECONDS = 30


def settings_or_exit() -> Settings:
    """Settings from the environment, or a clean error naming each bad setting (no values)."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:  # hide_input_in_errors: its messages quote no input
        problems = [f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()]
        raise click.ClickException("invalid settings:\n  " + "\n  ".join(problems)) from None


@click.group()
def main() -> None:
    """12345 hotline call routing: Twilio webhooks, seat API and ACD on Redis."""


@main.command()
@click.option("--host", default=None, help="Interface to listen on (IVR_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (IVR_PORT).")
@click.option("--workers", type=int, default=None, help="Worker processes (IVR_WORKERS).")
@click.option("--demo", is_flag=True,
              help="Log in a few simulated seats that stay ready, so `ivr call --url` completes calls.")
def serve(host: str | None, port: int | None, workers: int | None, demo: bool) -> None:
    """Run the service with uvicorn (embedded Redis unless IVR_REDIS_URL is set)."""
    import uvicorn

    from ivr.logs import uvicorn_config

    settings = settings_or_exit()
    n = workers or settings.workers
    if n > 1 and not settings.redis_url:
        raise click.UsageError("several workers need a shared Redis: set IVR_REDIS_URL")
    host, port = host or settings.host, port or settings.port
    stop = None
    if demo:
        from ivr.phone.demo import serve_demo

        stop = serve_demo(settings, host, port)
    try:
        # A spawned worker imports this command (its __main__) before it answers uvicorn's
        # health pings; on a loaded host that took over uvicorn's 5 s and every worker was
        # killed and respawned for ever. Allow WORKER_START_SECONDS.
        uvicorn.run("ivr.asgi:app", host=host, port=port, workers=n, log_level=settings.log_level,
                    log_config=uvicorn_config(settings.log_level),
                    timeout_worker_healthcheck=WORKER_START_SECONDS)
    finally:
        if stop is not None:
            stop()


def _register() -> None:
    from ivr.archive.cli import archive, report
    from ivr.phone.cli import call
    from ivr.sim.cli import simulate
    from ivr.staffing import staffing

    for command in (call, simulate, staffing, archive, report):
        main.add_command(command)


_register()


@main.command("seat-token")
@click.argument("seat_id")
def seat_token_cmd(seat_id: str) -> None:
    """Print the bearer token of a seat (from IVR_SEAT_SECRET)."""
    from ivr.auth import seat_token

    click.echo(seat_token(Settings().seat_secret, seat_id))


@main.group()
def config() -> None:
    """Validate, export and import the config (flows/, numbers/, seats/)."""


@config.command("validate")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
                default=".")
def config_validate(directory: Path) -> None:
    """Validate flows/, numbers/ and seats/ under DIRECTORY; list every problem."""
    from ivr.config import load
    from ivr.core.errors import ConfigError

    try:
        cfg = load(directory)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    click.echo(f"ok: {len(cfg.plan.lines)} lines, {len(cfg.flows.current)} flows, "
               f"{len(cfg.roster.queues)} queues, {len(cfg.roster.seats)} seats "
               f"(version {cfg.version})")


@config.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def config_export(directory: Path) -> None:
    """Write the running center's config (from Redis) as YAML folders under DIRECTORY."""
    import asyncio

    from ivr.config import export_config

    try:
        files = asyncio.run(export_config(Settings(), directory))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in files:
        click.echo(f"wrote {path}")


@config.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def config_import(directory: Path) -> None:
    """Validate DIRECTORY and make it the running center's config (all workers reload)."""
    import asyncio

    from ivr.config import import_config
    from ivr.core.errors import ConfigError

    try:
        version = asyncio.run(import_config(Settings(), directory))
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    click.echo(f"imported {directory}: config version {version}")
