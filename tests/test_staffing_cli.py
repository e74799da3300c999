"""The ``ivr staffing`` command, driven through click's CliRunner."""

import json

import pytest
from click.testing import CliRunner

from ivr.core.erlang import erlang_a_metrics, erlang_c_metrics
from ivr.core.staffing import seats_needed
from ivr.staffing import staffing

EXAMPLE = ["--calls-per-hour", "600", "--aht", "240", "--patience", "120",
           "--target-answer-rate", "0.99", "--sl", "0.8/15"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(staffing, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_table_names_the_seats_needed_and_aligns_its_columns() -> None:
    code, out = run(*EXAMPLE)
    assert code == 0, out
    needed = seats_needed(600, 240, 120, 0.99, 0.8, 15)
    assert f"Seats needed: {needed}\n" in out
    assert "Erlang A" in out
    assert "load 40.00 Erlangs" in out
    table = out.split("\n\n", 1)[1].strip("\n").splitlines()
    header, rows = table[0], table[1:]
    assert header.split() == ["seats", "answer", "rate", "SL", "15", "s", "ASA", "s",
                              "occupancy", "P(wait)"]
    assert [int(r.split()[0]) for r in rows] == list(range(40, needed + 3))
    width = len(header)
    assert all(len(r.removesuffix("  <- needed")) == width for r in rows)
    marked = [r for r in rows if r.endswith("<- needed")]
    assert len(marked) == 1
    assert marked[0].split()[0] == str(needed)
    m = erlang_a_metrics(600, 240, 120, needed, 15)
    assert marked[0].split()[1:6] == [f"{m.answer_rate:.2%}", f"{m.service_level:.2%}",
                                      f"{m.asa:.1f}", f"{m.occupancy:.1%}", f"{m.p_wait:.2%}"]


def test_json_holds_the_whole_curve() -> None:
    code, out = run(*EXAMPLE, "--json", "--max-seats", "60")
    assert code == 0, out
    doc = json.loads(out)
    needed = seats_needed(600, 240, 120, 0.99, 0.8, 15)
    assert doc["seats_needed"] == needed
    assert doc["model"] == "erlang-a"
    assert doc["load"] == pytest.approx(40.0)
    assert doc["targets"] == {"answer_rate": 0.99, "service_level": 0.8, "sl_seconds": 15.0}
    seats = [row["seats"] for row in doc["curve"]]
    assert seats == list(range(40, 61))
    row = doc["curve"][seats.index(needed)]
    exact = erlang_a_metrics(600, 240, 120, needed, 15)
    assert row["answer_rate"] == pytest.approx(exact.answer_rate, rel=1e-12)
    assert row["service_level"] == pytest.approx(exact.service_level, rel=1e-12)
    assert row["answer_rate"] >= 0.99
    assert row["service_level"] >= 0.8
    assert row["asa"] == pytest.approx(exact.asa, rel=1e-12)
    assert row["occupancy"] == pytest.approx(exact.occupancy, rel=1e-12)
    before = doc["curve"][seats.index(needed) - 1]
    assert before["answer_rate"] < 0.99 or before["service_level"] < 0.8


def test_without_patience_it_is_erlang_c() -> None:
    code, out = run("--calls-per-hour", "200", "--aht", "180", "--sl", "0.85/20", "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["model"] == "erlang-c"
    assert doc["seats_needed"] == 14
    assert doc["patience"] is None
    assert doc["targets"]["answer_rate"] is None
    first = doc["curve"][0]
    assert first["seats"] == 11
    assert first["p_wait"] == pytest.approx(erlang_c_metrics(200, 180, 11, 20).p_wait)
    code, out = run("--calls-per-hour", "200", "--aht", "180", "--sl", "0.85/20")
    assert code == 0
    assert "Erlang C" in out
    assert "Seats needed: 14\n" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sl", "80/15"], "'80' is not a fraction between 0 and 1"),
        (["--sl", "0.8"], "is not FRACTION/SECONDS"),
        (["--sl", "0.8/-15"], "not a positive number of seconds"),
        (["--sl", "high/15"], "is not FRACTION/SECONDS"),
        (["--calls-per-hour", "-600"], "--calls-per-hour"),
        (["--aht", "0"], "--aht"),
        (["--patience", "-1"], "--patience"),
        (["--patience", "nan"], "not a finite number"),
        (["--target-answer-rate", "1.5"], "--target-answer-rate"),
        (["--target-answer-rate", "1"], "--target-answer-rate"),
        (["--max-seats", "0"], "--max-seats"),
        (["--max-seats", "45"], "targets not met with at most 45 seats"),
    ],
)
def test_bad_input_is_a_usage_error(args: list[str], message: str) -> None:
    argv = list(EXAMPLE)
    for i in range(0, len(args), 2):  # override the example's value or append the option
        if args[i] in argv:
            argv[argv.index(args[i]) + 1] = args[i + 1]
        else:
            argv += args[i:i + 2]
    code, out = run(*argv)
    assert code == 2
    assert "Usage: " in out
    assert message in out
