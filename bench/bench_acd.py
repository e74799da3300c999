"""Routing cost and memory of the ACD scripts: a small center against a large one, side by side.

Run: .venv/bin/python bench/bench_acd.py [--rounds 5] [--samples 200]
     [--large-seats 10000] [--large-calls 100000]

Starts a fresh redis-server on a free loopback port (nothing else talks to it) and fills
two centers in it through the service's own Lua scripts, pipelined:

- small: 10 seats and 10 waiting calls;
- large: 10,000 seats and 100,000 waiting calls.

In both, every seat serves the 12345 pool with two of ten line skills (so it sits in
three ready sets when ready); all seats but two are talking (each answered a call), two
are on break. Waiting calls come in like dual-line calls: one of the ten skills, priority 0,
skill widening after 30 s (a timer each). Time comes from a ManualClock.

Routing cost, per decision, for both centers in alternating order over several rounds:

- enqueue: a new call arrives and waits (enqueue.lua through ``Acd.enqueue``);
- ready: a seat on break becomes ready and takes the best waiting call it may serve
  (seat.lua 'ready' through ``Acd.seat``).

After each decision the state is put back outside the measurement (the new call hangs up,
or the seat's dial ends in no-answer: seat back on break, call back at the head of the
line), through EVAL rather than EVALSHA so that only the measured calls count as EVALSHA.
Server-side time is read twice: per call from SLOWLOG (threshold 0, medians) and per
batch from INFO commandstats (``cmdstat_evalsha`` usec_per_call after CONFIG RESETSTAT,
means). Client time is the round trip of the ``Acd`` call (redis-py asyncio, JSON decode).

Memory, in the large center: MEMORY USAGE (SAMPLES 0) of a waiting call's hash plus its
share of the wait sets, the live set and the timers set; of a ready seat's hash plus its
share of the ready sets, the logged set and the roster set. The growth of used_memory
while the calls (seats) were added, divided by their number, is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servers import start_redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redis.asyncio import Redis  # noqa: E402

from ivr.clock import ManualClock  # noqa: E402
from ivr.config import load  # noqa: E402
from ivr.core.config import CenterConfig, build  # noqa: E402
from ivr.core.engine import EnqueueAction  # noqa: E402
from ivr.core.roster import Roster, Seat  # noqa: E402
from ivr.store import scripts  # noqa: E402
from ivr.store.acd import Acd  # noqa: E402
from ivr.store.keys import Keys  # noqa: E402

SKILLS = ("12328", "12315", "12333", "12358", "12320", "12393", "12369", "12319", "12329",
          "12348")
QUEUE = "pool"
BREAK_SEATS = 2
WIDEN_S = 30.0
CHUNK = 2000  # commands per pipeline while filling


# ---------------------------------------------------------------- redis-server



# ---------------------------------------------------------------- the two centers

def center_config(base: CenterConfig, n_seats: int) -> CenterConfig:
    """The project's plan, flows and queues with a generated roster of ``n_seats`` seats."""
    seats = tuple(
        Seat(id=f"s{i:05d}", name=f"seat {i}", endpoint=f"client:s{i:05d}", queues=(QUEUE,),
             skills=(SKILLS[i % 10], SKILLS[(i + 3) % 10]))
        for i in range(n_seats))
    roster = Roster(queues=base.roster.queues, seats=seats, schedules=base.roster.schedules)
    flows = {fid: base.flows.latest(fid) for fid in base.flows.current}
    return build(base.plan, flows, roster, version="bench")


@dataclass
class Center:
    """One filled center and what the benchmark needs to drive it."""

    name: str
    n_seats: int
    n_calls: int
    acd: Acd
    clock: ManualClock
    break_seats: list[str] = field(default_factory=list)
    mem: dict[str, float] = field(default_factory=dict)
    n: int = 0  # sequence number of measured calls

    @property
    def keys(self) -> Keys:
        return self.acd.keys


