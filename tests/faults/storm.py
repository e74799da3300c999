"""A storm of calls and seat events, played the way Twilio and the softphones would.

``Storm`` drives whole call journeys (incoming, menu, hold loop, dial to a seat, the
seat's answer, the dial's end, the final status callback, or a caller who hangs up
while waiting) and seat softphones (login, ready, breaks) through one or more hosts
at once, each request signed with ``twilio.request_validator`` against the public URL
of the host it goes to. It keeps its own record of what it did, so a test can compare
it with what the service stored:

- every call's outcome (answered or abandoned), the seats it was dialed to;
- ``double_holds``: a seat dialed for a second call while still ringing or talking on
  the first (as Twilio saw it: from the <Dial> it received until it reported the end);
- every HTTP status and every answer that was not valid TwiML.

A host that stops answering (killed) is skipped from then on, and the request is sent
again to another host, as a load balancer would; every webhook is idempotent.
Everything is bounded: each caller's patience, hold loops and the storm's duration.
"""

from __future__ import annotations

import asyncio
import random
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from ivr.auth import seat_token
from ivr.config import dump_dir
from ivr.core.config import CenterConfig, build
from ivr.core.roster import QueueConfig, Roster, Seat
from ivr.telephony.signature import SignatureChecker

ACCOUNT = "AC" + "f" * 32
#: Lines the storm calls: dual lines (straight to the pool), a whole-merge line (notice,
#: then the pool), 12345 (a menu the caller lets time out) and a line whose skill no seat
#: has, so its calls are served only once the sweeper widens them to "any".
LINES = ("12315", "12333", "12328", "12300", "12345", "12320")
SEAT_SKILLS = ("12315", "12333", "12328", "12300")
WIDEN_LINE = "12320"


def storm_config(base: CenterConfig, seats: int, wrapup_seconds: float = 0.5,
                 widen_after: float = 1.0) -> CenterConfig:
    """The stock config with ``seats`` pool seats, a short wrap-up and a fast-widening line."""
    pool = {"wrapup_seconds": wrapup_seconds, "hours": None, "callback": None}  # open 7x24
    pool = {k: v for k, v in pool.items() if k in QueueConfig.model_fields}
    queues = tuple(q.model_copy(update=pool) if q.id == "pool" else q for q in base.roster.queues)
    roster_seats = tuple(Seat(id=f"st{i:03d}", name=f"storm seat {i}", endpoint=f"client:st{i:03d}",
                              queues=("pool",), skills=SEAT_SKILLS) for i in range(seats))
    roster = base.roster.model_copy(update={"queues": queues, "seats": roster_seats})
    assert isinstance(roster, Roster)
    lines = tuple(ln.model_copy(update={"widen_after": widen_after}) if ln.number == WIDEN_LINE else ln
                  for ln in base.plan.lines)
    plan = base.plan.model_copy(update={"lines": lines})
    flows = {fid: base.flows.latest(fid) for fid in base.flows.current}
    return build(plan, flows, roster)


def write_storm_config(base: CenterConfig, root: Path, seats: int, wrapup_seconds: float = 0.5,
                       widen_after: float = 1.0) -> Path:
    """The storm config as YAML folders under ``root`` (for IVR_CONFIG_DIR of a subprocess)."""
    dump_dir(storm_config(base, seats, wrapup_seconds, widen_after), root)
    return root


@dataclass
class Host:
    """One place to send requests: a client, and the public base URL requests are signed for."""

    name: str
    client: httpx.AsyncClient
    base: str
    alive: bool = True


@dataclass
class StormParams:
    """How big and how patient the storm is."""

    calls: int = 300
    seats: int = 40
    spread_seconds: float = 5.0  # arrivals are spread evenly over this long
    patience: tuple[float, float] = (1.0, 6.0)  # a caller hangs up after this long on hold
    poll_seconds: float = 0.2  # time between two turns of the hold loop
    talk_seconds: tuple[float, float] = (0.0, 0.2)
    noanswer: float = 0.05  # share of dials a seat does not answer
    seat_break: float = 0.05  # per softphone turn, chance to take a short break
    max_loops: int = 200
    concurrency: int = 400  # calls in flight at most
    seed: int = 12345


