"""The archive's figures, side by side in one run, into the machine's PostgreSQL.

Run: .venv/bin/python bench/bench_archive.py [--events 60000] [--calls 10000000]
     [--webhook-calls 400] [--rounds 5] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Creates a database of its own on the PostgreSQL server (dropped at the end) and starts a
fresh redis-server on a free loopback port. Three parts:

1. throughput: ``--events`` call events (the Lua scripts' shape) are put in a center's
   stream, then one consumer (``ivr.archive.consumer.Archiver``, batches of 5,000) drains
   them into PostgreSQL: call records per second, rollups kept as they go;
2. webhook cost: the real app (httpx ASGI transport, same process) takes whole calls
   (``/voice/incoming`` + ``/voice/status``, every seat offline so each call waits, then
   hangs up: the end emits the record) with the archive on (stream cap 500,000, the
   consumer running in the same event loop, as in every worker) and off (cap 0, no
   consumer), in alternating rounds; medians, and their ratio, in wall-clock time and in
   this process's CPU time (the consumer's work included, other processes' left out);
3. a year of a large city: ``--calls`` records over 365 days are generated, their rollups
   computed by the same ``ivr.core.cdr.contributions`` the consumer uses, and both bulk
   loaded with COPY; then a month's department report from the rollups (timed) and the
   same report from the raw rows (timed), which must be equal (``--calls 0`` skips it).

The figures are wall-clock on a machine others may share: each line prints the load
average, and the throughput also the consumer's own CPU time (records per CPU-second).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from servers import start_redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from ivr.app import create_app  # noqa: E402
from ivr.archive import reports as rep  # noqa: E402
from ivr.archive.consumer import Archiver  # noqa: E402
from ivr.archive.db import make_engine, migrate  # noqa: E402
from ivr.archive.decode import call_row  # noqa: E402
from ivr.archive.periods import parse_period  # noqa: E402
from ivr.clock import ManualClock  # noqa: E402
from ivr.config import load  # noqa: E402
from ivr.core import cdr  # noqa: E402
from ivr.settings import Settings  # noqa: E402
from ivr.store.keys import Keys  # noqa: E402

YEAR0 = 1_798_732_800_000  # 2027-01-01 00:00 Asia/Shanghai, ms
SHORT_MS = 5000


def record(rng: random.Random, i: int, t: int, lines: list[str], queue_of: dict[str, str],
           seats: list[str]) -> dict[str, str]:
    """One plausible final call record (answered 96%, abandoned, IVR transfer)."""
    ln = rng.choice(lines)
    r = rng.random()
    rec = {"sid": f"CA{i:012d}", "st": "ended", "ln": ln, "fr": "138****5678", "t1": str(t),
           "lg": "zh-CN", "fv": "entry-12345", "fr_rev": "3", "path": "menu"}
    if r < 0.01:
        rec.update(out="transferred:police", tend=str(t + 8000))
        return rec
    wait = int(rng.expovariate(1 / 9000))
    q = queue_of[ln]
    rec.update(q=q, sk="any", pr="0", tq=str(t + 3000), t0=str(t + 3000), wait=str(wait))
    if r < 0.05:
        rec.update(out="abandoned", tend=str(t + 3000 + wait))
        return rec
    talk = int(rng.lognormvariate(11.8, 0.6))
    ans = t + 3000 + wait
    rec.update(out="answered", seat=rng.choice(seats), toff=str(ans - 1500), ans=str(ans),
               talk=str(talk), tend=str(ans + talk))
    if rng.random() < 0.6:
        rec["rating"] = rng.choice("1112223")
    if rng.random() < 0.8:
        rec.update(cat=rng.choice(["question", "help", "complaint", "report", "suggestion"]),
                   res=rng.choice("110"), dept="市场监督管理局")
    return rec


async def throughput(redis: Redis, pg_url: str, n: int) -> tuple[float, float]:
    keys = Keys("bench-tp")
    cfg = load(ROOT)
    lines = [ln.number for ln in cfg.plan.lines]
    queue_of = {ln.number: ln.queue for ln in cfg.plan.lines}
    seats = [s.id for s in cfg.roster.seats]
    rng = random.Random(1)
    pipe = redis.pipeline(transaction=False)
    for i in range(n):
        rec = record(rng, i, YEAR0 + i * 500, lines, queue_of, seats)
        pipe.xadd(keys.events(), {"e": "call", "d": json.dumps(rec, ensure_ascii=False)})
        if i % 5000 == 4999:
            await pipe.execute()
    await pipe.execute()
    engine = make_engine(pg_url)
    await migrate(engine)
    a = Archiver(redis, keys, engine, short_ms=SHORT_MS, batch=5000)
    await a.start()
    t0, c0 = time.perf_counter(), time.process_time()
    done = await a.drain()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    await engine.dispose()
    assert done == n, (done, a.totals)
    assert a.totals.calls == n, (done, a.totals)
    return n / dt, n / cpu


async def webhook_round(app: Any, settings: Settings, clock: ManualClock, n: int,
                        start: int) -> tuple[float, float]:
    svc = app.state.services
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://ivr.bench") as client:
        async def post(path: str, **p: str) -> None:
            url = "https://ivr.bench" + path
            r = await client.post(url, data=p, headers={"X-Twilio-Signature":
                                                        svc.checker.sign(url, p)})
            assert r.status_code == 200
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(start, start + n):
            await post("/voice/incoming", CallSid=f"CA{i}", From=f"+86139{i:08d}", To="12328",
                       CallStatus="ringing")
            clock.advance(1)
            await post("/voice/status", CallSid=f"CA{i}", CallStatus="completed")
        return (time.perf_counter() - t0) / n, (time.process_time() - c0) / n


async def webhooks(redis_url: str, pg_url: str, n: int,
                   rounds: int) -> tuple[float, float, float, float, int]:
    tmp = Path(tempfile.mkdtemp(prefix="ivr-bench-archive-"))
    base = dict(redis_url=redis_url, data_dir=tmp, config_dir=ROOT,
                public_base_url="https://ivr.bench", twilio_auth_token="bench-token-0123456789",
                log_level="warning", database_url=pg_url, rate_limit_calls=0)
    apps = {}
    for on in (True, False):
        settings = Settings(center="bench-on" if on else "bench-off", archive=on, **base)
        clock = ManualClock()
        app = create_app(settings, clock=clock, sweeper=False)
        apps[on] = (app, settings, clock)
    times: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    async with apps[True][0].router.lifespan_context(apps[True][0]), \
            apps[False][0].router.lifespan_context(apps[False][0]):
        for on in (True, False):  # warm up
            await webhook_round(*apps[on], 50, 10_000_000)
        for r in range(rounds):
            for on in ((True, False) if r % 2 == 0 else (False, True)):
                wall, used = await webhook_round(*apps[on], n, r * n)
                times[on].append(wall)
                cpu[on].append(used)
        arc = apps[True][0].state.archive
        for _ in range(600):
            if arc.archiver and arc.archiver.totals.calls >= rounds * n + 50:
                break
            await asyncio.sleep(0.1)
        archived = arc.archiver.totals.calls if arc.archiver else 0
    shutil.rmtree(tmp, ignore_errors=True)
    return (statistics.median(times[True]), statistics.median(times[False]),
            statistics.median(cpu[True]), statistics.median(cpu[False]), archived)


async def year(pg_url: str, n: int) -> dict[str, Any]:
    cfg = load(ROOT)
    lines = [ln.number for ln in cfg.plan.lines]
    queue_of = {ln.number: ln.queue for ln in cfg.plan.lines}
    seats = [s.id for s in cfg.roster.seats]
    depts = {ln.number: ln.department or rep.NO_DEPARTMENT for ln in cfg.plan.lines}
    engine = make_engine(pg_url)
    await migrate(engine)
    conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
    center, rng = "bench-year", random.Random(7)
    cols = [c.name for c in rep.CALLS.c]
    rollups: dict[tuple[int, str, str], cdr.Counts] = {}
    step = 365 * 86_400_000 // n
    t0 = time.perf_counter()
    chunk: list[tuple[Any, ...]] = []
    for i in range(n):
        rec = record(rng, i, YEAR0 + i * step + rng.randrange(step), lines, queue_of, seats)
        sid = rec.pop("sid")
        row = call_row(center, sid, f"{i:015d}-0000000000", rec)
        chunk.append(tuple(row[c] for c in cols))
        day = row["day"]
        for dim, key, part in cdr.contributions(rec, SHORT_MS):
            cdr.merge(rollups.setdefault((day, dim, key), {}), part)
        if len(chunk) == 50_000:
            await conn.copy_records_to_table("call_records", records=chunk, columns=cols)
            chunk = []
    if chunk:
        await conn.copy_records_to_table("call_records", records=chunk, columns=cols)
    await conn.copy_records_to_table(
        "rollups", columns=["center", "day", "dim", "key", "counts"],
        records=[(center, d, dim, k, json.dumps(c, sort_keys=True))
                 for (d, dim, k), c in rollups.items()])
    await conn.execute("ANALYZE call_records; ANALYZE rollups")
    load_s = time.perf_counter() - t0
    await conn.close()
    month = parse_period("month", "2027-06")
    args = dict(short_ms=SHORT_MS, names={}, departments=depts)
    times = []
    for _ in range(5):
        t1 = time.perf_counter()
        fast = await rep.report(engine, center, "department", month, **args)
        times.append(time.perf_counter() - t1)
    t1 = time.perf_counter()
    raw = await rep.report(engine, center, "department", month, source="raw", **args)
    raw_s = time.perf_counter() - t1
    await engine.dispose()
    return {"load_s": load_s, "rollup_s": statistics.median(times), "raw_s": raw_s,
            "equal": fast["rows"] == raw["rows"] and fast["total"] == raw["total"],
            "month_calls": fast["total"]["calls"], "departments": len(fast["rows"])}


def loadavg() -> str:
    """The machine's 1-minute load average (the figures are wall-clock: others' work shows)."""
    return f"{os.getloadavg()[0]:.1f}"


async def amain(args: argparse.Namespace, redis_port: int) -> None:
    name = "ivr_bench_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(args.pg)
    await admin.execute(f'CREATE DATABASE "{name}"')
    pg_url = args.pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        print(f"load average before: {loadavg()} ({os.cpu_count()} CPUs)", flush=True)
        rate, per_cpu = await throughput(redis, pg_url, args.events)
        print(f"archive throughput: {args.events:,} call events -> PostgreSQL in batches of "
              f"5,000: {rate:,.0f} call records/s (target >= 5,000); the consumer's own CPU: "
              f"{per_cpu:,.0f} records per CPU-second; load average {loadavg()}", flush=True)
        on, off, con, coff, archived = await webhooks(redis_url, pg_url, args.webhook_calls,
                                                      args.rounds)
        print(f"webhook cost (incoming + status, median of {args.rounds} rounds of "
              f"{args.webhook_calls} calls): archive on {on * 1e3:.2f} ms/call, off "
              f"{off * 1e3:.2f} ms/call, ratio {on / off:.3f} (target <= 1.1); this process's "
              f"CPU: on {con * 1e3:.2f} ms/call, off {coff * 1e3:.2f}, ratio {con / coff:.3f}; "
              f"{archived:,} calls archived meanwhile; load average {loadavg()}", flush=True)
        if not args.calls:
            return
        y = await year(pg_url, args.calls)
        print(f"a year of {args.calls:,} calls: generated and COPY-loaded with rollups in "
              f"{y['load_s']:.0f} s; June: {y['month_calls']:,} calls, {y['departments']} "
              f"departments; department report from rollups {y['rollup_s'] * 1e3:.1f} ms "
              f"(target < 1 s), from raw rows {y['raw_s']:.1f} s; equal: {y['equal']}; "
              f"load average {loadavg()}", flush=True)
        if not y["equal"]:
            sys.exit(1)
    finally:
        await redis.aclose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=60_000)
    ap.add_argument("--calls", type=int, default=10_000_000)
    ap.add_argument("--webhook-calls", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ivr-bench-redis-"))
    proc, port = start_redis(workdir)
    try:
        asyncio.run(amain(args, port))
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
