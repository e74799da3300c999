"""The invariants a simulation asserts while it runs.

After every event:

- from the phone side, no seat rings while it holds a call, is on break or in its
  wrap-up (the seat agents check that themselves);
- work conservation: whenever the simulator sees a caller on hold and a seat whose
  operator sits idle, it asks Redis (one pipelined round trip) whether such a seat is
  ``ready`` while a wait set it serves is not empty; a pair that is still so after
  the next event is a violation (one event of grace).

At every checkpoint, against Redis: ``ivr.store.invariants.violations()``; every call
that ended since the last checkpoint has exactly one outcome, the one its caller lived
(and the wait the caller measured); and the service's counters equal the
simulator's tally. Call records are dropped ``retention`` virtual seconds after they
ended, as Redis would expire them if its clock were the simulator's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ivr.core.config import CenterConfig
from ivr.core.roster import Seat
from ivr.phone.seats import SeatAgent
from ivr.sim.recorder import IVR_END, Recorder, ms
from ivr.sim.wire import Command
from ivr.store.invariants import glob_escape, violations
from ivr.store.keys import Keys
from ivr.web.services import Services

LINE_FIELDS = ("calls", "offered", "answered", "abandoned", "sl_answered", "noanswer",
               "wait_answered_ms", "handled_ms")
QUEUE_FIELDS = ("answered",)


def read_ahead(reader: Any, keys: Keys, queues: list[str]) -> None:
    """Prefetch what ``ivr.store.invariants.violations`` reads (inside a WireReader's ``still``).

    Some 2,000 one-key round trips at a checkpoint of a 100-seat center become four or
    five: the seats and their hashes, the center's call records (the same ``SCAN`` as
    violations(), then each hash), the wait sets of ``queues`` (the configured ones),
    and each seat's ready-set scores and, if it is ready, its wait-set sizes. A read
    violations() makes that is not here goes to Redis as before; nothing changes in
    Redis meanwhile, so every answer is the one Redis gives.
    """
    got = reader.prefetch([("SMEMBERS", keys.seats())])
    if got is None:
        return
    seats = sorted(got[0])
    pattern = glob_escape(keys.call("")) + "*"
    first: list[Command] = [("HGETALL", keys.seat(seat)) for seat in seats]
    first += [("SMEMBERS", keys.wskills(q)) for q in queues]
    got = reader.prefetch([*first, ("SCAN", "0", "MATCH", pattern, "COUNT", 1000)])
    if got is None:
        return
    infos = [dict(zip(h[::2], h[1::2], strict=True)) for h in got[:len(seats)]]
    skills = got[len(seats):len(first)]
    cursor, calls = got[-1]
    while cursor != "0":
        got = reader.prefetch([("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)])
        if got is None:
            return
        cursor, found = got[0]
        calls = calls + found
    ahead: list[Command] = [("HGETALL", k) for k in calls]
    ahead += [("ZRANGE", keys.wait(q, sk), 0, -1)
              for q, sks in zip(queues, skills, strict=True) for sk in sks]
    for seat, info in zip(seats, infos, strict=True):
        ready = info.get("st", "offline") == "ready"
        for x in info.get("sets", "").split(","):
            if x:
                q, sk = x.split("|", 1)
                ahead.append(("ZSCORE", keys.ready(q, sk), seat))
                if ready:
                    ahead.append(("ZCARD", keys.wait(q, sk)))
    reader.prefetch(list(dict.fromkeys(ahead)))


@dataclass
class Checker:
    """Runs the checks above and collects every problem found."""

    svc: Services
    config: CenterConfig
    recorder: Recorder
    agents: dict[str, SeatAgent]  # endpoint -> agent
    seats: dict[str, Seat]  # seat id -> roster seat
    start: float
    retention: float = 60.0
    pipeline: Callable[[], Any] | None = None  # pipelines for the reads (ivr.sim.wire)
    reader: Any = None  # one-key reads of the full checks (ivr.sim.wire.WireReader); else redis-py
    problems: list[str] = field(default_factory=list)
    full_checks: int = 0
    verified: int = 0
    wc_probes: int = 0
    wc_skipped: int = 0
    _last: tuple[object, tuple[str, ...]] | None = None
    _suspects: set[tuple[str, str]] = field(default_factory=set)
    _reported: set[tuple[str, str]] = field(default_factory=set)
    _expire: list[tuple[float, str]] = field(default_factory=list)
    _free: dict[str, SeatAgent] = field(default_factory=dict)
    _sets: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _wait_keys: dict[tuple[str, str], str] = field(default_factory=dict)  # (queue, skill) -> key

    def __post_init__(self) -> None:
        self._sets = {sid: seat.ready_sets() for sid, seat in self.seats.items()}
        for agent in self.agents.values():
            agent.watchers.append(self._watch)
            self._watch(agent)

    def _reader(self) -> Any:
        return self.reader if self.reader is not None else self.svc.store().redis

    def _pipe(self) -> Any:
        if self.pipeline is not None:
            return self.pipeline()
        return self.svc.store().redis.pipeline(transaction=False)

    def _watch(self, agent: SeatAgent) -> None:
        if agent.state == "idle" and not agent.on_break:
            self._free[agent.seat] = agent
        else:
            self._free.pop(agent.seat, None)

    def problem(self, now: float, text: str) -> None:
        """Record a broken invariant, stamped with the simulated time."""
        self.problems.append(f"t={now - self.start:.3f}s: {text}")

    def probe(self, now: float, pipe: Any,
              redis_version: object = None) -> Callable[[list[Any]], Awaitable[None]] | None:
        """Queue the work-conservation reads on ``pipe``; returns what judges the answers.

        First the sizes of the wait sets that idle seats serve; only if one is not empty,
        a second round trip for those seats' states. ``redis_version`` changes whenever
        Redis may have changed (requests sent, sweeps run): when it and the idle seats are
        as at the last probe, which found nothing, the answer would be the same, so
        nothing is read.
        """
        if not self.recorder.anyone_waiting():
            self._suspects, self._last = set(), None
            return None
        idle = [a for a in self._free.values() if now >= a.wrap_until]
        if not idle:
            self._suspects, self._last = set(), None
            return None
        seen = (redis_version, tuple(a.seat for a in idle)) if redis_version is not None else None
        if seen is not None and seen == self._last and not self._suspects:
            self.wc_skipped += 1
            return None
        self._last = seen
        self.wc_probes += 1
        acd = self.svc.store()
        pairs = sorted({qs for a in idle for qs in self._sets.get(a.seat, [])})
        for qs in pairs:
            key = self._wait_keys.get(qs)
            if key is None:
                key = self._wait_keys[qs] = acd.keys.wait(*qs)
            pipe.zcard(key)

        async def judge(got: list[Any]) -> None:
            waiting = {qs for qs, n in zip(pairs, got, strict=True) if n}
            suspects = [a for a in idle if not waiting.isdisjoint(self._sets.get(a.seat, ()))
                        ] if waiting else []
            bad: set[tuple[str, str]] = set()
            if suspects:
                read = self._pipe()
                for a in suspects:
                    read.hget(acd.keys.seat(a.seat), "st")
                states = await read.execute()
                bad = {(a.seat, f"{q}|{sk}") for a, st in zip(suspects, states, strict=True)
                       if st == "ready" for q, sk in self._sets[a.seat] if (q, sk) in waiting}
            for seat, where in sorted(bad & self._suspects - self._reported):
                self.problem(now, f"seat {seat} sits ready while calls wait in {where}")
                self._reported.add((seat, where))
            self._suspects = bad
        return judge

    async def checkpoint(self, now: float) -> None:
        """The Redis-side checks: invariants, outcomes, counters."""
        acd = self.svc.store()
        self.full_checks += 1
        reader = self._reader()
        still = getattr(reader, "still", None)
        if still is None:
            found = await violations(reader, acd.keys)
        else:  # read ahead in a few round trips what violations() reads key by key
            with still():
                read_ahead(reader, acd.keys, [q.id for q in self.config.roster.queues])
                found = await violations(reader, acd.keys)
        for v in found:
            self.problem(now, v)
        await self.verify_outcomes(now)
        for text in await self.counter_mismatches():
            self.problem(now, text)

    async def verify_outcomes(self, now: float) -> None:
        """Each ended call has one recorded outcome: the caller's, with the caller's wait."""
        acd = self.svc.store()
        fresh, self.recorder.ended = self.recorder.ended, []
        pipe = self._pipe()
        for rec in fresh:
            pipe.hgetall(acd.keys.call(rec.sid))
        for rec, h in zip(fresh, await pipe.execute(), strict=True):
            self.verified += 1
            rec.queue = h.get("q", "")
            out = h.get("out", "")
            same = out == rec.outcome or (rec.outcome == IVR_END and out not in (
                "", "answered", "abandoned") and not out.startswith("transferred:"))
            if h.get("st") != "ended" or not same:
                self.problem(now, f"call {rec.sid} on {rec.line}: the caller lived "
                                  f"{rec.outcome!r}, the service recorded state "
                                  f"{h.get('st')!r} outcome {h.get('out')!r}")
            elif rec.queued is not None and rec.wait is not None and "wait" in h:
                end = rec.answered if rec.answered is not None else rec.ended or now
                if int(h["wait"]) != ms(end) - ms(rec.queued):
                    self.problem(now, f"call {rec.sid}: waited {ms(end) - ms(rec.queued)} ms "
                                      f"for its caller, {h['wait']} ms for the service")
            self._expire.append((rec.ended or now, acd.keys.call(rec.sid)))
        due = [k for t, k in self._expire if t <= now - self.retention]
        self._expire = [(t, k) for t, k in self._expire if t > now - self.retention]
        for i in range(0, len(due), 1000):
            pipe.delete(*due[i:i + 1000])
        await pipe.execute()

    async def redis_counters(self) -> dict[tuple[str, str], dict[str, int]]:
        """Every counter of the center, summed over its 15-minute buckets."""
        acd = self.svc.store()
        marker = ":cnt:"
        pattern = acd.keys.pattern().replace(":*", marker + "*")
        names = [k async for k in self._reader().scan_iter(match=pattern, count=1000)]
        pipe = self._pipe()
        for k in names:
            pipe.hgetall(k)
        total: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for k, h in zip(names, await pipe.execute(), strict=True):
            kind, rest = k.split(marker, 1)[1].split(":", 1)
            name = rest.rsplit(":", 1)[0]
            for f, v in h.items():
                total[(kind, name)][f] += int(v)
        return total

    async def counter_mismatches(self) -> list[str]:
        """Counters in Redis that differ from what the simulator saw."""
        stored = await self.redis_counters()
        out = []
        for key in sorted(set(stored) | set(self.recorder.tally)):
            fields = LINE_FIELDS if key[0] == "l" else QUEUE_FIELDS
            mine, theirs = self.recorder.tally.get(key, {}), stored.get(key, {})
            for f in fields:
                if mine.get(f, 0) != theirs.get(f, 0):
                    out.append(f"counter {f} of {'line' if key[0] == 'l' else 'queue'} "
                               f"{key[1]}: service {theirs.get(f, 0)}, simulator {mine.get(f, 0)}")
        return out