@dataclass
class Record:
    """What the storm did, to compare with what the service stored."""

    outcomes: dict[str, str] = field(default_factory=dict)  # sid -> answered | abandoned | error:...
    lines: dict[str, str] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)  # of the webhooks
    seat_statuses: Counter[int] = field(default_factory=Counter)  # of the seat API (409: not now)
    bad_twiml: list[str] = field(default_factory=list)
    double_holds: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    noanswers: int = 0
    seat_events: int = 0
    requests: int = 0
    retries: int = 0
    dials: Counter[str] = field(default_factory=Counter)  # seat -> dials received
    first_arrival: float = 0.0
    last_end: float = 0.0

    def count(self, outcome: str) -> int:
        """Calls that ended with this outcome."""
        return sum(1 for o in self.outcomes.values() if o == outcome)


class Storm:
    """Plays Twilio and the softphones against the hosts."""

    def __init__(self, hosts: list[Host], auth_token: str, seat_secret: str, seats: list[str],
                 params: StormParams, prefix: str = "CA") -> None:
        self.hosts = hosts
        self.checkers = {h.name: SignatureChecker(auth_token, h.base) for h in hosts}
        self.seat_secret = seat_secret
        self.seats = seats
        self.p = params
        self.rng = random.Random(params.seed)
        self.prefix = prefix
        self.rec = Record()
        self.held: dict[str, str] = {}  # seat -> call it rings or talks for now
        self.on_break: set[str] = set()  # seats put on break by a missed call
        self._next = 0

    # ------------------------------------------------------------ transport

    def _host(self) -> Host:
        alive = [h for h in self.hosts if h.alive]
        if not alive:
            raise RuntimeError("no host answers any more")
        self._next += 1
        return alive[self._next % len(alive)]

    async def _send(self, method: str, path: str, *, data: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None, sign: bool = False) -> httpx.Response:
        last: Exception | None = None
        for attempt in range(4):
            host = self._host()
            url = host.base + path
            h = dict(headers or {})
            if sign:
                h["X-Twilio-Signature"] = self.checkers[host.name].sign(url, data or {})
            try:
                self.rec.requests += 1
                resp = await host.client.request(method, url, data=data, headers=h)
            except httpx.ConnectError as exc:  # the host is gone: the balancer drops it
                host.alive = False
                last = exc
            except httpx.TransportError as exc:  # cut mid-request: send it again elsewhere
                last = exc
                if attempt >= 1:
                    host.alive = False
            else:
                return resp
            self.rec.retries += 1
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{method} {path} failed on every host: {last!r}")

    async def webhook(self, url: str, **params: str) -> ET.Element:
        """POST a signed webhook (absolute TwiML URL or path) and parse the TwiML answer."""
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        resp = await self._send("POST", path, data=params, sign=True)
        self.rec.statuses[resp.status_code] += 1
        if resp.status_code != 200:
            raise AssertionError(f"{path} answered {resp.status_code}: {resp.text[:200]}")
        try:
            root = ET.fromstring(resp.text)
        except ET.ParseError:
            self.rec.bad_twiml.append(f"{path}: {resp.text[:200]}")
            raise
        if root.tag != "Response":
            self.rec.bad_twiml.append(f"{path}: root {root.tag}")
        return root

    async def seat(self, seat: str, action: str) -> httpx.Response:
        """A softphone changes its seat's state."""
        token = seat_token(self.seat_secret, seat)
        self.rec.seat_events += 1
        resp = await self._send("POST", f"/api/seats/{seat}/{action}",
                                headers={"Authorization": f"Bearer {token}"})
        self.rec.seat_statuses[resp.status_code] += 1
        return resp

    # ------------------------------------------------------------ callers

    def _hold(self, seat: str, sid: str) -> None:
        other = self.held.get(seat)
        if other is not None and other != sid:
            self.rec.double_holds.append(f"seat {seat} dialed for {sid} while busy with {other}")
        self.held[seat] = sid
        self.rec.dials[seat] += 1

    def _release(self, seat: str, sid: str) -> None:
        if self.held.get(seat) == sid:
            del self.held[seat]

    async def call(self, i: int) -> None:
        """One caller's whole journey; records its outcome."""
        sid = f"{self.prefix}{i:08d}"
        line = LINES[i % len(LINES)]
        self.rec.lines[sid] = line
        patience = self.rng.uniform(*self.p.patience)
        base = {"CallSid": sid, "AccountSid": ACCOUNT, "From": f"+86138{i:08d}", "To": line,
                "Direction": "inbound", "ApiVersion": "2010-04-01"}
        try:
            root = await self.webhook("/voice/incoming", **base, CallStatus="ringing")
            t0 = time.monotonic()
            for _loop in range(self.p.max_loops):
                dial = root.find("Dial")
                noun = next(iter(dial), None) if dial is not None else None
                if dial is not None and noun is not None and noun.get("statusCallback"):
                    seat = parse_qs(urlsplit(dial.get("action", "")).query)["seat"][0]
                    self._hold(seat, sid)
                    after = await self._dial(sid, seat, dial.get("action", ""),
                                             noun.get("statusCallback", ""), base)
                    if after is None:
                        self.rec.outcomes[sid] = "answered"
                        return
                    root = after
                    continue
                if dial is not None:  # the apology and the backup number
                    self.rec.outcomes[sid] = "error:apology"
                    return
                gather = root.find("Gather")
                redirect = root.find("Redirect")
                if gather is not None and gather.get("actionOnEmptyResult") == "true":
                    # a menu: the caller presses nothing, Twilio posts the empty result
                    root = await self.webhook(gather.get("action", ""), **base, CallStatus="in-progress")
                    continue
                # any other Gather (an offer) times out and Twilio goes on to the Redirect
                if redirect is not None and redirect.text:
                    if time.monotonic() - t0 > patience:
                        await self.webhook("/voice/status", **base, CallStatus="completed",
                                           CallDuration=str(int(patience)))
                        self.rec.outcomes[sid] = "abandoned"
                        return
                    await asyncio.sleep(self.p.poll_seconds)
                    root = await self.webhook(redirect.text, **base, CallStatus="in-progress")
                    continue
                self.rec.outcomes[sid] = "error:unexpected " + ET.tostring(root, "unicode")[:200]
                return
            self.rec.outcomes[sid] = "error:too many loops"
        except Exception as exc:
            self.rec.outcomes[sid] = f"error:{exc!r}"[:300]
        finally:
            self.rec.last_end = time.monotonic()

    async def _dial(self, sid: str, seat: str, action: str, answered: str,
                    base: dict[str, str]) -> ET.Element | None:
        """Ring a seat: answered and talked (None: the call is over), or not answered."""
        if self.rng.random() < self.p.noanswer:
            self._release(seat, sid)
            self.rec.noanswers += 1
            self.on_break.add(seat)
            return await self.webhook(action, **base, CallStatus="in-progress",
                                      DialCallStatus="no-answer", DialCallDuration="0")
        child = "CB" + sid[2:]
        await self.webhook(answered, CallSid=child, ParentCallSid=sid, AccountSid=ACCOUNT,
                           CallStatus="in-progress")
        talk = self.rng.uniform(*self.p.talk_seconds)
        if talk:
            await asyncio.sleep(talk)
        self._release(seat, sid)
        end = await self.webhook(action, **base, CallStatus="in-progress",
                                 DialCallStatus="completed", DialCallDuration=str(max(1, int(talk))),
                                 DialCallSid=child)
        if end.find("Hangup") is None:
            raise AssertionError(f"after a completed dial {sid} got {ET.tostring(end, 'unicode')}")
        await self.webhook("/voice/status", **base, CallStatus="completed", CallDuration="1")
        return None

    # ------------------------------------------------------------ seats

    async def softphone(self, seat: str, stop: asyncio.Event) -> None:
        """A seat's softphone: log in, come back from missed-call breaks, take short breaks."""
        await self.seat(seat, "login")
        while not stop.is_set():
            await asyncio.sleep(self.rng.uniform(0.2, 0.6))
            if seat in self.on_break:
                self.on_break.discard(seat)
                await self.seat(seat, "ready")
            elif self.rng.random() < self.p.seat_break and seat not in self.held:
                resp = await self.seat(seat, "break")
                await asyncio.sleep(0.2)
                if resp.status_code == 200:
                    await self.seat(seat, "ready")

    # ------------------------------------------------------------ the storm

    async def run(self, during: Any = None) -> Record:
        """All seats and all callers at once; ``during`` (a coroutine) runs alongside."""
        stop = asyncio.Event()
        phones = [asyncio.create_task(self.softphone(s, stop)) for s in self.seats]
        await asyncio.sleep(0.5)  # the first logins land before the first callers
        gate = asyncio.Semaphore(self.p.concurrency)
        self.rec.first_arrival = time.monotonic()
        gap = self.p.spread_seconds / max(1, self.p.calls)

        async def one(i: int) -> None:
            await asyncio.sleep(i * gap)
            async with gate:
                await self.call(i)

        side = asyncio.create_task(during) if during is not None else None
        try:
            await asyncio.gather(*(one(i) for i in range(self.p.calls)))
        finally:
            stop.set()
            await asyncio.gather(*phones, return_exceptions=True)
            if side is not None:
                await side
        for seat in self.seats:  # every seat back from its breaks
            await self.seat(seat, "ready")
        return self.rec


