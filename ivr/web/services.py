"""What every router needs, made once by ``create_app`` and reached through ``Svc``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request

if TYPE_CHECKING:
    from ivr.web.roles import TokenBook

from ivr.clock import Clock
from ivr.core.config import CenterConfig
from ivr.settings import Settings
from ivr.store.acd import Acd, Result
from ivr.store.configstore import ConfigStore
from ivr.store.connection import Breaker
from ivr.store.journal import OUTAGE, Arg, Journal
from ivr.telephony.rest import CallControl
from ivr.telephony.signature import SignatureChecker

log = logging.getLogger("ivr.events")
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


class StoreUnavailable(RuntimeError):
    """Redis was never connected (the service started while it was away)."""


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
    breaker: Breaker = field(default_factory=Breaker)  # after a Redis failure: skip Redis
    journal: Journal = field(default_factory=lambda: Journal(Path(".ivr-data") / "journal"))

    def url(self, path: str, **query: str | int) -> str:
        """An absolute URL on our public base (or a relative one without it) for TwiML."""
        base = (self.settings.public_base_url or "").rstrip("/")
        qs = urlencode({k: v for k, v in query.items() if v is not None and v != ""})
        return f"{base}{path}" + (f"?{qs}" if qs else "")

    def configs(self) -> ConfigStore:
        """The config store, or an error if Redis was never connected."""
        if self.cfgstore is None:
            raise StoreUnavailable("Redis is not connected")
        return self.cfgstore

    def store(self) -> Acd:
        """The ACD, or an error if Redis was never connected."""
        if self.acd is None:
            raise StoreUnavailable("Redis is not connected")
        return self.acd

    async def event(self, op: str, *args: Arg) -> Result | None:
        """Apply a call event now; while Redis is away keep it (None) for ``replay``.

        Events kept earlier are applied first, so that one call's events keep their order.
        """
        at = int(self.clock.now() * 1000)
        try:
            if self.journal.pending():
                await self.redirect(await self.journal.replay(self._apply))
            res = await self.store().apply_event(op, list(args), at)
        except (*OUTAGE, StoreUnavailable) as exc:
            self.journal.keep(op, args, at)
            log.warning("Redis unavailable (%s): %s kept for later", type(exc).__name__, op)
            return None
        await self.redirect(res.get("redirect", []))
        return res

    async def _apply(self, op: str, args: Any, at_ms: int) -> list[str]:
        res = await self.store().apply_event(op, list(args), at_ms)
        return list(res.get("redirect", []))

    async def replay(self) -> None:
        """Apply the call events kept while Redis was away (this worker's and dead workers')."""
        await self.redirect(await self.journal.replay(self._apply))

    async def reconcile(self) -> int:
        """End calls the platform says are over though we never heard so; returns how many."""
        ended = 0
        for sid in await self.store().reconcile_candidates(
                self.settings.reconcile_after_seconds, self.settings.reconcile_every_seconds):
            status = await self.control.fetch_status(sid)
            if status in FINAL_STATUSES:
                log.warning("call %s is %s on the platform but live here: ended it", sid, status)
                await self.event("hangup", sid, status, "")
                ended += 1
        return ended

    async def redirect(self, sids: list[str]) -> None:
        """Connect calls a seat was reserved for (hold-loop redirect, or call back).

        Callers who asked for a callback and hung up are called back instead.
        """
        callbacks = any(q.callback for q in self.config.roster.queues)
        for sid in sids:
            info = await self.store().call_info(sid) if callbacks else {}
            if info.get("cb") == "1" and info.get("gone") == "1":
                await self.call_back(sid, info)
            else:
                await self.control.redirect(sid, self.url("/voice/wait"))

    async def call_back(self, sid: str, info: dict[str, str]) -> None:
        """Place the call back to a caller whose place in line has come up."""
        queue = next((q for q in self.config.roster.queues if q.id == info.get("q")), None)
        policy = queue.callback if queue else None
        line = self.config.line(info.get("ln", ""))
        from_ = (policy.caller_id if policy and policy.caller_id else
                 self.settings.callback_from or (line.number if line else ""))
        try:
            await self.control.create_call(
                info.get("cbn", ""), from_, self.url("/voice/callback-connect", call=sid),
                status_callback=self.url("/voice/callback-status", call=sid))
        except Exception:  # no REST credentials or Twilio refused: count a failed attempt
            attempts, retry = (policy.max_attempts, policy.retry_seconds) if policy else (1, 60)
            res = await self.store().callback_failed(sid, attempts, retry)
            await self.redirect(res.get("redirect", []))


async def get_services(request: Request) -> Services:
    """The Services of the app handling this request."""
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(get_services)]
