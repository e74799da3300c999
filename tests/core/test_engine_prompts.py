"""A menu's retry prompt: chosen by which prompt it is and the call's language, not its text."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.core import engine as e
from ivr.core.flows import RETRY_PROMPTS, Flow, Menu
from ivr.core.numbers import Line

LINE = Line.model_validate({"number": "12345", "name": "12345热线", "mode": "hub",
                            "queue": "pool", "skill": "general", "flow": "f"})
ZH_WRONG, ZH_SILENT = RETRY_PROMPTS["invalid_prompt"]["zh"], RETRY_PROMPTS["no_input_prompt"]["zh"]
EN_WRONG, EN_SILENT = RETRY_PROMPTS["invalid_prompt"]["en"], RETRY_PROMPTS["no_input_prompt"]["en"]


def book(language: str, **menu: Any) -> e.FlowBook:
    """One flow: a menu whose key 1 queues, 8 switches to zh-CN and 9 to en-US."""
    nodes = {"ask": {"kind": "menu", "prompt": "1?", "fallback": "q", "retries": 3,
                     "options": {"1": {"next": "q"}, "8": {"next": "ask", "language": "zh-CN"},
                                 "9": {"next": "ask", "language": "en-US"}}, **menu},
             "q": {"kind": "queue"}}
    flow = Flow.model_validate({"id": "f", "language": language, "start": "ask", "nodes": nodes})
    return e.FlowBook.of({"f": flow})


def retry(flows: e.FlowBook, event: e.Event, choose: str | None = None) -> str:
    """The first thing said after ``event`` (after first pressing ``choose``, if given)."""
    step = e.start(flows, LINE)
    if choose is not None:
        step = e.resume(flows, LINE, _pos(step), e.Event("digits", choose))
    first = e.resume(flows, LINE, _pos(step), event).actions[0]
    assert isinstance(first, e.GatherAction)
    said = first.prompt[0]
    assert isinstance(said, e.SayAction)
    return said.text


def _pos(step: e.Step) -> e.Position:
    assert step.position is not None
    return step.position


WRONG, SILENT = e.Event("digits", "5"), e.NO_INPUT


@pytest.mark.parametrize(("language", "choose", "event", "expected"), [
    ("zh-CN", None, WRONG, ZH_WRONG),
    ("zh-CN", None, SILENT, ZH_SILENT),
    ("zh-CN", "9", WRONG, EN_WRONG),  # the caller chose English
    ("zh-CN", "9", SILENT, EN_SILENT),
    ("en-US", None, WRONG, EN_WRONG),  # an English flow with the defaults
    ("en-GB", None, SILENT, EN_SILENT),
    ("ug", None, WRONG, ZH_WRONG),  # no default in that language: the default as written
])
def test_defaults_are_said_in_the_call_language(language: str, choose: str | None,
                                                event: e.Event, expected: str) -> None:
    assert retry(book(language), event, choose) == expected


def test_an_english_flow_that_wrote_the_english_defaults_speaks_chinese_to_a_chinese_caller() -> None:
    flows = book("en-US", invalid_prompt=EN_WRONG, no_input_prompt=EN_SILENT)
    assert retry(flows, WRONG) == EN_WRONG
    assert retry(flows, WRONG, choose="8") == ZH_WRONG
    assert retry(flows, SILENT, choose="8") == ZH_SILENT


def test_the_prompt_is_chosen_by_its_kind_not_by_its_words() -> None:
    """A wrong key says the invalid prompt even when it reads like the silence one."""
    swapped = book("zh-CN", invalid_prompt=ZH_SILENT, no_input_prompt=ZH_WRONG)
    assert retry(swapped, WRONG, choose="9") == ZH_SILENT  # the flow's own words, kept
    assert retry(swapped, SILENT, choose="9") == ZH_WRONG


def test_a_flow_own_prompt_is_kept_in_every_language() -> None:
    flows = book("zh-CN", invalid_prompt="请重新输入。", no_input_prompt="请按键。")
    assert retry(flows, WRONG, choose="9") == "请重新输入。"
    assert retry(flows, SILENT, choose="9") == "请按键。"


def test_retry_prompt_reads_the_menu_field_for_the_event() -> None:
    menu = Menu.model_validate({"kind": "menu", "prompt": "1?", "fallback": "q",
                                "options": {"1": {"next": "q"}}})
    assert e.retry_prompt(menu, no_input=False, lang="en-US") == EN_WRONG
    assert e.retry_prompt(menu, no_input=True, lang="zh-HK") == ZH_SILENT
