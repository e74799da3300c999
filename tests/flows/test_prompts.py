"""Issue 10 item 12: prompts are templates with fixed named fields, checked at validation."""

from __future__ import annotations

from typing import Any

import pytest

from ivr.core.engine import fill
from ivr.core.numbers import Line
from ivr.core.waiting import MAX_SPOKEN_MINUTES, announcement
from tests.conftest import Phone
from tests.flows.conftest import Admin, problems
from tests.twiml_helpers import says

BAD = [
    ("您好{", "'{'"),
    ("{number.__class__.__mro__}", "'{number.__class__.__mro__}'"),
    ("{number:>50000000}", "'{number:>50000000}'"),
    ("{number!r}", "'{number!r}'"),
    ("{0}", "'{0}'"),
    ("{}", "'{}'"),
    ("您好}", "'}'"),
    ("{nope}", "'{nope}'"),
    ("响铃\x07", "U+0007"),
]


def greeting(fid: str, **say: object) -> dict[str, Any]:
    """A flow: one say node ``hello`` (with ``say``'s fields), then the queue."""
    return {"id": fid, "start": "hello",
            "nodes": {"hello": {"kind": "say", "text": "您好。", "next": "q", **say},
                      "q": {"kind": "queue"}}}


@pytest.mark.parametrize(("text", "named"), BAD)
async def test_a_bad_placeholder_is_refused_naming_flow_node_field_and_placeholder(
        admin: Admin, text: str, named: str) -> None:
    found = problems(await admin.create(greeting("p", text=text)))
    assert [(p["where"], p["field"]) for p in found] == [("flow p node hello", "text")], found
    assert named in found[0]["message"], found


async def test_every_prompt_field_is_checked(admin: Admin) -> None:
    flow = greeting("m", texts={"en-US": "Hello {line_name.upper}"})
    flow["nodes"]["menu"] = {"kind": "menu", "prompt": "请按{", "prompts": {"en-US": "{x}"},
                             "invalid_prompt": "{0}", "no_input_prompt": "{number:5}",
                             "options": {"1": {"next": "q"}}, "fallback": "bye"}
    flow["nodes"]["bye"] = {"kind": "hangup", "text": "再见{"}
    flow["nodes"]["xfer"] = {"kind": "transfer", "target": "police", "text": "{notice.x}"}
    flow["nodes"]["hello"]["next"] = "menu"
    found = {(p["where"], p["field"]) for p in problems(await admin.create(flow))}
    assert found == {("flow m node hello", "texts.en-US"), ("flow m node menu", "prompt"),
                     ("flow m node menu", "prompts.en-US"), ("flow m node menu", "invalid_prompt"),
                     ("flow m node menu", "no_input_prompt"), ("flow m node bye", "text"),
                     ("flow m node xfer", "text")}


async def test_fields_and_literal_braces_are_spoken_in_a_real_call(admin: Admin,
                                                                   phone: Phone) -> None:
    text = "您好{line_name}，{number}，{department}，请按{{1}}。"
    assert (await admin.create(greeting("fields", text=text))).status_code == 201
    assert (await admin.put_line("12328", flow="fields")).status_code == 200
    root = await phone.twiml("/voice/incoming", CallSid="CAf", From="+8613800000002", To="12328")
    assert says(root)[0] == "您好交通运输热线，12328，交通运输部门，请按{1}。"


async def test_a_notice_is_a_template_too_and_is_checked(admin: Admin, phone: Phone) -> None:
    bad = await admin.put_line("12328", mode="whole", flow="whole-merge", notice="{line_name.x}")
    found = problems(bad)  # the line is checked as the request body: FastAPI's shape
    assert found[0]["loc"] == ["body", "notice"], found
    assert "'{line_name.x}'" in found[0]["msg"], found
    selfref = problems(await admin.put_line("12328", mode="whole", flow="whole-merge",
                                            notice="{notice}"))
    assert "'{notice}'" in selfref[0]["msg"], selfref
    ok = await admin.put_line("12328", mode="whole", flow="whole-merge",
                              notice="{line_name}已并入12345。")
    assert ok.status_code == 200, ok.text
    root = await phone.twiml("/voice/incoming", CallSid="CAn", From="+8613800000003", To="12328")
    assert says(root)[0] == "交通运输热线已并入12345。"


async def test_the_shipped_flows_still_speak_their_fields(phone: Phone) -> None:
    sub = await phone.twiml("/voice/incoming", CallSid="CAs", From="+8613800000004", To="12366")
    assert says(sub)[0].startswith("您好，这里是")
    assert "{" not in says(sub)[0]
    whole = await phone.twiml("/voice/incoming", CallSid="CAw", From="+8613800000005", To="12300")
    assert says(whole)[0].startswith("12300电信用户申诉热线已并入12345")


def test_rendering_never_fails_nor_grows_a_text() -> None:
    line = Line(number="12328", name="交通", mode="dual", queue="pool", flow="dual-number")
    assert fill("您好{", line) == "您好{"
    assert fill("{number.__class__.__mro__}", line) == "{number.__class__.__mro__}"
    assert fill("{number:>50000000}", line) == "{number:>50000000}"
    assert fill("{line_name}{{x}}", line) == "交通{x}"


@pytest.mark.parametrize("eta", [float("inf"), float("nan"), 1e300, -5.0])
def test_a_hold_announcement_never_fails_on_an_odd_estimate(eta: float) -> None:
    for lang in ("zh-CN", "en-US"):
        text = announcement(3, eta, lang)
        minutes = int("".join(c for c in text.split("约")[-1].split("about")[-1] if c.isdigit()))
        assert 1 <= minutes <= MAX_SPOKEN_MINUTES, text
