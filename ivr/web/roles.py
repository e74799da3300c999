"""Who may call what: admin, monitor and seat roles behind bearer tokens.

Tokens come from settings (``IVR_ADMIN_TOKEN``, ``IVR_MONITOR_TOKEN``, comma-separated
for several) and from an optional secrets file (``IVR_TOKENS_FILE``)::

    admin:
      - {name: alice, sha256: "9f86d08..."}   # a token's SHA-256, hex
    monitor:
      - {name: wall-screen, token: "plain-token"}

Only SHA-256 digests are kept in memory, compared in constant time. An admin may do
everything a monitor may. Seats use their own HMAC tokens (``ivr.auth``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import Depends, Header, HTTPException

from ivr.settings import Settings
from ivr.web.services import Svc


class Role(StrEnum):
    """The roles of the service's users."""

    ADMIN = "admin"
    MONITOR = "monitor"


@dataclass(frozen=True)
class Principal:
    """Who made a request."""

    role: Role
    name: str


def digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is kept."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class TokenBook:
    """Digests of every valid token, with the role and name they stand for."""

    entries: list[tuple[str, Role, str]] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenBook:
        """Tokens from the settings and the secrets file."""
        book = cls()
        for role, raw in ((Role.ADMIN, settings.admin_token), (Role.MONITOR, settings.monitor_token)):
            for token in filter(None, (t.strip() for t in raw.split(","))):
                book.entries.append((digest(token), role, role.value))
        if settings.tokens_file:
            book._load_file(settings.tokens_file)
        return book

    def _load_file(self, path: Path) -> None:
        doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for role in Role:
            for item in doc.get(role.value, []) or []:
                name = str(item.get("name", role.value))
                if item.get("sha256"):
                    self.entries.append((str(item["sha256"]).lower(), role, name))
                elif item.get("token"):
                    self.entries.append((digest(str(item["token"])), role, name))

    def lookup(self, token: str) -> Principal | None:
        """The principal a token stands for, or None."""
        d = digest(token)
        found = None
        for known, role, name in self.entries:
            if hmac.compare_digest(known, d):
                found = Principal(role, name)
        return found


def bearer(authorization: str) -> str:
    """The token of an ``Authorization: Bearer ...`` header ('' for any other header)."""
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def require(*roles: Role) -> Any:
    """A dependency letting in only the given roles (admin is always let in).

    The token comes only from the ``Authorization`` header: a ``?token=`` would end up
    in access logs, proxies and browser history (only the monitor's SSE stream and
    dashboard page take one, see ``ivr.web.monitor``).
    """
    allowed = {*roles, Role.ADMIN}

    def dep(svc: Svc, authorization: Annotated[str, Header(include_in_schema=False)] = "") -> Principal:
        presented = bearer(authorization)
        if not presented:
            raise HTTPException(401, "a bearer token is required (Authorization: Bearer ...)",
                                headers={"WWW-Authenticate": "Bearer"})
        who = svc.tokens.lookup(presented)
        if who is None:
            raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
        if who.role not in allowed:
            raise HTTPException(403, f"the {who.role} role may not do this")
        return who

    return Depends(dep)


Admin = Annotated[Principal, require(Role.ADMIN)]
Monitor = Annotated[Principal, require(Role.MONITOR)]
