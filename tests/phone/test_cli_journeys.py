"""Scripted ``ivr call`` journeys, one per merge mode, through the in-process app."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from ivr.phone.call import Input
from ivr.phone.cli import call, scripted_inputs
from tests.phone.conftest import ROOT

MONDAY_10AM = "2027-01-11 10:00"  # every queue open


@pytest.fixture
def env(redis_url: str) -> dict[str, str]:
    return {"IVR_REDIS_URL": redis_url, "IVR_CONFIG_DIR": str(ROOT),
            "IVR_TWILIO_AUTH_TOKEN": "journey-token"}


def dial(env: dict[str, str], *args: str, code: int = 0) -> dict[str, Any]:
    result = CliRunner().invoke(call, [*args, "--fast", "--at", MONDAY_10AM, "--json"], env=env)
    assert result.exit_code == code, result.output
    out: dict[str, Any] = json.loads(result.stdout)
    assert {e["status"] for e in out["events"] if e["kind"] == "request"} == {200}
    return out


def kinds(out: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in out["events"] if e["kind"] == kind]


def says(out: dict[str, Any]) -> list[str]:
    """What the caller heard before a seat (or a transfer target) answered."""
    heard = []
    for e in out["events"]:
        if e["kind"] == "answered":
            break
        if e["kind"] == "say":
            heard.append(e["text"])
    return heard


def test_12345_hub_silence_reaches_a_person(env: dict[str, str]) -> None:
    out = dial(env, "12345", "--demo")
    assert "12345" in says(out)[0]
    # Twilio's language code of the speech table's Mandarin voice, not the flow's zh-CN
    assert [e["language"] for e in kinds(out, "say")][:2] == ["cmn-CN", "cmn-CN"]
    menu = kinds(out, "menu")[0]
    assert (menu["timeout"], menu["num_digits"]) == (3.0, 1)
    assert (kinds(out, "input")[0]["digits"], kinds(out, "input")[0]["speech"]) == ("", "")
    (answered,) = kinds(out, "answered")
    assert answered["endpoint"].startswith("client:p0")
    assert out["hung_up_by"] == "service"
    assert out["errors"] == []


def test_12358_whole_merge_hears_the_notice_then_a_trained_seat(env: dict[str, str]) -> None:
    out = dial(env, "12358", "--demo")
    notice = says(out)[0]
    assert "12358" in notice
    assert "12345" in notice
    (answered,) = kinds(out, "answered")
    assert answered["endpoint"] == "client:p03", "p03 is trained for 12358"


def test_12328_dual_numbers_go_straight_to_a_trained_seat(env: dict[str, str]) -> None:
    out = dial(env, "12328", "--demo", "--talk", "42")
    assert says(out) == [], "a dual-number line has no greeting and no menu"
    (answered,) = kinds(out, "answered")
    assert answered["endpoint"] == "client:p01"
    (talk,) = kinds(out, "talk-end")
    assert talk["seconds"] == pytest.approx(42.0)


def test_12366_sub_center_uses_its_own_seats(env: dict[str, str]) -> None:
    out = dial(env, "12366", "--demo")
    assert "税务" in says(out)[0]
    (answered,) = kinds(out, "answered")
    assert answered["endpoint"] == "client:s12366-1"


def test_a_key_press_transfers_to_110(env: dict[str, str]) -> None:
    out = dial(env, "12345", "--press", "1")
    assert kinds(out, "input")[0]["digits"] == "1"
    assert [d["to"] for d in kinds(out, "dial")] == [["110"]]
    assert kinds(out, "answered")[0]["endpoint"] == "110"


def test_spoken_fire_and_a_busy_119_fall_back_to_the_pool(env: dict[str, str]) -> None:
    out = dial(env, "12345", "--say", "我家着火了", "--transfer", "busy", "--demo")
    assert kinds(out, "input")[0]["speech"] == "我家着火了"
    assert [d["to"][0] for d in kinds(out, "dial")] == ["119", "client:p01"]


def test_a_caller_with_nobody_to_answer_hangs_up_after_the_set_time(env: dict[str, str]) -> None:
    out = dial(env, "12328", "--hangup-after", "20")
    assert out["hung_up_by"] == "caller"
    (end,) = kinds(out, "end")
    assert end["duration"] == 20
    assert any("/voice/wait" in e["url"] for e in kinds(out, "request"))
    assert kinds(out, "request")[-1]["what"] == "status"


def test_press_and_say_keep_their_command_line_order() -> None:
    assert scripted_inputs(["say", "press", "press"], ("9", "1"), ("着火",)) == [
        Input(speech="着火"), Input(digits="9"), Input(digits="1")]


def test_text_output_shows_prompts_with_language_and_the_seat(env: dict[str, str]) -> None:
    result = CliRunner().invoke(call, ["12366", "--demo", "--fast", "--at", MONDAY_10AM],
                                env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Calling 12366 from +8613800138000")
    assert any(line.startswith("  [cmn-CN] ") and "税务" in line for line in lines)
    assert any("s12366-1 (税务分中心坐席1) answered" in line for line in lines)
    assert lines[-1].startswith("Call ended after")