class Filler:
    """Pipelined script calls with explicit times, for filling a center fast."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.sha: dict[str, str] = {}

    async def load(self) -> None:
        for name in scripts.NAMES:
            self.sha[name] = await self.redis.script_load(scripts.source(name))

    async def run(self, c: Center, name: str, calls: list[tuple[Any, ...]],
                  step_ms: float = 0.0) -> list[dict[str, Any]]:
        """Run script ``name`` once per argument tuple, advancing the clock by ``step_ms``."""
        out: list[dict[str, Any]] = []
        meta = c.keys.meta()
        for i in range(0, len(calls), CHUNK):
            pipe = self.redis.pipeline(transaction=False)
            for args in calls[i:i + CHUNK]:
                c.clock.advance(step_ms / 1000)
                pipe.evalsha(self.sha[name], 1, meta, int(c.clock.now() * 1000), *args)
            out += [json.loads(r) for r in await pipe.execute()]
        return out


async def used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def usage(redis: Redis, key: str) -> int:
    return int(await redis.memory_usage(key, samples=0) or 0)


async def fill(redis: Redis, filler: Filler, base: CenterConfig, name: str, n_seats: int,
               n_calls: int) -> Center:
    clock = ManualClock()
    acd = Acd(redis, f"bench-{name}", clock)
    c = Center(name, n_seats, n_calls, acd, clock)
    cfg = center_config(base, n_seats)
    seat_ids = [s.id for s in cfg.roster.seats]
    m0 = await used_memory(redis)
    await acd.sync_config(cfg)
    await filler.run(c, "seat", [(s, "login") for s in seat_ids])
    m1 = await used_memory(redis)
    await seat_memory(redis, c, seat_ids, (m1 - m0) / n_seats)
    c.break_seats = seat_ids[:BREAK_SEATS]
    await filler.run(c, "seat", [(s, "break") for s in c.break_seats])
    # every other seat answers a call: it is talking, and its call is live
    busy = n_seats - BREAK_SEATS
    res = await filler.run(c, "enqueue", [
        (f"CAtalk{name}{i:07d}", SKILLS[i % 10], QUEUE, "any", 0, -1, "+86138****0000",
         "zh-CN", "")
        for i in range(busy)], step_ms=1)
    if any(r["st"] != "offered" for r in res):
        raise SystemExit(f"{name}: a call meant for a seat was not offered one")
    await filler.run(c, "answered", [(f"CAtalk{name}{i:07d}", r["seat"], "")
                                     for i, r in enumerate(res)])
    # the waiting calls arrive over 20 s of clock time, so no widening is due yet
    m2 = await used_memory(redis)
    res = await filler.run(c, "enqueue", [
        (f"CAwait{name}{i:07d}", SKILLS[i % 10], QUEUE, SKILLS[i % 10], 0, int(WIDEN_S * 1000),
         "+86138****0000", "zh-CN", "")
        for i in range(n_calls)], step_ms=20_000 / n_calls)
    if any(r["st"] != "waiting" for r in res):
        raise SystemExit(f"{name}: a call meant to wait was offered a seat")
    m3 = await used_memory(redis)
    await call_memory(redis, c, [f"CAwait{name}{i:07d}" for i in range(n_calls)],
                      (m3 - m2) / n_calls)
    return c


async def sample_usage(redis: Redis, keys: list[str], n: int = 2000) -> float:
    step = max(1, len(keys) // n)
    picked = keys[::step]
    pipe = redis.pipeline(transaction=False)
    for k in picked:
        pipe.memory_usage(k, samples=0)
    return statistics.fmean(int(x or 0) for x in await pipe.execute())


async def call_memory(redis: Redis, c: Center, sids: list[str], grown: float) -> None:
    k = c.keys
    n = len(sids)
    c.mem["call hash"] = await sample_usage(redis, [k.call(s) for s in sids])
    c.mem["call wait sets"] = sum([await usage(redis, k.wait(QUEUE, s)) for s in SKILLS]) / n
    live_n = int(await redis.zcard(k.live()))
    c.mem["call live set"] = await usage(redis, k.live()) / live_n
    timers_n = int(await redis.zcard(k.timers()))  # only the widening timers of waiting calls
    c.mem["call timers set"] = await usage(redis, k.timers()) / max(1, timers_n) * timers_n / n
    c.mem["call used_memory growth"] = grown


async def seat_memory(redis: Redis, c: Center, seat_ids: list[str], grown: float) -> None:
    k = c.keys
    n = len(seat_ids)
    c.mem["seat hash"] = await sample_usage(redis, [k.seat(s) for s in seat_ids])
    ready = [k.ready(QUEUE, s) for s in ("any", *SKILLS)]
    c.mem["seat ready sets"] = sum([await usage(redis, r) for r in ready]) / n
    c.mem["seat logged set"] = await usage(redis, k.logged(QUEUE)) / n
    c.mem["seat roster set"] = await usage(redis, k.seats()) / n
    c.mem["seat used_memory growth"] = grown


# ---------------------------------------------------------------- measured decisions

@dataclass
class Batch:
    op: str
    center: str
    rtt: list[float]
    evalsha_usec_per_call: float
    slowlog: list[int]


class Bench:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.src = {n: scripts.source(n) for n in ("hangup", "dial_done")}
        self.sha = {op: hashlib.sha1(scripts.source(name).encode(),  # Redis names scripts by SHA1
                                     usedforsecurity=False).hexdigest()
                    for op, name in (("enqueue", "enqueue"), ("ready", "seat"))}

    async def undo(self, c: Center, name: str, *args: Any) -> dict[str, Any]:
        """Run a script by EVAL (not counted with the EVALSHA figures)."""
        raw = await self.redis.eval(self.src[name], 1, c.keys.meta(),
                                    int(c.clock.now() * 1000), *args)
        return dict(json.loads(raw))

    async def enqueue_once(self, c: Center) -> float:
        c.n += 1
        sid = f"CAbench{c.name}{c.n:07d}"
        skill = SKILLS[c.n % 10]
        c.clock.advance(0.001)
        t0 = time.perf_counter()
        res = await c.acd.enqueue(sid, skill, EnqueueAction(QUEUE, skill, 0, WIDEN_S),
                                  "+86138****0000")
        dt = time.perf_counter() - t0
        if res.state != "waiting":
            raise SystemExit(f"{c.name}: the measured call did not wait: {res}")
        c.clock.advance(0.001)
        await self.undo(c, "hangup", sid, "completed", "")
        await self.redis.delete(c.keys.call(sid))
        return dt

    async def ready_once(self, c: Center) -> float:
        c.n += 1
        seat = c.break_seats[c.n % len(c.break_seats)]
        c.clock.advance(0.001)
        t0 = time.perf_counter()
        res = await c.acd.seat(seat, "ready")
        dt = time.perf_counter() - t0
        if res.state != "reserved" or not res.redirect:
            raise SystemExit(f"{c.name}: the ready seat took no call: {res}")
        c.clock.advance(0.001)
        back = await self.undo(c, "dial_done", res.redirect[0], seat, "no-answer", 0)
        if back.get("next") != "wait":
            raise SystemExit(f"{c.name}: the call did not go back to the line: {back}")
        return dt

    async def batch(self, op: str, c: Center, samples: int) -> Batch:
        once = self.enqueue_once if op == "enqueue" else self.ready_once
        sha = self.sha[op]
        await self.redis.slowlog_reset()
        await self.redis.config_set("slowlog-log-slower-than", 0)
        await self.redis.config_resetstat()
        rtt = [await once(c) for _ in range(samples)]
        stats = await self.redis.info("commandstats")
        await self.redis.config_set("slowlog-log-slower-than", -1)
        log = await self.redis.slowlog_get(-1)
        ev = stats.get("cmdstat_evalsha", {})
        if int(ev.get("calls", 0)) != samples:
            raise SystemExit(f"expected {samples} EVALSHA calls, Redis counted {ev}")
        meta = c.keys.meta()
        prefix = f"EVALSHA {sha} 1 {meta} ".encode()
        durations = [int(e["duration"]) for e in log
                     if as_bytes(e["command"]).startswith(prefix)]
        if len(durations) != samples:
            raise SystemExit(f"found {len(durations)} of {samples} calls in SLOWLOG")
        return Batch(op, c.name, rtt, float(ev["usec_per_call"]), durations)


def as_bytes(x: str | bytes) -> bytes:
    return x if isinstance(x, bytes) else x.encode()


# ---------------------------------------------------------------- report

def med(xs: list[float]) -> float:
    return statistics.median(xs)


def p99(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(0.99 * len(s)))]


def report(batches: list[Batch], small: Center, large: Center, rounds: int,
           samples: int) -> None:
    print(f"\nrouting cost per decision ({rounds} rounds x {samples} decisions per center; "
          "server = Redis, client = Acd round trip)")
    head = (f"{'decision':<36}{'center':<7}{'server med us':>14}{'p99':>6}"
            f"{'cmdstat mean us':>17}{'client med us':>15}{'p99':>6}")
    print(head)
    ratios: dict[str, dict[str, float]] = {}
    labels = {"enqueue": "call arrives and waits (enqueue)",
              "ready": "break -> ready takes a call (seat)"}
    for op in ("enqueue", "ready"):
        fig: dict[str, dict[str, float]] = {}
        for c in (small, large):
            bs = [b for b in batches if b.op == op and b.center == c.name]
            slow = [float(d) for b in bs for d in b.slowlog]
            rtt = [x * 1e6 for b in bs for x in b.rtt]
            fig[c.name] = {"server": med(slow), "cmd": med([b.evalsha_usec_per_call for b in bs]),
                           "client": med(rtt)}
            print(f"{labels[op]:<36}{c.name:<7}{med(slow):>14.1f}{p99(slow):>6.0f}"
                  f"{fig[c.name]['cmd']:>17.2f}{med(rtt):>15.0f}{p99(rtt):>6.0f}")
        ratios[op] = {k: fig["large"][k] / fig["small"][k] for k in ("server", "cmd", "client")}
    print(f"\nlarge ({large.n_seats} seats, {large.n_calls} waiting) / small "
          f"({small.n_seats} seats, {small.n_calls} waiting); goal <= 2.0")
    for op, r in ratios.items():
        worst = max(r["server"], r["cmd"])
        print(f"  {labels[op]:<36} server median {r['server']:.2f}x, commandstats mean "
              f"{r['cmd']:.2f}x, client {r['client']:.2f}x: {'met' if worst <= 2 else 'MISSED'}")
    print(f"\nmemory in the large center ({large.n_calls} waiting calls, {large.n_seats} seats; "
          "MEMORY USAGE SAMPLES 0); goal < 1024 bytes each")
    for who in ("call", "seat"):
        parts = {k: v for k, v in large.mem.items() if k.startswith(who) and "growth" not in k}
        total = sum(parts.values())
        print(f"  per {'waiting call' if who == 'call' else 'ready seat'}: {total:.0f} bytes "
              f"({'met' if total < 1024 else 'MISSED'}) = "
              + " + ".join(f"{k.split(' ', 1)[1]} {v:.0f}" for k, v in parts.items())
              + f"; used_memory grew {large.mem[f'{who} used_memory growth']:.0f} bytes per "
              f"{who}")


async def amain(args: argparse.Namespace, port: int) -> None:
    redis = Redis(host="127.0.0.1", port=port, decode_responses=True)
    try:
        info = await redis.info("server")
        print(f"redis-server {info['redis_version']} on :{port}; filling the centers ...")
        base = load(ROOT)
        filler = Filler(redis)
        await filler.load()
        t = time.perf_counter()
        large = await fill(redis, filler, base, "large", args.large_seats, args.large_calls)
        small = await fill(redis, filler, base, "small", 10, 10)
        print(f"filled in {time.perf_counter() - t:.1f} s: small {small.n_seats} seats / "
              f"{small.n_calls} waiting, large {large.n_seats} seats / {large.n_calls} waiting "
              f"({await redis.dbsize()} keys, {await used_memory(redis) / 2**20:.0f} MiB)")
        bench = Bench(redis)
        for c in (small, large):  # warm up: scripts cached, connections open
            await bench.batch("enqueue", c, 20)
            await bench.batch("ready", c, 20)
        batches: list[Batch] = []
        for r in range(args.rounds):
            order = (small, large) if r % 2 == 0 else (large, small)
            for op in ("enqueue", "ready"):
                for c in order:
                    batches.append(await bench.batch(op, c, args.samples))
        report(batches, small, large, args.rounds, args.samples)
    finally:
        await redis.aclose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--samples", type=int, default=200, help="decisions per batch")
    p.add_argument("--large-seats", type=int, default=10_000)
    p.add_argument("--large-calls", type=int, default=100_000)
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-acd-"))
    proc, port = start_redis(workdir, "--slowlog-log-slower-than", "-1", "--slowlog-max-len", "100000")
    try:
        asyncio.run(amain(args, port))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
