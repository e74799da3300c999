"""The call-path policy of ivr/core/policy.py and ivr/core/callback.py: pure, no Redis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ivr.core import callback
from ivr.core.engine import EnqueueAction
from ivr.core.hours import Schedule
from ivr.core.policy import (
    ANNOUNCE_EVERY,
    STAY,
    Closed,
    Connect,
    Goodbye,
    Greet,
    Hold,
    Join,
    JoinRoom,
    Move,
    Standing,
    Survey,
    admit,
    after_dial,
    call_back_answered,
    hold_turn,
    room_of,
    warm_move,
)
from ivr.core.roster import CallbackPolicy, Roster
from ivr.core.waiting import (
    CALLBACK_GREETING,
    CALLBACK_OFFER,
    CALLBACK_UNAVAILABLE,
    SURVEY,
    announcement,
    in_language,
)

OFFICE = Schedule(timezone="UTC", weekly={"mon": ("09:00-17:00",)})
MONDAY_NOON = datetime(2026, 11, 30, 12, tzinfo=UTC).timestamp()  # a Monday
MONDAY_NIGHT = datetime(2026, 11, 30, 22, tzinfo=UTC).timestamp()
ROSTER = Roster.model_validate({
    "queues": [
        {"id": "pool", "name": "12345", "callback": {"offer_after_seconds": 30, "max_attempts": 2,
                                                    "retry_seconds": 90, "caller_id": ""}},
        {"id": "sub", "name": "sub", "kind": "subcenter", "hours": "office",
         "overflow": {"to": "pool", "after_seconds": 60}},
        {"id": "tax", "name": "tax", "kind": "subcenter", "hours": "office",
         "when_closed": "message", "closed_text": "closed now"},
        {"id": "cb", "name": "cb", "kind": "subcenter", "hours": "office",
         "when_closed": "callback", "callback": {"offer_after_seconds": 600}},
        {"id": "plain", "name": "plain"},
    ],
    "schedules": {"office": OFFICE.model_dump()},
})
def _hold(turn: object) -> Hold:
    assert isinstance(turn, Hold), turn
    return turn


WAITING = Standing("waiting", "pool", "12345", position=3, logged=2, aht_ms=120_000, waited_ms=0)


def test_an_open_queue_is_joined_as_asked() -> None:
    action = EnqueueAction("sub", "tax", 4, 30.0)
    assert admit(ROSTER.queue("sub"), action, ROSTER.schedules, MONDAY_NOON) == Join(action)
    assert admit(ROSTER.queue("plain"), action, ROSTER.schedules, MONDAY_NIGHT) == Join(action)


def test_a_closed_queue_overflows_says_its_message_or_offers_the_callback() -> None:
    action = EnqueueAction("sub", "tax", 4, 30.0)
    assert admit(ROSTER.queue("sub"), action, ROSTER.schedules, MONDAY_NIGHT) == Join(
        EnqueueAction("pool", "any", 4, 30.0), closed_from="sub")
    assert admit(ROSTER.queue("tax"), action, ROSTER.schedules, MONDAY_NIGHT) == Closed(
        "tax", "closed now")
    assert admit(ROSTER.queue("cb"), action, ROSTER.schedules, MONDAY_NIGHT) == Join(
        action, offer_callback=True)


def test_an_offered_call_connects_its_seat_and_a_talking_one_stays() -> None:
    offered = Standing("offered", "pool", seat="p01", endpoint="client:p01", ring_seconds=20)
    assert hold_turn(offered, ROSTER, "zh-CN", 4, 2) == Connect("p01", "client:p01", 20)
    assert hold_turn(Standing("talking", "pool"), ROSTER, "zh-CN", 0, 0) is STAY


@pytest.mark.parametrize("state", ["ended", "unknown", "retry", "ivr"])
def test_a_call_that_is_not_waiting_here_hears_goodbye(state: str) -> None:
    assert hold_turn(Standing(state), ROSTER, "zh-CN", 0, 0) == Goodbye()


def test_the_position_is_announced_when_it_changes_and_every_few_turns() -> None:
    said = announcement(3, 3 * 120 / 2, "en-US")
    assert hold_turn(WAITING, ROSTER, "en-US", 0, 0) == Hold(3, 1, said)
    assert hold_turn(WAITING, ROSTER, "en-US", 1, 3) == Hold(3, 2, None)  # unchanged
    assert hold_turn(WAITING, ROSTER, "en-US", 2, 4) == Hold(3, 3, said)  # moved up
    assert _hold(hold_turn(WAITING, ROSTER, "en-US", ANNOUNCE_EVERY, 3)).announcement == said


def test_the_callback_is_offered_after_the_wait_the_policy_names_and_only_once() -> None:
    offer = CALLBACK_OFFER["zh-CN"]
    assert _hold(hold_turn(WAITING, ROSTER, "zh-CN", 1, 3)).offer is None  # waited 0 s of 30
    later = Standing("waiting", "pool", position=3, logged=2, aht_ms=1, waited_ms=30_000)
    assert _hold(hold_turn(later, ROSTER, "zh-CN", 1, 3)).offer == offer
    asked = Standing("waiting", "pool", callback=True, position=3, waited_ms=99_000)
    assert _hold(hold_turn(asked, ROSTER, "zh-CN", 1, 3)).offer is None
    plain = Standing("waiting", "plain", position=1, waited_ms=10**9)
    assert _hold(hold_turn(plain, ROSTER, "zh-CN", 1, 1)).offer is None  # no policy: no offer
    closed = Standing("waiting", "cb", position=1)
    assert _hold(hold_turn(closed, ROSTER, "zh-CN", 0, 0, offer_now=True)).offer == offer


def test_after_a_dial_the_caller_joins_the_room_rates_the_call_or_waits_again() -> None:
    assert after_dial("conference", Standing("talking"), ROSTER, "CA1", "zh-CN", True) == JoinRoom(
        "xfer-CA1")
    assert after_dial("hangup", Standing("ended"), ROSTER, "CA1", "en-US", True) == Survey(
        SURVEY["en-US"])
    assert after_dial("hangup", Standing("ended"), ROSTER, "CA1", "en-US", False) == Goodbye()
    assert after_dial("wait", WAITING, ROSTER, "CA1", "zh-CN", True) == hold_turn(
        WAITING, ROSTER, "zh-CN", 0, 0)


def test_a_warm_transfer_moves_the_seat_leg_when_known_else_the_caller() -> None:
    assert room_of("CA1") == "xfer-CA1"
    assert warm_move("CA1", "CB9") == Move("CB9", "xfer-CA1", True)
    assert warm_move("CA1", "") == Move("CA1", "xfer-CA1", False)


def test_callback_rules() -> None:
    policy = ROSTER.queue("pool").callback
    assert callback.policy_of(ROSTER, "pool") == policy
    assert callback.policy_of(ROSTER, "plain") is None
    assert callback.policy_of(ROSTER, "gone-queue") is None
    assert callback.retry_terms(policy) == (2, 90.0)
    assert callback.retry_terms(None) == callback.NO_POLICY_TERMS
    assert callback.accepts("1")
    assert callback.accepts("1#")
    assert not callback.accepts("2")
    assert not callback.accepts("")
    assert callback.call_back_instead(True, True)
    assert not callback.call_back_instead(True, False)  # still on the line: redirect it
    assert not callback.call_back_instead(False, True)
    assert callback.offer_due(policy, False, 29_999) is False
    assert callback.offer_due(policy, False, 30_000) is True
    assert callback.offer_due(None, False, 0, offer_now=True) is False


def test_a_call_back_comes_from_the_policy_number_else_the_service_else_the_line() -> None:
    own = CallbackPolicy(caller_id="+8602112345")
    assert callback.caller_id(own, "+86021000", "12345") == "+8602112345"
    assert callback.caller_id(CallbackPolicy(), "+86021000", "12345") == "+86021000"
    assert callback.caller_id(None, "", "12345") == "12345"


def test_configured_texts_follow_the_caller_language() -> None:
    assert in_language("请咨询法院", "Ask the court", "en-US") == "Ask the court"
    assert in_language("请咨询法院", "Ask the court", "EN-gb") == "Ask the court"
    assert in_language("请咨询法院", "", "en-US") == "请咨询法院"  # no English text: Mandarin
    assert in_language("请咨询法院", "Ask the court", "zh-CN") == "请咨询法院"
    assert in_language("x", "y", "yue-HK") == "x"


def test_an_answered_call_back_is_greeted_and_rung_through_or_told_we_call_again() -> None:
    offered = Standing("offered", "pool", seat="p01", endpoint="client:p01", ring_seconds=20)
    assert call_back_answered(offered, "en-US") == Greet(
        CALLBACK_GREETING["en-US"], Connect("p01", "client:p01", 20))
    for state in ("waiting", "retry", "ended", "unknown"):
        assert call_back_answered(Standing(state), "zh-CN") == Goodbye(
            CALLBACK_UNAVAILABLE["zh-CN"])
