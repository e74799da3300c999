"""``ivr call NUMBER``: call the service from a terminal, as Twilio would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import click
import httpx

from ivr.phone.call import Input
from ivr.phone.run import CallOptions, place_call

TRANSFER_STATUSES = ("completed", "busy", "no-answer", "failed")


@contextlib.contextmanager
def quiet_service(quiet: bool = True) -> Iterator[None]:
    """Hide the in-process service's notices (warnings of the ``ivr`` logger) for a while."""
    logger = logging.getLogger("ivr")
    level = logger.level
    if quiet:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def wait_for_service(url: str, seconds: float) -> None:
    """Wait until the service at ``url`` answers its health check with 200 (at most ``seconds``)."""
    deadline = time.monotonic() + seconds
    said = False
    while True:
        try:
            if httpx.get(url.rstrip("/") + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() >= deadline:
            raise click.ClickException(f"no service answered at {url}/healthz within {seconds:g} s "
                                       "(start it first: ivr serve --demo)")
        if not said:
            click.echo(f"waiting for the service at {url} ...", err=True)
            said = True
        time.sleep(0.2)


def when(text: str) -> float:
    """Epoch seconds of an ISO date-time; without an offset it is Beijing time."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date-time like 2027-01-11 10:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    return moment.timestamp()


class _InputOrder(click.Command):
    """Remembers the order of --press and --say, so they answer menus in that order."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        order = []
        for arg in args:
            if arg == "--press" or arg.startswith("--press="):
                order.append("press")
            elif arg == "--say" or arg.startswith("--say="):
                order.append("say")
        ctx.meta["ivr.input_order"] = order
        return super().parse_args(ctx, args)


def scripted_inputs(order: list[str], presses: tuple[str, ...],
                    words: tuple[str, ...]) -> list[Input]:
    """--press and --say values as inputs, in command-line order."""
    p, s = iter(presses), iter(words)
    out = [Input(digits=next(p)) if kind == "press" else Input(speech=next(s))
           for kind in order]
    out += [Input(digits=d) for d in p] + [Input(speech=w) for w in s]
    return out


@click.command("call", cls=_InputOrder)
@click.argument("number")
@click.option("--from", "from_", default="+8613800138000", show_default=True,
              help="The caller's number.")
@click.option("--url", default=None,
              help="Base URL of a running service (default: the app in this process).")
@click.option("--wait", "wait_seconds", type=float, default=30.0, show_default=True,
              help="With --url: seconds to wait for the service to answer /healthz.")
@click.option("--dialect", type=click.Choice(["twilio", "jambonz"]), default="twilio",
              show_default=True,
              help="Call as Twilio (form posts to /voice/, TwiML) or as jambonz (signed JSON "
                   "to /jambonz/, verb arrays).")
@click.option("--auth-token", default=None,
              help="The secret that signs requests (default: IVR_TWILIO_AUTH_TOKEN, with "
                   "--dialect jambonz IVR_JAMBONZ_WEBHOOK_SECRET).")
@click.option("--press", multiple=True, help="Keys for the next menu; repeat for later menus.")
@click.option("--say", "words", multiple=True, help="Words for the next menu (speech).")
@click.option("--hangup-after", type=float, default=None,
              help="Hang up this many seconds after the call starts.")
@click.option("--demo", is_flag=True,
              help="A few simulated seats log in through the seat API and answer.")
@click.option("--talk", type=float, default=None,
              help="Seconds a simulated seat talks, then hangs up "
                   "(default: until you hang up; 10 when scripted).")
@click.option("--ring", type=float, default=2.0, show_default=True,
              help="Seconds a simulated seat lets the call ring.")
@click.option("--transfer", type=click.Choice(TRANSFER_STATUSES), default="completed",
              show_default=True, help="How transfer targets (110, 95598, ...) answer.")
@click.option("--fast", is_flag=True,
              help="Virtual time (in-process, scripted): the whole call runs at once.")
@click.option("--at", "at", default=None, metavar="DATETIME",
              help="With --fast: when the call happens, e.g. '2027-01-11 10:00' "
                   "(Beijing time unless an offset is given); opening hours depend on it.")
@click.option("--json", "as_json", is_flag=True, help="Print the call's events as JSON.")
@click.option("-v", "--verbose", is_flag=True, help="Also show every webhook request.")
@click.pass_context
def call(ctx: click.Context, number: str, from_: str, url: str | None, wait_seconds: float,
         dialect: str, auth_token: str | None, press: tuple[str, ...], words: tuple[str, ...],
         hangup_after: float | None, demo: bool, talk: float | None, ring: float,
         transfer: str, fast: bool, at: str | None, as_json: bool, verbose: bool) -> None:
    """Call NUMBER as Twilio (or jambonz) would and hear (read) the flow in the terminal.

    Every webhook is signed like the platform's; prompts are printed with their language.
    Type keys at a menu (one key is one digit) or words and Enter; Ctrl-C hangs up.
    With --press/--say/--hangup-after (or no terminal) the call is scripted.
    """
    inputs = scripted_inputs(ctx.meta.get("ivr.input_order", []), press, words)
    scripted = bool(inputs) or hangup_after is not None or fast or not sys.stdin.isatty()
    opts = CallOptions(number=number, from_=from_, url=url, auth_token=auth_token,
                       inputs=inputs, keyboard=not scripted, hangup_after=hangup_after,
                       demo=demo, talk=talk, ring=ring, transfer=transfer, fast=fast,
                       at=when(at) if at else None, verbose=verbose, dialect=dialect)
    if fast and url:
        raise click.UsageError("--fast runs the in-process service; leave out --url")
    if at and not fast:
        raise click.UsageError("--at sets the virtual clock: use it with --fast")
    if url:
        wait_for_service(url, wait_seconds)
    out: Any = None if as_json else sys.stdout
    try:
        with quiet_service(not verbose):
            result = asyncio.run(place_call(opts, out))
    except asyncio.CancelledError:
        click.echo("gave up", err=True)
        ctx.exit(130)
    if as_json:
        click.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=1))
    for problem in result.violations:
        click.echo(f"violation: {problem}", err=True)
    ctx.exit(0 if result.ok else 1)
