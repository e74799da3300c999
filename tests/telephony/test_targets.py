"""Transfer targets: what is shown and said apart from how it is dialled; caller-ID policy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ivr.core.numbers import Target, caller_id_for

CALLER = "+8613800138000"
CENTER = "+861065123456"


def test_shown_apart_from_dialled() -> None:
    police = Target(number="110", name="110报警服务台", dial="sip:110@gw.carrier.example.cn")
    assert police.address() == "sip:110@gw.carrier.example.cn"
    assert police.number == "110"
    assert Target(number="95598", name="电网", kind="utility").address() == "95598"


@pytest.mark.parametrize("dial", ["110", "12345", "+0123", "tel:110", "sip:", "+86 10 96116"])
def test_dial_must_be_e164_or_sip(dial: str) -> None:
    with pytest.raises(ValidationError):
        Target(number="110", name="x", dial=dial)


@pytest.mark.parametrize(("kind", "policy", "caller", "center", "expected"), [
    ("emergency", "", CALLER, CENTER, CALLER),
    ("utility", "", CALLER, CENTER, CALLER),
    ("region", "", CALLER, CENTER, CALLER),
    ("other", "", CALLER, CENTER, CENTER),
    ("emergency", "center", CALLER, CENTER, CENTER),
    ("emergency", "none", CALLER, CENTER, None),
    ("emergency", "", "12345", CENTER, None),  # a short code is never a caller ID
    ("emergency", "", "anonymous", CENTER, None),
    ("emergency", "", "", CENTER, None),
    ("other", "", CALLER, None, None),  # no verified center number configured
    ("other", "", CALLER, "12345", None),
])
def test_caller_id_policy(kind: str, policy: str, caller: str, center: str | None,
                          expected: str | None) -> None:
    target = Target(number="110", name="x", kind=kind, caller_id=policy)
    assert caller_id_for(target, caller, center) == expected


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValidationError):
        Target(number="110", name="x", caller_id="anyone")
