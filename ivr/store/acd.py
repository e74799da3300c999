"""The automatic call distributor on Redis: one atomic script call per decision.

Python only passes arguments and decodes the JSON each script returns, once, into the
typed results of ``results.py``; every decision (which seat, which call, which state) is
made inside the Lua scripts in ``lua/``, so that any number of workers can share one
Redis safely.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from ivr.clock import Clock
from ivr.core.config import CenterConfig
from ivr.core.engine import EnqueueAction
from ivr.core.policy import Standing
from ivr.store import scripts
from ivr.store.keys import Keys
from ivr.store.results import (
    EVENT_DECODERS,
    Applied,
    Began,
    CallbackFailed,
    CallRecord,
    DialDone,
    EventResult,
    Handoff,
    HungUp,
    SeatChanged,
    SeatRecord,
    Ticked,
    standing,
)

Result = dict[str, Any]  #: a script's JSON reply, undecoded
R = TypeVar("R")
#: Call events that may be kept in the journal while Redis is away and applied later.
EVENT_SCRIPTS = frozenset({"hangup", "dial_done", "answered", "rate"})
#: Longest talk or ring a platform can report, in seconds (a week): larger is bad input.
MAX_DURATION = 7 * 86400


def _decode(raw: str) -> Result:
    """A script's JSON answer (cjson encodes an empty ``redirect`` list as ``{}``)."""
    out: Result = json.loads(raw)
    if isinstance(out.get("redirect"), dict):
        out["redirect"] = list(out["redirect"].values())
    return out


def _encoded(arg: str | int | float) -> bytes | str | int | float:
    """A script argument as redis-py's encoder sends it, without the encoder's type checks.

    Text in UTF-8, strict (the client's encoding), an int in decimal; anything else (a
    float, a bool, which the encoder refuses) is left to the encoder.
    """
    if type(arg) is str:
        return arg.encode()
    if type(arg) is int:
        return b"%d" % arg
    return arg


