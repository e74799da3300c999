"""CPU per script call: the service's Redis client against redis-py's own, side by side.

Run: .venv/bin/python bench/bench_redis_call.py [--rounds 7] [--calls 4000] [--concurrency 16]

Starts a fresh redis-server on a free loopback port, then, in alternating rounds, runs
``--calls`` EVALSHA calls of a small script (one key, seven arguments, as the ACD's
scripts are called) through three clients on one uvloop event loop:

- redis-py: ``redis.asyncio.Redis`` with its default ``ConnectionPool``;
- redis-py blocking: the same with ``BlockingConnectionPool`` (callers wait for a free
  connection, as the service needs under a burst);
- service: ``ivr.store.connection.make_client`` (``GuardedPool``, the breaker, hiredis
  packing, the fault retry), as every webhook uses it.

Each phase runs once one call at a time and once ``--concurrency`` callers at a time.
Prints the median over the rounds of CPU microseconds per call (this process,
``time.process_time``: the client's own cost; Redis runs in its own process) and wall
microseconds per call, and each client's CPU ratio to redis-py's default client.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop
from redis.asyncio import BlockingConnectionPool, Redis
from servers import start_redis

from ivr.settings import Settings
from ivr.store.connection import Breaker, make_client

SCRIPT = "return #ARGV"
ARGS = [b"1700000000000", b"CA0123456789abcdef0123456789abcdef", b"12328",
        b"+8613900000000", b"zh", 5, b"12345"]


def clients(url: str, data_dir: Path) -> dict[str, Any]:
    """The three clients, each with decode_responses as the service has it."""
    return {
        "redis-py": Redis.from_url(url, decode_responses=True),
        "redis-py blocking": Redis(connection_pool=BlockingConnectionPool.from_url(
            url, decode_responses=True, max_connections=64, timeout=5)),
        "service": make_client(url, Settings(redis_url=url, data_dir=data_dir), Breaker(0.5)),
    }


async def phase(call: Callable[[], Awaitable[Any]], calls: int, concurrency: int
                ) -> tuple[float, float]:
    """(CPU us, wall us) per call for ``calls`` calls, ``concurrency`` at a time."""
    per = calls // concurrency

    async def worker() -> None:
        for _ in range(per):
            await call()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    n = per * concurrency
    return (time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e6


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_redis(Path(tmp))
        try:
            await run(f"redis://127.0.0.1:{port}/0", Path(tmp), args)
        finally:
            proc.kill()
            proc.wait()


async def run(url: str, tmp: Path, args: argparse.Namespace) -> None:
    """The rounds, then the table."""
    named = clients(url, tmp)
    scripts = {name: c.register_script(SCRIPT) for name, c in named.items()}

    def caller(name: str) -> Callable[[], Awaitable[Any]]:
        script = scripts[name]
        return lambda: script(keys=["{bench}:meta"], args=ARGS)

    got: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for name in named:  # warm: connections open, scripts loaded
        assert await caller(name)() == len(ARGS)
        await phase(caller(name), 400, args.concurrency)
    for r in range(args.rounds):
        order = list(named) if r % 2 == 0 else list(reversed(named))
        for name in order:
            for conc in (1, args.concurrency):
                got.setdefault((name, conc), []).append(
                    await phase(caller(name), args.calls, conc))
    for c in named.values():
        await c.aclose()
    for conc in (1, args.concurrency):
        base = statistics.median(cpu for cpu, _ in got[("redis-py", conc)])
        print(f"{conc} caller{'s' if conc > 1 else ''} at a time:")
        for name in named:
            cpu = statistics.median(c for c, _ in got[(name, conc)])
            wall = statistics.median(w for _, w in got[(name, conc)])
            print(f"  {name:<20} {cpu:6.1f} us CPU/call  {wall:6.1f} us wall/call  "
                  f"CPU x{cpu / base:4.2f} of redis-py")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=16)
    uvloop.run(main(ap.parse_args()))
