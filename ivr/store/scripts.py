"""The Lua scripts of the ACD, each registered once.

Every script is ``lua/<name>.lua`` with a header naming its KEYS, ARGV and return
value. Before registration each is prefixed with the key builders and the state tables
generated from ``keys.py`` and ``ivr/core/states.py`` (``K``, ``S``, ``T``, ``F``, ``C``,
``allows``, ``transition``) and with the shared files of ``SHARED`` (``lua/common.lua``,
``lua/acd.lua``, ``lua/calls.lua``); KEYS[1] is always the center's meta key.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from ivr.store.keys import lua_preamble

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


@cache
def source(name: str) -> str:
    """The full source of one script: key builders, common helpers, then its body."""
    shared = "\n".join((LUA_DIR / f"{lib}.lua").read_text(encoding="utf-8") for lib in SHARED)
    body = (LUA_DIR / f"{name}.lua").read_text(encoding="utf-8")
    return f"{lua_preamble()}\n{shared}\n-- ---- {name}.lua ----\n{body}"