class Acd:
    """The call distributor of one center."""

    def __init__(self, redis: Redis, center: str, clock: Clock, retention_seconds: int = 604800,
                 resv_margin_seconds: float = 45.0, short_abandon_seconds: float = 5.0,
                 rate_limit: tuple[int, float] = (0, 60.0), watchdog_seconds: float = 120.0,
                 event_cap: int = 0) -> None:
        self.redis = redis
        self.keys = Keys(center)
        self.clock = clock
        self.retention = retention_seconds
        self.resv_margin = resv_margin_seconds
        self.short_abandon = short_abandon_seconds
        self.rate_limit = rate_limit
        self.watchdog = watchdog_seconds
        self.event_cap = event_cap  # entries kept in the archive's event stream; 0 = none
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(scripts.source(name)) for name in scripts.NAMES
        }

    def _now_ms(self) -> int:
        return int(self.clock.now() * 1000)

    async def _run(self, name: str, *args: str | int | float, at_ms: int | None = None) -> Result:
        now = self._now_ms() if at_ms is None else at_ms
        raw = await self._scripts[name](keys=[self.keys.meta()], args=[_encoded(now), *map(_encoded, args)])
        return _decode(raw)

    async def _reply(self, decode: Callable[[Result], R], name: str, *args: str | int | float,
                     at_ms: int | None = None) -> R:
        """Run a script and decode its reply (the one place replies are decoded)."""
        return decode(await self._run(name, *args, at_ms=at_ms))

    async def apply_event(self, op: str, args: list[str | int | float], at_ms: int) -> EventResult:
        """Apply a call event that arrived at ``at_ms`` (replayed from the journal)."""
        if op not in EVENT_SCRIPTS:
            raise ValueError(f"not a call event: {op!r}")
        decode: Callable[[Result], EventResult] = EVENT_DECODERS[op]
        return await self._reply(decode, op, *args, at_ms=at_ms)

    async def sync_config(self, cfg: CenterConfig) -> list[str]:
        """Write the queue settings and seat roster the scripts read; returns calls to redirect."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(self.keys.meta(), mapping={
            "retention": self.retention,
            "resv_margin": int(self.resv_margin * 1000),
            "short_ms": int(self.short_abandon * 1000),
            "watchdog_ms": int(self.watchdog * 1000),
            "ev_cap": self.event_cap,
            "version": cfg.version,
        })
        for q in cfg.roster.queues:
            ov = q.overflow
            pipe.hset(self.keys.qcfg(q.id), mapping={
                "sl": int(q.sl_seconds * 1000),
                "wrap": int(q.wrapup_seconds * 1000),
                "ring": q.ring_timeout_seconds * 1000,
                "aht": int(q.default_aht_seconds * 1000),
                "ovq": ov.to if ov else "",
                "ova": int((ov.after_seconds or 0) * 1000) if ov else 0,
                "ovn": int(ov.when_no_seats) if ov else 0,
            })
        await pipe.execute()
        # the whole roster in one script call (seats that left it removed there too)
        out = await self._run("seat_sync", len(cfg.roster.seats), *[
            arg for seat in cfg.roster.seats
            for arg in (seat.id, ",".join(f"{q}|{s}" for q, s in seat.ready_sets()),
                        ",".join(seat.queues), seat.endpoint, seat.name)])
        return list(out["redirect"])

    def _limit(self, number: str) -> tuple[str, int, int]:
        """Repeated-call limit arguments: caller digest (never the number), calls, window ms."""
        calls, window = self.rate_limit
        if not number or calls <= 0:
            return ("", 0, 0)
        digest = hashlib.sha256(f"{self.keys.center}:{number}".encode()).hexdigest()[:20]
        return (digest, calls, int(window * 1000))

    async def begin(self, sid: str, line: str, caller: str, number: str = "",
                    dialect: str = "") -> Began:
        """A call enters the IVR (``number``: for the call limit; ``dialect``: kept as ``dl``)."""
        return await self._reply(Began.decode, "begin", sid, line, caller, *self._limit(number), dialect)

    async def enqueue(self, sid: str, line: str, action: EnqueueAction, caller: str,
                      language: str = "zh-CN", closed_from: str = "", number: str = "",
                      dialect: str = "") -> Standing:
        """A call asks for a seat: offered at once, or waiting with its position."""
        widen = -1 if action.widen_after is None else int(action.widen_after * 1000)
        return await self._reply(standing, "enqueue", sid, line, action.queue, action.skill,
                                 action.priority, widen, caller, language, closed_from,
                                 *self._limit(number), dialect)

    async def wait(self, sid: str) -> Standing:
        """Where a waiting call stands."""
        return await self._reply(standing, "wait", sid)

    async def answered(self, sid: str, seat: str, leg: str = "") -> Applied:
        """The seat picked up the call (``leg``: the seat leg's call sid)."""
        return await self._reply(Applied.decode, "answered", sid, seat, leg)

    async def dial_done(self, sid: str, seat: str, status: str, duration: float) -> DialDone:
        """The dial to a seat ended with Twilio's DialCallStatus (duration in seconds)."""
        return await self._reply(DialDone.decode, "dial_done",
                                 *self.dial_done_args(sid, seat, status, duration))

    @staticmethod
    def dial_done_args(sid: str, seat: str, status: str, duration: float) -> list[str | int | float]:
        """The script's arguments, the duration clamped to what a platform can report."""
        return [sid, seat, status, int(min(max(duration, 0), MAX_DURATION))]

    async def hangup(self, sid: str, status: str, ivr_outcome: str = "") -> HungUp:
        """The call ended (final status callback)."""
        return await self._reply(HungUp.decode, "hangup", sid, status, ivr_outcome)

    async def note(self, sid: str, kind: str, what: str, line: str, caller: str = "") -> Applied:
        """The IVR ends the call's stay with a reason: transfer, exclusion or closed queue."""
        return await self._reply(Applied.decode, "note", sid, kind, what, line, caller)

    async def callback_request(self, sid: str, number: str) -> Applied:
        """A waiting caller asks to be called back, keeping the place in line."""
        return await self._reply(Applied.decode, "callback", sid, "request", number)

    async def callback_failed(self, sid: str, max_attempts: int, retry_seconds: float) -> CallbackFailed:
        """A callback attempt was not answered: retry later, or give up after the last."""
        return await self._reply(CallbackFailed.decode, "callback", sid, "failed", max_attempts,
                                 int(retry_seconds * 1000))

    async def rate(self, sid: str, rating: str) -> Applied:
        """Record the caller's survey answer (1, 2 or 3)."""
        return await self._reply(Applied.decode, "rate", sid, "rating", rating)

    async def dispose(self, sid: str, category: str, resolved: bool, department: str) -> Applied:
        """Record the seat's disposition of an answered call."""
        return await self._reply(Applied.decode, "rate", sid, "disposition", category,
                                 int(resolved), department)

    async def handoff(self, seat: str, kind: str, what: str, keep: bool,
                      commit: bool = True) -> Handoff:
        """The seat hands its caller on (transfer or exclusion); ``commit=False`` only checks."""
        return await self._reply(Handoff.decode, "seat_handoff", seat, kind, what, int(keep),
                               "commit" if commit else "check")

    async def seat(self, seat: str, action: str) -> SeatChanged:
        """A seat logs in, goes ready, takes a break or logs out."""
        return await self._reply(SeatChanged.decode, "seat", seat, action)

    async def remove_seat(self, seat: str) -> Applied:
        """Take a seat out of the live roster, unless it has a call."""
        return await self._reply(Applied.decode, "seat_remove", seat)

    async def tick(self, limit: int = 500, stale_seconds: float = 0) -> Ticked:
        """Run due timers (wrap-up, widening, overflow, stale reservations, stale calls)."""
        return await self._reply(Ticked.decode, "tick", limit, int(stale_seconds * 1000))

    async def reconcile_candidates(self, after_seconds: float, every_seconds: float,
                                   limit: int = 50) -> list[str]:
        """Claim live calls to check with the platform (started long ago, not checked lately)."""
        res = await self._run("reconcile", int(after_seconds * 1000), int(every_seconds * 1000),
                              limit)
        sids = res.get("sids") or []
        return list(sids.values()) if isinstance(sids, dict) else list(sids)

    async def seat_info(self, seat: str) -> dict[str, str]:
        """A seat's hash (state, call, endpoint, ...); empty if unknown."""
        return cast(dict[str, str], await self.redis.hgetall(self.keys.seat(seat)))

    async def call_info(self, sid: str) -> dict[str, str]:
        """A call's hash; empty if unknown or expired."""
        return cast(dict[str, str], await self.redis.hgetall(self.keys.call(sid)))

    async def call_record(self, sid: str) -> CallRecord:
        """A call's record, decoded (empty if unknown or expired)."""
        return CallRecord.decode(await self.call_info(sid))

    async def seat_record(self, seat: str) -> SeatRecord:
        """A seat's record, decoded (``known`` False if the seat has no hash)."""
        return SeatRecord.decode(await self.seat_info(seat))
