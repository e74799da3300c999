"""Prompt templates: admin text with a fixed set of named fields. Pure: no I/O.

A prompt is plain text in which ``{line_name}``, ``{number}``, ``{notice}`` and
``{department}`` are replaced by the dialed line's values; ``{{`` and ``}}`` stand for
literal braces. Nothing else is a placeholder: no attribute access, no index, no
format spec, no conversion. :func:`problems` lists what is wrong with a text (checked
when config is validated); :func:`render` never fails and never grows a text beyond
its fields' values (anything it does not understand is kept as written).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

FIELDS = frozenset({"line_name", "number", "notice", "department"})
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|\{[^{}]*\}?|\}")
# characters XML 1.0 does not allow in a document (C0 controls but tab/LF/CR, surrogates,
# U+FFFE, U+FFFF): the same set the TwiML serialiser strips
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def problems(text: str, fields: Collection[str] = FIELDS) -> list[str]:
    """Why ``text`` is not a valid prompt with these fields ([] when it is)."""
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        if token in ("{{", "}}"):
            continue
        name = m.group(1)
        if name is None:
            out.append(f"bad placeholder {token!r}: use {{name}} with a name of "
                       f"{', '.join(sorted(fields))}, or {{{{ and }}}} for literal braces")
        elif name not in fields:
            out.append(f"unknown placeholder {token!r}: known are {', '.join(sorted(fields))}")
    bad = _NOT_XML.search(text)
    if bad:
        out.append(f"contains the control character U+{ord(bad.group(0)):04X}")
    return out


def render(text: str, values: Mapping[str, str]) -> str:
    """The text with its known fields filled in; anything else is kept as written."""

    def one(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = m.group(1)
        return values[name] if name is not None and name in values else token

    return _TOKEN.sub(one, text)
