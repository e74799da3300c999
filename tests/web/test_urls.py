"""The URLs the service writes into call documents: spelled as ``urlencode`` would."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from ivr.core.config import CenterConfig
from ivr.settings import Settings
from ivr.web.services import Services

NAMES = st.text(min_size=1, max_size=8).filter(lambda name: name.isidentifier() and name != "path")
VALUES = st.one_of(st.text(max_size=20), st.integers(), st.sampled_from(["", "zh-CN", "a b", "+86"]),
                   st.none())


def _services(base: str) -> Services:
    svc = Services.__new__(Services)  # url() reads nothing but the settings
    svc.settings = Settings(public_base_url=base)
    return svc


@given(query=st.dictionaries(NAMES, VALUES, max_size=7),
       base=st.sampled_from(["", "https://ivr.example.org", "https://ivr.example.org/x/"]))
def test_url_query_is_urlencode(query: dict[str, str | int | None], base: str) -> None:
    """Any names and values (Chinese, spaces, '&', '=', '%', '+') give urlencode's query."""
    kept = {k: v for k, v in query.items() if v is not None and v != ""}
    qs = urlencode(kept)
    want = base.rstrip("/") + "/voice/wait" + (f"?{qs}" if qs else "")
    got = _services(base).url("/voice/wait", **query)  # type: ignore[arg-type]
    assert got == want


def test_url_common_values() -> None:
    """The hold loop's wait URL: identifiers and numbers appended as they are."""
    svc = _services("https://ivr.example.org/")
    url = svc.url("/voice/wait", lang="zh-CN", loop=3, pos=0, call="")
    assert url == "https://ivr.example.org/voice/wait?lang=zh-CN&loop=3&pos=0"
    assert svc.url("/voice/fallback") == "https://ivr.example.org/voice/fallback"
    assert svc.url("/voice/x", t="a b&c") == "https://ivr.example.org/voice/x?t=a+b%26c"
    for value in ("a&b", "a=b", "a&b=c", "=", "&", "a&&b"):  # separators inside a value
        assert svc.url("/voice/x", t=value, n=1) == "https://ivr.example.org/voice/x?" + urlencode(
            {"t": value, "n": 1}), value


def test_line_for_is_the_configs_and_follows_a_new_config(base_config: CenterConfig) -> None:
    """The remembered line of a dialed number is the config's, and a new config's once swapped."""
    svc = _services("")
    svc.config = base_config
    for dialed in ("12328", "+8612328", "010-12345", "99999", "", "junk"):
        assert svc.line_for(dialed) == base_config.line_for(dialed), dialed
        assert svc.line_for(dialed) == base_config.line_for(dialed), f"{dialed} remembered"
    alias = "+861065123456"  # the hub's alias in the config folders
    assert svc.line_for(alias)[1], "the alias is a known number"
    other = base_config.plan.model_copy(update={"lines": tuple(
        line.model_copy(update={"aliases": ()}) for line in base_config.plan.lines)})
    svc.config = replace(base_config, plan=other)
    assert not svc.line_for(alias)[1], "a new config without the alias: remembered line dropped"