# ---------------------------------------------------------------- checking the store


async def counters(redis: Any, keys: Any, queue: str = "pool") -> Counter[str]:
    """The queue's counters summed over every 15-minute bucket."""
    total: Counter[str] = Counter()
    pattern = keys.pattern().replace(":*", f":cnt:q:{queue}:*")
    async for k in redis.scan_iter(match=pattern, count=1000):
        for name, value in (await redis.hgetall(k)).items():
            total[name] += int(value)
    return total


async def settle(redis: Any, keys: Any, seconds: float = 10.0) -> None:
    """Wait (at most ``seconds``) until no timer is pending and no seat is in wrap-up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pending = await redis.zcard(keys.timers())
        seats = [await redis.hget(keys.seat(s), "st") for s in await redis.smembers(keys.seats())]
        if pending == 0 and "wrapup" not in seats:
            return
        await asyncio.sleep(0.1)


async def compare(redis: Any, keys: Any, rec: Record, seats: list[str]) -> list[str]:
    """Every difference between what the storm did and what the service stored."""
    out: list[str] = []
    wrong: Counter[str] = Counter()
    for sid, outcome in rec.outcomes.items():
        c = await redis.hgetall(keys.call(sid))
        if c.get("st") != "ended" or c.get("out") != outcome:
            wrong[f"{outcome} stored as {c.get('st')}/{c.get('out')}"] += 1
            if len(out) < 10:
                out.append(f"call {sid} ({outcome}) is stored as st={c.get('st')} out={c.get('out')}")
    out += [f"{n} calls: {what}" for what, n in wrong.items()]
    live = await redis.zcard(keys.live())
    if live:
        out.append(f"{live} calls still live")
    pending = await redis.zcard(keys.timers())
    if pending:
        out.append(f"{pending} timers still pending: {await redis.zrange(keys.timers(), 0, 5)}")
    for s in seats:
        info = await redis.hgetall(keys.seat(s))
        if info.get("st") != "ready" or info.get("call"):
            out.append(f"seat {s} ended as {info.get('st')} with call {info.get('call')!r}")
    cnt = await counters(redis, keys)
    want = {"offered": len(rec.outcomes), "answered": rec.count("answered"),
            "abandoned": rec.count("abandoned"), "noanswer": rec.noanswers}
    for name, n in want.items():
        if cnt.get(name, 0) != n:
            out.append(f"counter {name} is {cnt.get(name, 0)}, the storm made {n}")
    return out


async def snapshot(redis: Any, keys: Any) -> dict[str, Any]:
    """Every key of the center with its type, value and whether it expires.

    The hold-loop watchdog (a call's ``seen`` time and its ``p:`` timer) is left out: any
    /voice/wait poll, such as the one that detects Redis is back, moves it on purpose.
    """
    out: dict[str, Any] = {}
    async for k in redis.scan_iter(match=keys.pattern(), count=1000):
        kind = await redis.type(k)
        if kind == "hash":
            value: Any = {f: v for f, v in (await redis.hgetall(k)).items() if f != "seen"}
        elif kind == "zset":
            value = [(m, sc) for m, sc in await redis.zrange(k, 0, -1, withscores=True)
                     if not m.startswith("p:")]
        elif kind == "set":
            value = sorted(await redis.smembers(k))
        elif kind == "stream":
            value = await redis.xrange(k)
        elif kind == "list":
            value = await redis.lrange(k, 0, -1)
        else:
            value = await redis.get(k)
        out[k] = (kind, value, await redis.ttl(k) > 0)
    return out
