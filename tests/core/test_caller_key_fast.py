"""caller_key's shortcut for +86 mobile numbers gives what the full normalisation gives."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ivr.core.numbers import caller_key

AREA = st.from_regex(r"[1-9][0-9]{1,3}", fullmatch=True)
DIGITS = st.text(alphabet="0123456789", min_size=10, max_size=10)


@given(digits=DIGITS, area=AREA)
def test_mobile_shortcut_equals_the_full_path(digits: str, area: str) -> None:
    """A leading space skips the shortcut (formatting is stripped): both spell one key."""
    raw = "+861" + digits
    assert caller_key(raw, area) == caller_key(" " + raw, area)
    assert caller_key(raw, area) == raw


@given(raw=st.text(alphabet="+0123456789 -%2B", max_size=18), area=AREA)
def test_other_shapes_unchanged(raw: str, area: str) -> None:
    """Anything else still goes the full way (spaced: the shortcut never applies)."""
    assert caller_key(raw, area) == caller_key(f" {raw} ", area)
