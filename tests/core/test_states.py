"""The call and seat state tables (``ivr.core.states``) are consistent with their rules."""

from __future__ import annotations

import pytest

from ivr.core import kpi, states


@pytest.mark.parametrize(("table", "known"), [
    (states.CALL_TRANSITIONS, states.CALL_STATES),
    (states.SEAT_TRANSITIONS, states.SEAT_STATES),
])
def test_every_transition_joins_known_states(table: dict[tuple[str, str], str],
                                             known: dict[str, str]) -> None:
    for (frm, event), to in table.items():
        assert frm in known, f"{frm} -{event}-> {to}: unknown state {frm}"
        assert to in known, f"{frm} -{event}-> {to}: unknown state {to}"


def test_a_call_that_ended_stays_ended() -> None:
    assert not [ev for (frm, ev) in states.CALL_TRANSITIONS if frm == "ended"]
    for event in states.CALL_EVENTS:
        assert states.call_next("ended", event) is None


def test_nothing_leads_back_to_no_record() -> None:
    assert states.NEW not in states.CALL_TRANSITIONS.values()


def test_every_live_call_state_can_end_and_every_state_is_reached() -> None:
    for st in states.CALL_STATES:
        if st != "ended":
            assert states.call_next(st, "end") == "ended", st
    reached = {states.NEW, *states.CALL_TRANSITIONS.values()}
    assert reached == set(states.CALL_STATES)
    seat_reached = {"offline", *states.SEAT_TRANSITIONS.values()}
    assert seat_reached == set(states.SEAT_STATES)


def test_only_a_ready_seat_is_reserved_and_a_seat_with_a_call_keeps_it() -> None:
    assert [frm for (frm, ev) in states.SEAT_TRANSITIONS if ev == "reserve"] == ["ready"]
    for busy in ("reserved", "talking"):
        for event in ("break", "logout", "remove", "login", "reserve"):
            assert states.seat_next(busy, event) is None, (busy, event)
    assert states.seat_next("talking", "break") is None
    assert states.seat_next("talking", "done") == "wrapup"


def test_a_queued_call_is_not_queued_again() -> None:
    for st in ("waiting", "offered", "talking", "retry", "ended"):
        assert states.call_next(st, "enqueue") is None, st
        assert states.call_next(st, "begin") is None, st


def test_every_state_and_field_has_a_meaning() -> None:
    for table in (states.CALL_STATES, states.SEAT_STATES, states.CALL_FIELDS,
                  states.SEAT_FIELDS):
        for name, meaning in table.items():
            assert name, name
            assert meaning.strip(), name


def test_constants_agree_with_the_figures_that_read_them() -> None:
    assert states.CONSTANTS["HIST"] == kpi.BOUNDS
    assert states.CONSTANTS["BUCKET_MS"] == states.BUCKET_SECONDS * 1000
    # a priority-9 call made last scores below a priority-8 call made first
    span = states.SCORE_SPAN
    assert (states.MAX_PRIORITY - 9) * span + 10**12 < (states.MAX_PRIORITY - 8) * span


def test_named_states_are_states_of_the_tables() -> None:
    """The names code outside the tables uses are states the tables define."""
    assert states.ENDED in states.CALL_STATES
    assert states.UNKNOWN in states.RESULT_STATES
    assert states.LIMITED in states.RESULT_STATES
    assert states.SEAT_BUSY <= set(states.SEAT_STATES)
    assert all(not states.seat_next(st, "logout") for st in states.SEAT_BUSY)
