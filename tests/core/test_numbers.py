"""The number plan's pure functions: normalise every spelling, look lines up, mask, caller_key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ivr.core.numbers import Line, NumberPlan, Target, caller_id_for, caller_key, lookup, mask, normalise

BEIJING = "10"


@pytest.mark.parametrize(("raw", "canon"), [
    # a short code dialed locally, with the area code, with +86 and with 0086
    ("12345", "12345"),
    ("010-12345", "12345"),
    ("01012345", "12345"),
    ("+86 10 12345", "12345"),
    ("+861012345", "12345"),
    ("00861012345", "12345"),
    ("0086 10 12345", "12345"),
    ("(010) 12345", "12345"),
    # a national short code without the area code
    ("12366", "12366"),
    ("+8612366", "12366"),
    ("008612366", "12366"),
    ("110", "110"),
    ("+86110", "110"),
    ("95598", "95598"),
    ("+8695598", "95598"),
    # a short code that begins with the area code's digits is still the short code
    ("10086", "10086"),
    ("+8610086", "10086"),
    ("0086 10086", "10086"),
    ("+8610010", "10010"),
    ("010-10086", "10086"),
    # the written form "+86 (0)10 ...": the trunk 0 in brackets is not dialled
    ("+86 (0)10 12345", "12345"),
    ("+86 (0)10 6512 3456", "+861065123456"),
    ("0086 (0)138 0013 8000", "+8613800138000"),
    # DIDs: Chinese numbers become +86..., with or without trunk 0 or formatting
    ("010-6512-3456", "+861065123456"),
    ("+86 10 6512 3456", "+861065123456"),
    ("13800138000", "+8613800138000"),
    ("+8613800138000", "+8613800138000"),
    ("138.0013.8000", "+8613800138000"),
    # another city's 12345 with its own area code stays distinct
    ("021-12345", "+862112345"),
    # foreign numbers keep their country code
    ("+1 415 555 0100", "+14155550100"),
    ("001 415 555 0100", "+14155550100"),
    # nothing dialable
    ("", ""),
    ("---", ""),
    ("+", ""),
    ("+86", ""),
])
def test_normalise_every_spelling(raw: str, canon: str) -> None:
    assert normalise(raw, BEIJING) == canon


def test_normalise_uses_the_centers_area_code() -> None:
    assert normalise("021-12345", "21") == "12345"
    assert normalise("010-12345", "21") == "+861012345"
    assert normalise("0755-12345", "755") == "12345"


def test_normalise_is_idempotent() -> None:
    for raw in ("010-12345", "+8613800138000", "+14155550100", "12366", "+8610086"):
        once = normalise(raw, BEIJING)
        assert normalise(once, BEIJING) == once


def _line(number: str, flow: str = "main", **kw: object) -> Line:
    return Line.model_validate({"number": number, "name": f"line {number}", "mode": "hub",
                                "queue": "pool", "flow": flow, **kw})


def _plan() -> NumberPlan:
    return NumberPlan(lines=(
        _line("12345"),
        _line("12328", mode="dual", aliases=("+861012328", "010-12328")),
        _line("10086", aliases=("+8610086",)),
        _line("12366", flow="sub", mode="sub", aliases=("+861065550000",)),
    ))


@pytest.mark.parametrize(("dialed", "line"), [
    ("12345", "12345"), ("+861012345", "12345"), ("010 12345", "12345"),
    ("12328", "12328"), ("+86-10-12328", "12328"),
    ("10086", "10086"), ("+8610086", "10086"),
    ("12366", "12366"), ("+8612366", "12366"),
    ("010-6555-0000", "12366"), ("+86 10 6555 0000", "12366"),
])
def test_lookup_finds_lines_by_number_and_alias(dialed: str, line: str) -> None:
    plan = _plan()
    found, known = lookup(plan, plan.index(), dialed)
    assert (found.number, known) == (line, True)


@pytest.mark.parametrize("dialed", ["99999", "+14155550100", "", "abc", "021-12345"])
def test_unknown_numbers_go_to_the_default_line(dialed: str) -> None:
    plan = _plan()
    found, known = lookup(plan, plan.index(), dialed)
    assert (found.number, known) == ("12345", False)


def test_two_lines_may_not_share_a_number_in_any_spelling() -> None:
    with pytest.raises(ValidationError, match="already used by line 12345"):
        NumberPlan(lines=(_line("12345"), _line("12328", aliases=("010-12345",))))


def test_default_line_must_be_a_line() -> None:
    with pytest.raises(ValidationError, match="default_line"):
        NumberPlan(lines=(_line("12328"),), default_line="12345")


def test_whole_merge_line_needs_a_notice() -> None:
    with pytest.raises(ValidationError, match="notice"):
        _line("12328", mode="whole")
    assert _line("12328", mode="whole", notice="请拨打12345。").notice


@pytest.mark.parametrize(("number", "masked"), [
    ("13800138000", "138****8000"),
    ("+8613800138000", "+86138****8000"),
    ("12345678", "****5678"),
    ("1234567", "12*****"),
    ("12345", "12***"),
    ("12", "12"),
    ("1", "1"),
    ("", ""),
])
def test_mask_hides_the_middle(number: str, masked: str) -> None:
    assert mask(number) == masked


def test_mask_never_shows_a_whole_mobile_number() -> None:
    for number in ("13800138000", "+8613800138000", "008613800138000"):
        assert "0013" not in mask(number)
        assert len(mask(number)) == len(number)


@pytest.mark.parametrize("raw", [
    "+8613800138000", "8613800138000", "008613800138000", "13800138000",
    "138 0013 8000", "138-0013-8000", "%2B8613800138000", "+86 138 0013 8000",
])
def test_caller_key_is_one_spelling_per_caller(raw: str) -> None:
    assert caller_key(raw, BEIJING) == "+8613800138000"


def test_caller_key_keeps_different_callers_apart() -> None:
    keys = {caller_key(n, BEIJING) for n in
            ("13800138000", "13800138001", "010-6512-3456", "+14155550100", "12345")}
    assert len(keys) == 5
    assert caller_key("", BEIJING) == ""
    assert caller_key("anonymous", BEIJING) == ""


@pytest.mark.parametrize(("kind", "own", "caller", "expected"), [
    ("emergency", "", "+8613800138000", "+8613800138000"),  # 110 sees the caller to call back
    ("utility", "", "+8613800138000", "+8613800138000"),
    ("other", "", "+8613800138000", "+861065550000"),  # others see the center's number
    ("emergency", "center", "+8613800138000", "+861065550000"),
    ("other", "caller", "+8613800138000", "+8613800138000"),
    ("emergency", "none", "+8613800138000", None),
    ("emergency", "", "12345", None),  # never a short code
    ("emergency", "", "anonymous", None),
    ("emergency", "", "", None),
])
def test_caller_id_for_a_transfer(kind: str, own: str, caller: str, expected: str | None) -> None:
    target = Target(number="110", name="110", kind=kind, caller_id=own)
    assert caller_id_for(target, caller, "+861065550000") == expected


def test_caller_id_of_the_center_must_be_e164() -> None:
    target = Target(number="95598", name="电力", kind="other")
    assert caller_id_for(target, "+8613800138000", "12345") is None
    assert caller_id_for(target, "+8613800138000", None) is None


def test_target_address_prefers_dial() -> None:
    assert Target(number="110", name="110").address() == "110"
    assert Target(number="110", name="110", dial="+861011000000").address() == "+861011000000"
    with pytest.raises(ValidationError):
        Target(number="110", name="110", dial="110")
