"""Nothing above the store reads a raw call-record field or script-reply key.

The store decodes each script's JSON reply and the call hash once, into the typed
results of ``ivr/store/results.py``; a web module that subscripts ``res["ep"]`` or calls
``info.get("cb")`` again spreads the reply shapes (and their conversions) over the
handlers. This scan fails on any string subscript or ``.get("...")`` key in ``ivr/web``
that names a call-record field (``CALL_FIELDS``, longer than one letter) or a key only
the ACD's script replies use.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ivr.core.states import CALL_FIELDS, CALL_STATES, RESULT_STATES, SEAT_STATES
from ivr.store.results import RECORD_FIELDS, CallRecord, SeatRecord

WEB = Path(__file__).resolve().parents[2] / "ivr" / "web"
#: keys that only the ACD scripts' replies carry (common.lua status(), hangup, tick, ...)
REPLY_KEYS = frozenset({"ep", "ring", "pos", "waited", "outcome", "redirect"})
FORBIDDEN = frozenset(k for k in CALL_FIELDS if len(k) > 1) | REPLY_KEYS


def raw_reads(source: str) -> list[tuple[int, str]]:
    """(line, key) of every string subscript and ``.get``/``.pop`` key in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("get", "pop", "setdefault") and node.args
              and isinstance(node.args[0], ast.Constant)):
            key = node.args[0].value
        if isinstance(key, str) and isinstance(node, ast.expr):  # Subscript, Call: have lineno
            found.append((node.lineno, key))
    return found


def test_the_scan_sees_subscripts_and_gets() -> None:
    source = 'a = res["ep"]\nb = info.get("cb")\nc = hook.arg("st")\nd = x[0]\n'
    assert sorted(raw_reads(source)) == [(1, "ep"), (2, "cb")]
    assert {"ep", "cb", "st"} <= FORBIDDEN


def test_web_modules_read_no_raw_call_field_or_reply_key() -> None:
    offences = [f"ivr/web/{path.name}:{line}: {key!r}"
                for path in sorted(WEB.glob("*.py"))
                for line, key in sorted(raw_reads(path.read_text(encoding="utf-8")))
                if key in FORBIDDEN]
    assert not offences, "read the store's typed results instead:\n" + "\n".join(offences)


def test_the_call_record_decodes_fields_the_state_table_names() -> None:
    assert set(RECORD_FIELDS.values()) <= set(CALL_FIELDS), "a field states.py does not name"
    assert set(RECORD_FIELDS) == set(CallRecord.__dataclass_fields__)
    raw = {"st": "waiting", "ln": "12345", "dl": "jambonz", "lg": "en-US", "fr": "138****0000",
           "q": "pool", "seat": "p01", "leg": "CB1", "wait": "1500", "cb": "1",
           "cbn": "+8613800000000", "gone": "1"}
    assert CallRecord.decode(raw) == CallRecord(
        "waiting", "12345", "jambonz", "en-US", "138****0000", "pool", "p01", "CB1", 1500, True,
        "+8613800000000", True)
    for attr, name in RECORD_FIELDS.items():  # each attribute comes from the field it names
        alone = CallRecord.decode({name: raw[name]})
        assert getattr(alone, attr) != getattr(CallRecord(), attr), (attr, name)
    assert CallRecord.decode({}) == CallRecord()
    assert SeatRecord.decode({}).known is False
    assert SeatRecord.decode({"st": "talking", "call": "CA1", "last": "CA0"}) == SeatRecord(
        True, "talking", "CA1", "CA0")


STATES = frozenset(CALL_STATES) | frozenset(SEAT_STATES) | frozenset(RESULT_STATES)


def state_tests(source: str) -> list[tuple[int, str]]:
    """(line, literal) of every comparison in ``source`` with a string that names a state."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                elts = side.elts if isinstance(side, ast.Tuple | ast.List | ast.Set) else [side]
                found += [(node.lineno, e.value) for e in elts
                          if isinstance(e, ast.Constant) and e.value in STATES]
    return found


def test_the_state_scan_sees_comparisons() -> None:
    source = 'a = st == "ended"\nb = s in ("reserved", "talking")\nc = {"waiting": 1}\n'
    assert sorted(state_tests(source)) == [(1, "ended"), (2, "reserved"), (2, "talking")]


def test_web_modules_test_no_state_literal() -> None:
    """A handler compares a state with the names of ivr/core/states.py, never a literal."""
    offences = [f"ivr/web/{path.name}:{line}: {lit!r}"
                for path in sorted(WEB.glob("*.py"))
                for line, lit in sorted(state_tests(path.read_text(encoding="utf-8")))]
    assert not offences, "use ivr.core.states' names:\n" + "\n".join(offences)
