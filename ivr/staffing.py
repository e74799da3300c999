"""``ivr staffing``: the seats a queue needs for an answer-rate and a service-level target.

With ``--patience`` the sums are Erlang A (callers hang up after an exponential patience
of that mean); without it they are Erlang C (nobody hangs up, so everybody is answered
and only the service level counts). See ``ivr.core.erlang`` for the formulas and units,
``ivr.core.staffing`` for the search.
"""

import json
import math

import click

from ivr.core.erlang import QueueMetrics, offered_load
from ivr.core.staffing import (
    TargetNotReachedError,
    default_seat_range,
    seats_needed,
    staffing_curve,
)


def _service_level(
    ctx: click.Context, param: click.Parameter, value: str
) -> tuple[float, float]:
    """Parse ``0.8/15`` into (0.8, 15.0), or fail with a usage error."""
    fraction_text, slash, seconds_text = value.strip().partition("/")
    try:
        fraction, seconds = float(fraction_text), float(seconds_text)
    except ValueError:
        fraction = seconds = math.nan
    if not slash or math.isnan(fraction) or math.isnan(seconds):
        raise click.BadParameter(
            f"{value!r} is not FRACTION/SECONDS, e.g. 0.8/15 (80% within 15 s)", ctx, param)
    if not 0.0 < fraction < 1.0:
        raise click.BadParameter(f"{fraction_text!r} is not a fraction between 0 and 1 "
                                 f"(write 0.8/15 for 80% answered within 15 s)", ctx, param)
    if not (0.0 < seconds and math.isfinite(seconds)):
        raise click.BadParameter(f"{seconds_text!r} is not a positive number of seconds",
                                 ctx, param)
    return fraction, seconds


def _finite(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", ctx, param)
    return value


_POSITIVE = click.FloatRange(min=0.0, min_open=True)


@click.command("staffing")
@click.option("--calls-per-hour", type=_POSITIVE, required=True, callback=_finite,
              help="Offered calls per hour.")
@click.option("--aht", type=_POSITIVE, required=True, callback=_finite,
              help="Average handle time in seconds (talk plus wrap-up).")
@click.option("--patience", type=_POSITIVE, default=None, callback=_finite,
              help="Mean caller patience in seconds (Erlang A); omit for Erlang C.")
@click.option("--target-answer-rate", default=0.99, show_default=True,
              type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
              help="Least share of calls answered (Erlang A only; Erlang C answers all).")
@click.option("--sl", "sl", metavar="FRACTION/SECONDS", default="0.8/15", show_default=True,
              callback=_service_level,
              help="Service-level target: FRACTION of calls answered within SECONDS.")
@click.option("--max-seats", type=click.IntRange(min=1), default=None,
              help="Search no further, and print the curve up to here "
                   "(default: the curve stops 2 seats past the answer).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def staffing(
    calls_per_hour: float, aht: float, patience: float | None, target_answer_rate: float,
    sl: tuple[float, float], max_seats: int | None, as_json: bool,
) -> None:
    """Print the seats needed for the targets and the staffing curve around them."""
    sl_target, sl_seconds = sl
    load = offered_load(calls_per_hour, aht)
    try:
        needed = seats_needed(calls_per_hour, aht, patience, target_answer_rate, sl_target,
                              sl_seconds, max_seats=max_seats)
    except TargetNotReachedError as exc:
        raise click.UsageError(f"{exc}; allow more with --max-seats") from exc
    low = min(default_seat_range(load, patience)[0], needed)
    high = max_seats if max_seats is not None else needed + 2
    rows = staffing_curve(calls_per_hour, aht, patience, sl_seconds, low, high)
    model = "erlang-c" if patience is None else "erlang-a"
    if as_json:
        click.echo(json.dumps({
            "model": model, "calls_per_hour": calls_per_hour, "aht": aht,
            "patience": patience, "load": load,
            "targets": {"answer_rate": target_answer_rate if patience is not None else None,
                        "service_level": sl_target, "sl_seconds": sl_seconds},
            "seats_needed": needed,
            "curve": [_row_json(r) for r in rows],
        }, indent=2))
        return
    name = ("Erlang C (M/M/n)" if patience is None
            else f"Erlang A (M/M/n+M), patience {patience:g} s")
    click.echo(f"{name}: {calls_per_hour:g} calls/h, AHT {aht:g} s, load {load:.2f} Erlangs")
    answer = ("everyone is answered" if patience is None
              else f"answer rate >= {target_answer_rate:.2%}")
    click.echo(f"Targets: {answer}; {sl_target * 100:g}% answered within {sl_seconds:g} s")
    click.echo(f"Seats needed: {needed}")
    click.echo("")
    click.echo(_table(rows, needed, sl_seconds))


def _row_json(row: QueueMetrics) -> dict[str, float | int | None]:
    return {
        "seats": row.seats, "answer_rate": row.answer_rate, "service_level": row.service_level,
        "asa": row.asa if math.isfinite(row.asa) else None, "occupancy": row.occupancy,
        "p_wait": row.p_wait, "p_abandon": row.p_abandon,
    }


def _table(rows: list[QueueMetrics], needed: int, sl_seconds: float) -> str:
    headers = ("seats", "answer rate", f"SL {sl_seconds:g} s", "ASA s", "occupancy", "P(wait)")
    body = [
        (str(r.seats), f"{r.answer_rate:.2%}", f"{r.service_level:.2%}",
         f"{r.asa:.1f}" if math.isfinite(r.asa) else "inf", f"{r.occupancy:.1%}",
         f"{r.p_wait:.2%}")
        for r in rows
    ]
    widths = [max(len(cell) for cell in column) for column in zip(headers, *body, strict=True)]
    lines = []
    for cells, row in zip([headers, *body], [None, *rows], strict=True):
        mark = "  <- needed" if row is not None and row.seats == needed else ""
        lines.append("  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + mark)
    return "\n".join(lines)
