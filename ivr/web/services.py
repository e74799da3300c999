"""What every router needs, made once by ``create_app`` and reached through ``Svc``."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote_plus

from fastapi import Depends, Request

if TYPE_CHECKING:
    from ivr.web.roles import TokenBook

from ivr.clock import Clock
from ivr.core import callback, engine
from ivr.core.config import CenterConfig
from ivr.core.numbers import Line
from ivr.settings import Settings
from ivr.store.acd import Acd
from ivr.store.config import ConfigStore
from ivr.store.connection import Breaker
from ivr.store.journal import OUTAGE, Arg, Journal
from ivr.store.results import CallRecord, EventResult
from ivr.telephony.dialect import PREFIXES
from ivr.telephony.rest import CallControl, can_act
from ivr.telephony.signature import SignatureChecker

log = logging.getLogger("ivr.events")
#: What ``quote_plus`` leaves as it is: a text of only these needs no quoting.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
_LINES_KEPT = 4096  #: dialed numbers whose line ``Services.line_for`` remembers
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


class StoreUnavailable(RuntimeError):
    """Redis was never connected (the service started while it was away)."""


@dataclass
class Services:
    """The wired parts of one running service.

    ``control`` is Twilio's REST API; ``controls`` holds each dialect's (``twilio``,
    ``jambonz``). A call is acted on through the platform it came in on (the call record's
    ``dl``); calls the service places go through the line's ``dialect`` or the deployment's.
    """

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
    controls: dict[str, CallControl] = field(default_factory=dict)  # by dialect name
    # of the config in ``_lines_of``: dialed number -> (line, known) (see ``line_for``),
    # line number -> its first step when that reads no schedule (see ``first_step``)
    _lines: dict[str, tuple[Line, bool]] = field(default_factory=dict, repr=False)
    _starts: dict[str, engine.Step] = field(default_factory=dict, repr=False)
    _lines_of: CenterConfig | None = field(default=None, repr=False)

    def _fresh(self) -> None:
        """Forget what was remembered of an earlier config."""
        if self._lines_of is not self.config:
            self._lines, self._starts, self._lines_of = {}, {}, self.config

    def line_for(self, dialed: str) -> tuple[Line, bool]:
        """``config.line_for``, remembered per config (a new config starts afresh)."""
        self._fresh()
        found = self._lines.get(dialed)
        if found is None:
            found = self.config.line_for(dialed)
            if len(self._lines) < _LINES_KEPT:  # bounded: any text may arrive as the number
                self._lines[dialed] = found
        return found

    def url(self, path: str, **query: str | int) -> str:
        """An absolute URL on our public base (or a relative one without it) for TwiML.

        The query is ``urlencode``'s (empty and None values left out); a name or value made
        only of unreserved characters (ids, numbers: nearly all) is appended as it is.
        """
        base = (self.settings.public_base_url or "").rstrip("/")
        qs = "&".join([f"{_quoted(k)}={_quoted(v)}" for k, v in query.items()
                       if v is not None and v != ""])
        if not qs:
            return f"{base}{path}"
        return f"{base}{path}?{qs}"

    def first_step(self, line: Line) -> engine.Step:
        """``engine.start`` on ``line`` now; remembered per config when it read no schedule.

        A flow that reaches no opening-hours node before its first input or end starts
        alike at any time, so its first step is worked out once.
        """
        self._fresh()
        step = self._starts.get(line.number)
        if step is None:
            watch = _Watched(self.config.roster.schedules)
            step = engine.start(self.config.flows, line, engine.Context(self.clock.now(), watch))
            if not watch.read:
                self._starts[line.number] = step
        return step

    def hook_url(self, dialect: str, path: str, **query: str | int) -> str:
        """The URL of webhook ``path`` (``/wait``) under ``dialect``'s prefix (``/jambonz``)."""
        return self.url(PREFIXES.get(dialect, "/voice") + path, **query)

    def control_for(self, dialect: str) -> CallControl:
        """The REST API of ``dialect`` (Twilio's when it has none of its own)."""
        return self.controls.get(dialect, self.control)

    def dialect_of(self, info: CallRecord) -> str:
        """The dialect a call came in on (its record's; else the deployment's)."""
        dialect = info.dialect or self.settings.dialect
        return dialect if dialect in PREFIXES else "twilio"

    def outbound_dialect(self, line_id: str) -> str:
        """The dialect of calls the service places for a line (its own, else the deployment's)."""
        line = self.config.line(line_id)
        return (line.dialect if line else None) or self.settings.dialect

    def can_act(self) -> bool:
        """Whether some dialect's REST API can act on live calls."""
        return any(can_act(c) for c in (self.control, *self.controls.values()))

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

    async def event(self, op: str, *args: Arg) -> EventResult | None:
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
        await self.redirect(res.redirect)
        return res

    async def _apply(self, op: str, args: Any, at_ms: int) -> list[str]:
        res = await self.store().apply_event(op, list(args), at_ms)
        return list(res.redirect)

    async def replay(self) -> None:
        """Apply the call events kept while Redis was away (this worker's and dead workers')."""
        await self.redirect(await self.journal.replay(self._apply))

    async def reconcile(self) -> int:
        """End calls the platform says are over though we never heard so; returns how many."""
        ended = 0
        for sid in await self.store().reconcile_candidates(
                self.settings.reconcile_after_seconds, self.settings.reconcile_every_seconds):
            info = await self.store().call_record(sid) if self.controls else CallRecord()
            status = await self.control_for(self.dialect_of(info)).fetch_status(sid)
            if status in FINAL_STATUSES:
                log.warning("call %s is %s on the platform but live here: ended it", sid, status)
                await self.event("hangup", sid, status, "")
                ended += 1
        return ended

    async def redirect(self, sids: Iterable[str]) -> None:
        """Connect calls a seat was reserved for (hold-loop redirect, or call back).

        Each call is redirected through the platform it came in on, to that platform's
        webhooks. Callers who asked for a callback and hung up are called back instead.
        """
        callbacks = any(q.callback for q in self.config.roster.queues)
        for sid in sids:
            info = await self.store().call_record(sid) if callbacks or self.controls else CallRecord()
            if callback.call_back_instead(info.callback, info.gone):
                await self.call_back(sid, info)
            else:
                dialect = self.dialect_of(info)
                await self.control_for(dialect).redirect(sid, self.hook_url(dialect, "/wait"))

    async def call_back(self, sid: str, info: CallRecord) -> None:
        """Place the call back to a caller whose place in line has come up."""
        policy = callback.policy_of(self.config.roster, info.queue)
        line = self.config.line(info.line)
        from_ = callback.caller_id(policy, self.settings.callback_from,
                                   line.number if line else "")
        dialect = self.outbound_dialect(info.line)
        try:
            await self.control_for(dialect).create_call(
                info.callback_number, from_, self.hook_url(dialect, "/callback-connect", call=sid),
                status_callback=self.hook_url(dialect, "/callback-status", call=sid))
        except Exception:  # no REST credentials or Twilio refused: count a failed attempt
            attempts, retry = callback.retry_terms(policy)
            res = await self.store().callback_failed(sid, attempts, retry)
            await self.redirect(res.redirect)


class _Watched(Mapping[str, Any]):
    """A read-only view of the schedules that notes whether a flow step looked one up."""

    def __init__(self, schedules: Mapping[str, Any]) -> None:
        self.schedules = schedules
        self.read = False

    def __getitem__(self, name: str) -> Any:
        self.read = True
        return self.schedules[name]

    def __iter__(self) -> Iterator[str]:
        self.read = True
        return iter(self.schedules)

    def __len__(self) -> int:
        self.read = True
        return len(self.schedules)


def _quoted(value: object) -> str:
    """``value`` as ``urlencode`` spells it (``quote_plus`` of its ``str``)."""
    text = str(value)
    return text if _UNRESERVED.fullmatch(text) else quote_plus(text)


async def get_services(request: Request) -> Services:
    """The Services of the app handling this request."""
    svc: Services = request.app.state.services
    return svc


Svc = Annotated[Services, Depends(get_services)]
