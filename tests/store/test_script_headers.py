"""Every script's header names every key it touches, found by reading the Lua itself.

A script's keys are the ``K.<name>(...)`` builders its body calls, and those of every
shared function (``scripts.SHARED``) it calls, transitively. Its header lists them after
``KEYS[1]`` as key shapes (``call:<sid>``, ``wait:<queue>:<skill>``); the test fails when
the header and the code disagree, either way.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr.store import scripts
from ivr.store.keys import TEMPLATES

LUA = Path(scripts.LUA_DIR)
FUNC = re.compile(r"^(?:local function (\w+)\(|(\w+) = function\()", re.M)
KEY_REF = re.compile(r"\bK\.(\w+)\(")
SHAPES = {t.replace("{", "<").replace("}", ">"): name for name, (t, _) in TEMPLATES.items()}


def _code(text: str) -> str:
    """Lua text without its comments."""
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def _shared_functions() -> dict[str, str]:
    """Name -> body of every top-level function of the shared files."""
    out: dict[str, str] = {}
    for lib in scripts.SHARED:
        text = _code((LUA / f"{lib}.lua").read_text(encoding="utf-8"))
        found = list(FUNC.finditer(text))
        for i, m in enumerate(found):
            end = found[i + 1].start() if i + 1 < len(found) else len(text)
            out[m.group(1) or m.group(2)] = text[m.end():end]
    return out


def keys_used(code: str, functions: dict[str, str], seen: set[str] | None = None) -> set[str]:
    """Key builders ``code`` calls, itself or through the shared functions it calls."""
    seen = set() if seen is None else seen
    keys = set(KEY_REF.findall(code))
    for name, body in functions.items():
        if name not in seen and re.search(rf"\b{name}\(", code):
            seen.add(name)
            keys |= keys_used(body, functions, seen)
    return keys


def keys_in_header(text: str) -> set[str]:
    """Key builders a script's header names after its ``KEYS[1]`` line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-- KEYS[1] "))
    header = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith("--   "):
            break
        header.append(line)
    listed = " ".join(header).split(":", 1)[-1] if len(header) > 1 else ""
    listed = listed.split("KEYS):", 1)[-1]
    names = set()
    for item in re.split(r",\s*", listed.replace("--   ", " ")):
        shape = item.strip().removesuffix(" (channel)")
        if shape:
            names.add(SHAPES.get(shape, "?" + shape))
    return names | {"meta"}


@pytest.mark.parametrize("name", [*scripts.NAMES, *scripts.CONFIG_NAMES])
def test_a_scripts_header_names_every_key_it_touches(name: str) -> None:
    text = (LUA / f"{name}.lua").read_text(encoding="utf-8")
    used = keys_used(_code(text), _shared_functions()) | {"meta"}
    assert keys_in_header(text) == used, f"{name}.lua header vs the keys its code builds"


def test_the_key_scan_follows_shared_functions() -> None:
    functions = {"a": "redis.call('GET', K.live())", "b": "a() K.timers()"}
    assert keys_used("b()", functions) == {"live", "timers"}
    assert keys_used("x = K.seat(s)", functions) == {"seat"}
    header = ("-- KEYS[1] center meta key. Other keys, built (ids from ARGV or records, so not"
              " declared in KEYS): call:<sid>,\n--   wait:<queue>:<skill>\n-- ARGV[1] now")
    assert keys_in_header(header) == {"meta", "call", "wait"}
