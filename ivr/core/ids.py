"""One pattern for the identifiers that routing keys are built from.

Queue, skill and seat ids become parts of Redis keys and of the ``queue|skill,...``
lists the Lua scripts split on ``,`` and ``|``: an id holding either would route a call
to seats it must not reach. Every place where such an id enters (config files, admin
API, seat API, webhook query values) checks it against ``IDENT``.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

#: Letters, digits, ``_`` and ``-``; 1 to 40 characters.
IDENT = r"^[A-Za-z0-9_-]{1,40}$"
_IDENT = re.compile(IDENT)

#: A queue, skill or seat id, as a pydantic field type.
Ident = Annotated[str, Field(pattern=IDENT)]


def is_ident(value: str) -> bool:
    """Whether ``value`` is a valid queue, skill or seat id."""
    return _IDENT.match(value) is not None
