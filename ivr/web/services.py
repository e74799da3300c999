"""What every router needs, made once by ``create_app`` and reached through ``Svc``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request

if TYPE_CHECKING:
    from ivr.web.roles import TokenBook

from ivr.clock import Clock
from ivr.core.config import CenterConfig
from ivr.settings import Settings
from ivr.store.acd import Acd
from ivr.store.configstore import ConfigStore
from ivr.telephony.rest import CallControl
from ivr.telephony.signature import SignatureChecker


@dataclass
class Services:
    """The wired parts of one running service."""

    settings: Settings
    config: CenterConfig
    clock: Clock
    control: CallControl
    checker: SignatureChecker
    tokens: TokenBook
    acd: Acd | None = None  # set once Redis is connected (lifespan)
    cfgstore: ConfigStore | None = None

    def url(self, path: str, **query: str | int) -> str:
        """An absolute URL on our public base (or a relative one without it) for TwiML."""
        base = (self.settings.public_base_url or "").rstrip("/")
        qs = urlencode({k: v for k, v in query.items() if v is not None and v != ""})
        return f"{base}{path}" + (f"?{qs}" if qs else "")

    def configs(self) -> ConfigStore:
        """The config store, or an error if Redis was never connected."""
        if self.cfgstore is None:
            raise RuntimeError("Redis is not connected")
        return self.cfgstore

    def store(self) -> Acd:
        """The ACD, or an error if Redis was never connected."""
        if self.acd is None:
            raise RuntimeError("Redis is not connected")
        return self.acd

    async def redirect(self, sids: list[str]) -> None:
        """Pull calls that a seat was reserved for out of their hold loop."""
        for sid in sids:
            await self.control.redirect(sid, self.url("/voice/wait"))


def get_services(request: Request) -> Services:
    """The Services of the app handling this request."""
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(get_services)]
