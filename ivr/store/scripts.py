"""The Lua scripts of the ACD, each registered once.

Every script is ``lua/<name>.lua`` with a header naming its KEYS, ARGV and return
value. Before registration each is prefixed with the key builders and the state tables
generated from ``keys.py`` and ``ivr/core/states.py`` (``K``, ``S``, ``T``, ``F``, ``C``,
``allows``, ``transition``) and with the shared files of ``SHARED`` (``lua/common.lua``,
``lua/acd.lua``, ``lua/calls.lua``); KEYS[1] is always the center's meta key.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from ivr.store.keys import inline_names, lua_preamble

LUA_DIR = Path(__file__).parent / "lua"
#: the shared Lua files every script is prefixed with, in this order (each uses the ones
#: before it): helpers and counters, matching calls and seats, a call's record
SHARED = ("common", "acd", "calls")
#: the scripts of the call distributor, each registered once by ``Acd`` (``acd.py``)
NAMES = (
    "begin",
    "enqueue",
    "wait",
    "answered",
    "dial_done",
    "hangup",
    "note",
    "seat",
    "tick",
    "seat_sync",
    "seat_remove",
    "callback",
    "rate",
    "seat_handoff",
    "reconcile",
)
#: the scripts of the config store, registered by it (``ivr/store/config.py``), not by Acd
CONFIG_NAMES = ("cfg_write",)


#: the first line of a top-level function in a shared file (it ends at a line ``end``)
_FUNC = re.compile(r"^(?:local function (\w+)\(|(\w+) = function\()")


def _code(text: str) -> str:
    """Lua text without its comments (no shared file has ``--`` inside a string)."""
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def _units(text: str) -> list[tuple[str | None, str]]:
    """A shared file as top-level units: (function name, its text) or (None, other lines)."""
    units: list[tuple[str | None, str]] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        m = _FUNC.match(lines[i])
        if not m:
            units.append((None, lines[i]))
            i += 1
            continue
        j = i
        if not re.search(r"\bend\s*$", _code(lines[i])):  # not a one-line function
            j = next(k for k in range(i + 1, len(lines)) if lines[k].rstrip() == "end")
        units.append((m.group(1) or m.group(2), "".join(lines[i:j + 1])))
        i = j + 1
    return units


def shared_for(body: str) -> str:
    """The shared files with only the functions ``body`` reaches (directly or through others).

    Every script call runs its whole chunk, so a function it never calls would still cost a
    closure each call; the other lines (locals, comments) are kept as they are.
    """
    units = [u for lib in SHARED for u in _units((LUA_DIR / f"{lib}.lua").read_text(encoding="utf-8"))]
    functions = {name: _code(text) for name, text in units if name}
    # roots: the body and the other top-level lines, but not a forward declaration
    todo = [_code(body), *(_code(text) for name, text in units
                           if not name and not re.fullmatch(r"local \w+\s*", _code(text)))]
    needed: set[str] = set()
    while todo:
        code = todo.pop()
        for name, fcode in functions.items():
            if name not in needed and re.search(rf"\b{name}\b", code):
                needed.add(name)
                todo.append(fcode)
    return "".join(text for name, text in units if not name or name in needed)


@cache
def source(name: str) -> str:
    """One script as registered: the key builders and shared helpers it uses, rules, its body.

    Names of the preamble's tables (``F.st``, ``S.call.waiting``, ``C.ANY``) are written in
    place (:func:`ivr.store.keys.inline_names`).
    """
    body = (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")
    code = f"{shared_for(body)}\n-- ---- {name}.lua ----\n{body}"
    keys = frozenset(re.findall(r"\bK\.(\w+)\(", _code(code)))
    return inline_names(f"{lua_preamble(tables=False, keys=keys)}\n{code}")
