"""The flow step function: start, each node kind, digits and speech, retries, fallback, hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.core import engine as e
from ivr.core.flows import Flow
from ivr.core.hours import Schedule
from ivr.core.numbers import Line

LINE = Line.model_validate({"number": "12328", "name": "交通运输热线", "department": "交通局",
                            "mode": "dual", "queue": "pool", "skill": "traffic", "flow": "main",
                            "priority": 3, "widen_after": 30})


def flow(fid: str, start: str, rev: int = 1, **nodes: dict[str, Any]) -> Flow:
    return Flow.model_validate({"id": fid, "start": start, "revision": rev, "nodes": nodes})


MAIN = flow(
    "main", "hello",
    hello={"kind": "say", "text": "欢迎致电{line_name}。", "texts": {"en-US": "Welcome to {number}."},
           "next": "menu"},
    menu={"kind": "menu", "prompt": "咨询请按1，投诉请按2，English press 9。",
          "prompts": {"en-US": "For advice press 1."}, "retries": 2, "fallback": "agent",
          "options": {"1": {"next": "advice", "keywords": ["咨询", "advice"]},
                      "2": {"next": "police"},
                      "3": {"next": "petition"},
                      "4": {"next": "other"},
                      "5": {"next": "bye"},
                      "9": {"next": "menu", "language": "en-US"}}},
    advice={"kind": "queue", "queue": "advice", "skill": "adv", "priority": 7},
    agent={"kind": "queue"},
    police={"kind": "transfer", "target": "110", "text": "正在为您转接。", "fallback": "agent"},
    petition={"kind": "exclusion", "topic": "petition"},
    other={"kind": "goto", "flow": "other"},
    bye={"kind": "hangup", "text": "再见，{department}。"},
)
OTHER = flow("other", "tune",
             tune={"kind": "play", "url": "https://x.test/a.mp3", "next": "ask"},
             ask={"kind": "menu", "prompt": "请按1。", "options": {"1": {"next": "q"}},
                  "fallback": "q", "retries": 0, "no_input": "q"},
             q={"kind": "queue", "queue": "other"})
BOOK = e.FlowBook.of({"main": MAIN, "other": OTHER})


def menu_pos(step: e.Step) -> e.Position:
    assert step.outcome == "gather"
    assert step.position is not None
    return step.position


def texts(step: e.Step) -> list[str]:
    out: list[str] = []
    for a in step.actions:
        if isinstance(a, e.SayAction):
            out.append(a.text)
        elif isinstance(a, e.GatherAction):
            out += [p.text for p in a.prompt if isinstance(p, e.SayAction)]
    return out


def test_start_says_the_greeting_then_asks() -> None:
    step = e.start(BOOK, LINE)
    assert step.outcome == "gather"
    assert step.language == "zh-CN"
    (gather,) = step.actions
    assert isinstance(gather, e.GatherAction)
    assert texts(step) == ["欢迎致电交通运输热线。", "咨询请按1，投诉请按2，English press 9。"]
    assert gather.resume == step.position == e.Position("main", 1, "menu", 0, "")
    assert (gather.timeout, gather.num_digits, gather.speech) == (5, 1, True)
    assert gather.hints == ("咨询", "advice")


@pytest.mark.parametrize("digits", ["1", "1#", " 1 ", "13"])
def test_a_key_leads_to_its_option(digits: str) -> None:
    step = e.resume(BOOK, LINE, menu_pos(e.start(BOOK, LINE)), e.Event("digits", digits))
    assert step.outcome == "queue"
    assert step.position is None
    assert step.actions == (e.EnqueueAction("advice", "adv", 7, 30.0),)


@pytest.mark.parametrize("heard", ["我想咨询一下", "ADVICE please", "1"])
def test_speech_matches_keywords_or_the_key(heard: str) -> None:
    step = e.resume(BOOK, LINE, menu_pos(e.start(BOOK, LINE)), e.Event("speech", heard))
    assert step.actions == (e.EnqueueAction("advice", "adv", 7, 30.0),)


def test_queue_node_defaults_to_the_lines_route() -> None:
    pos = e.Position("main", 1, "menu", 2)
    step = e.resume(BOOK, LINE, pos, e.Event("digits", "7"))  # no such key, last try
    assert step.actions == (e.EnqueueAction("pool", "traffic", 3, 30.0),)


def test_wrong_key_reprompts_then_falls_back() -> None:
    pos = menu_pos(e.start(BOOK, LINE))
    step = e.resume(BOOK, LINE, pos, e.Event("digits", "8"))
    assert texts(step) == ["对不起，您的输入有误。", "咨询请按1，投诉请按2，English press 9。"]
    pos = menu_pos(step)
    assert pos.tries == 1
    step = e.resume(BOOK, LINE, pos, e.Event("speech", "嗯嗯"))
    pos = menu_pos(step)
    assert pos.tries == 2
    step = e.resume(BOOK, LINE, pos, e.Event("digits", "8"))
    assert step.outcome == "queue"  # retries (2) used up: fallback 'agent'
    assert step.actions == (e.EnqueueAction("pool", "traffic", 3, 30.0),)


def test_no_input_reprompts_with_its_own_text() -> None:
    step = e.resume(BOOK, LINE, menu_pos(e.start(BOOK, LINE)), e.NO_INPUT)
    assert texts(step)[0] == "对不起，没有收到您的输入。"
    assert menu_pos(step).tries == 1


def test_a_right_key_after_a_wrong_one_still_counts() -> None:
    pos = menu_pos(e.resume(BOOK, LINE, menu_pos(e.start(BOOK, LINE)), e.Event("digits", "0")))
    step = e.resume(BOOK, LINE, pos, e.Event("digits", "1"))
    assert step.actions == (e.EnqueueAction("advice", "adv", 7, 30.0),)


def test_menu_no_input_goes_straight_to_its_node() -> None:
    pos = e.Position("other", 1, "ask")
    assert e.resume(BOOK, LINE, pos, e.NO_INPUT).actions == (e.EnqueueAction("other", "traffic", 3, 30.0),)
    # a wrong key is not silence: with retries 0 it goes to the fallback at once
    assert e.resume(BOOK, LINE, pos, e.Event("digits", "5")).outcome == "queue"


def test_an_option_switches_the_language() -> None:
    step = e.resume(BOOK, LINE, menu_pos(e.start(BOOK, LINE)), e.Event("digits", "9"))
    pos = menu_pos(step)
    assert pos.lang == "en-US"
    assert step.language == "en-US"
    assert texts(step) == ["For advice press 1."]
    gather = step.actions[0]
    assert isinstance(gather, e.GatherAction)
    assert gather.language == "en-US"
    # the retry prompt is said in the call's language
    again = e.resume(BOOK, LINE, pos, e.Event("digits", "8"))
    assert texts(again) == ["Sorry, that was not a valid choice.", "For advice press 1."]
    silent = e.resume(BOOK, LINE, pos, e.NO_INPUT)
    assert texts(silent)[0] == "Sorry, we did not hear you."
    assert menu_pos(again).lang == "en-US"


def test_transfer_says_its_text_and_keeps_a_fallback() -> None:
    step = e.resume(BOOK, LINE, menu_pos(e.start(BOOK, LINE)), e.Event("digits", "2"))
    assert step.outcome == "transfer"
    say, transfer = step.actions
    assert isinstance(say, e.SayAction)
    assert say.text == "正在为您转接。"
    assert isinstance(transfer, e.TransferAction)
    assert transfer.target == "110"
    assert transfer.fallback is not None
    after = e.resume(BOOK, LINE, transfer.fallback, e.Event("start"))
    assert after.actions == (e.EnqueueAction("pool", "traffic", 3, 30.0),)


def test_exclusion_without_next_hangs_up() -> None:
    step = e.resume(BOOK, LINE, menu_pos(e.start(BOOK, LINE)), e.Event("digits", "3"))
    assert step.outcome == "exclusion"
    assert step.actions == (e.ExclusionAction("petition", "zh-CN"), e.HangupAction())


def test_exclusion_with_next_goes_on() -> None:
    fl = flow("x", "ex", ex={"kind": "exclusion", "topic": "court", "next": "q"},
              q={"kind": "queue"})
    step = e.start(e.FlowBook.of({"main": fl}), LINE.model_copy(update={"flow": "main"}))
    assert step.outcome == "queue"
    assert isinstance(step.actions[0], e.ExclusionAction)
    assert isinstance(step.actions[1], e.EnqueueAction)


def test_hangup_fills_the_template() -> None:
    step = e.resume(BOOK, LINE, menu_pos(e.start(BOOK, LINE)), e.Event("digits", "5"))
    assert step.outcome == "hangup"
    assert texts(step) == ["再见，交通局。"]
    assert step.actions[-1] == e.HangupAction()


def test_goto_continues_in_the_other_flow() -> None:
    step = e.resume(BOOK, LINE, menu_pos(e.start(BOOK, LINE)), e.Event("digits", "4"))
    pos = menu_pos(step)
    assert (pos.flow, pos.node, pos.tries) == ("other", "ask", 0)
    gather = step.actions[0]
    assert isinstance(gather, e.GatherAction)
    assert gather.prompt[0] == e.PlayAction("https://x.test/a.mp3")
    assert gather.speech is False
    assert gather.hints == ()


def test_a_call_keeps_its_revision() -> None:
    book = e.FlowBook.of({"main": MAIN, "other": OTHER})
    pos = menu_pos(e.start(book, LINE))
    new = MAIN.model_copy(update={"revision": 2, "nodes": {
        **MAIN.nodes, "advice": MAIN.nodes["bye"]}})
    book.revisions["main"][2] = new
    book.current["main"] = 2
    old = e.resume(book, LINE, pos, e.Event("digits", "1"))
    assert old.outcome == "queue"  # revision 1's option 1
    assert e.resume(book, LINE, menu_pos(e.start(book, LINE)), e.Event("digits", "1")).outcome == "hangup"
    # a revision that is gone falls back to the current one
    book.revisions["main"].pop(1)
    assert e.resume(book, LINE, pos, e.Event("digits", "1")).outcome == "hangup"


def test_an_unknown_node_restarts_the_flow() -> None:
    step = e.resume(BOOK, LINE, e.Position("main", 1, "gone"), e.Event("digits", "1"))
    assert step == e.start(BOOK, LINE)


def test_resume_at_a_node_that_is_not_a_menu_runs_it() -> None:
    step = e.resume(BOOK, LINE, e.Position("main", 1, "agent"), e.Event("digits", "1"))
    assert step.actions == (e.EnqueueAction("pool", "traffic", 3, 30.0),)


SH = ZoneInfo("Asia/Shanghai")
HOURS = flow("main", "h", h={"kind": "hours", "schedule": "office", "open": "q", "closed": "bye"},
             q={"kind": "queue"}, bye={"kind": "hangup", "text": "下班了。"})
OFFICE = Schedule(weekly={"mon": ("09:00-17:00",)})


@pytest.mark.parametrize(("local", "outcome"), [("2026-09-28 10:00", "queue"),
                                                ("2026-09-28 18:00", "hangup"),
                                                ("2026-09-27 10:00", "hangup")])
def test_hours_branch_on_the_time_given(local: str, outcome: str) -> None:
    now = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=SH).timestamp()
    ctx = e.Context(now=now, schedules={"office": OFFICE})
    assert e.start(e.FlowBook.of({"main": HOURS}), LINE, ctx).outcome == outcome


def test_hours_without_the_schedule_count_as_open() -> None:
    assert e.start(e.FlowBook.of({"main": HOURS}), LINE, e.Context(now=0)).outcome == "queue"


def test_the_step_function_is_pure() -> None:
    pos = menu_pos(e.start(BOOK, LINE))
    ev = e.Event("digits", "8")
    assert e.resume(BOOK, LINE, pos, ev) == e.resume(BOOK, LINE, pos, ev)
    assert e.start(BOOK, LINE) == e.start(BOOK, LINE)


HASH = flow("main", "m",
            m={"kind": "menu", "prompt": "查询请按#，人工请按1。", "fallback": "bye",
               "options": {"#": {"next": "q"}, "1": {"next": "agent", "keywords": ["", "人工"]}}},
            q={"kind": "queue", "queue": "lookup"}, agent={"kind": "queue"},
            bye={"kind": "hangup"})


@pytest.mark.parametrize(("digits", "queue"), [("#", "lookup"), ("1", "pool"), ("1#", "pool")])
def test_a_hash_key_option_can_be_chosen(digits: str, queue: str) -> None:
    # the renderer sends no finishOnKey when '#' is a menu key, so Digits is '#'
    book = e.FlowBook.of({"main": HASH})
    step = e.resume(book, LINE, menu_pos(e.start(book, LINE)), e.Event("digits", digits))
    assert step.outcome == "queue"
    assert isinstance(step.actions[0], e.EnqueueAction)
    assert step.actions[0].queue == queue


def test_an_empty_keyword_does_not_match_every_utterance() -> None:
    book = e.FlowBook.of({"main": HASH})
    pos = menu_pos(e.start(book, LINE))
    assert e.resume(book, LINE, pos, e.Event("speech", "天气怎么样")).outcome == "gather"
    assert e.resume(book, LINE, pos, e.Event("speech", "转人工")).outcome == "queue"
    gather = e.start(book, LINE).actions[0]
    assert isinstance(gather, e.GatherAction)
    assert gather.hints == ("人工",)
