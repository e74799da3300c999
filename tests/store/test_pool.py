"""The Redis connection pool: bounded, callers wait in line for a free connection, the
breaker makes them give up at once (``ivr.store.connection.GuardedPool``), on a real Redis."""

from __future__ import annotations

import asyncio
import importlib.metadata
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError, DataError

from ivr.settings import Settings
from ivr.store.connection import (
    Breaker,
    BreakerOpen,
    GuardedPool,
    lean_connection_class,
    make_client,
)


@pytest.fixture
async def client(redis_url: str, tmp_path: Path) -> AsyncIterator[Redis]:
    settings = Settings(redis_url=redis_url, data_dir=tmp_path, redis_max_connections=3,
                        redis_pool_wait_seconds=0.3)
    redis = make_client(redis_url, settings, Breaker(0.5))
    yield redis
    await redis.aclose()


def _pool(redis: Redis) -> GuardedPool:
    pool = redis.connection_pool
    assert isinstance(pool, GuardedPool)
    return pool


async def test_a_burst_over_the_pool_waits_and_never_opens_more_connections(client: Redis) -> None:
    pool = _pool(client)
    script = client.register_script("return ARGV[1]")
    most = 0

    async def one(i: int) -> str:
        nonlocal most
        answer = str(await script(keys=["x"], args=[i]))
        most = max(most, len(pool._in_use_connections) + len(pool._available_connections))
        return answer

    answers = await asyncio.gather(*(one(i) for i in range(60)))
    assert answers == [str(i) for i in range(60)]
    assert most <= 3
    assert not pool._waiters


async def test_a_caller_waits_for_a_release_in_line_then_gives_up_after_the_wait(
        client: Redis) -> None:
    pool = _pool(client)
    held = [await pool.get_connection() for _ in range(3)]
    first = asyncio.create_task(pool.get_connection())
    second = asyncio.create_task(pool.get_connection())
    await asyncio.sleep(0.05)
    assert not first.done()
    assert not second.done()
    await pool.release(held.pop())
    assert await asyncio.wait_for(first, 1) is not None  # the first in line got it
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="No connection available"):
        await second
    assert 0.2 < time.monotonic() - started < 1.0
    assert not pool._waiters
    for conn in (*held, first.result()):
        await pool.release(conn)


async def test_a_woken_caller_that_leaves_passes_its_turn_on(client: Redis) -> None:
    pool = _pool(client)
    held = [await pool.get_connection() for _ in range(3)]
    first = asyncio.create_task(pool.get_connection())
    second = asyncio.create_task(pool.get_connection())
    await asyncio.sleep(0.05)
    await pool.release(held.pop())  # wakes the first ...
    first.cancel()  # ... which leaves before it runs
    with pytest.raises(asyncio.CancelledError):
        await first
    conn = await asyncio.wait_for(second, 1)  # the turn went to the second, well before 0.3 s
    for c in (*held, conn):
        await pool.release(c)


async def test_an_open_breaker_refuses_at_once_even_with_free_connections(client: Redis) -> None:
    pool = _pool(client)
    pool.breaker.trip()
    with pytest.raises(BreakerOpen):
        await pool.get_connection()
    assert not pool._in_use_connections


async def test_new_connections_do_not_read_package_metadata_and_still_name_the_client(
        client: Redis, monkeypatch: pytest.MonkeyPatch) -> None:
    """CLIENT SETINFO's version is looked up once per client, not once per connection."""
    reads: list[str] = []
    real = importlib.metadata.version

    def counted(name: str) -> str:
        reads.append(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", counted)  # what redis.utils calls
    pool = _pool(client)
    held = [await pool.get_connection() for _ in range(3)]  # three fresh connections
    for conn in held:
        await pool.release(conn)
    assert await client.ping()
    assert reads == []
    # What CLIENT SETINFO sends (Redis 7.2+ shows it in CLIENT INFO; 7.0 ignores it).
    named = {(c.driver_info.formatted_name, c.driver_info.lib_version) for c in held}
    assert named == {("redis-py", real("redis"))}


_ARG = st.one_of(st.binary(max_size=40), st.text(max_size=20),
                 st.integers(min_value=-(2**70), max_value=2**70))


@given(first=st.sampled_from(["EVALSHA", "GET", "HSET", "ZADD"]),
       rest=st.lists(_ARG, max_size=12))
def test_hiredis_packing_writes_the_bytes_redis_py_writes(first: str,
                                                          rest: list[bytes | str | int]) -> None:
    plain = Connection(encoding="utf-8")
    packed = lean_connection_class(Connection)(encoding="utf-8")
    assert packed.pack_command(first, *rest) == [b"".join(plain.pack_command(first, *rest))]


def test_what_hiredis_packing_leaves_to_redis_py() -> None:
    packed = lean_connection_class(Connection)(encoding="utf-8")
    plain = Connection(encoding="utf-8")
    for args in (("SET", "k", 0.1), ("CONFIG GET", "maxmemory"), ("SET", "k", memoryview(b"v"))):
        assert packed.pack_command(*args) == plain.pack_command(*args)
    with pytest.raises(DataError):
        packed.pack_command("SET", "k", True)


async def test_script_calls_go_out_packed_by_hiredis_and_come_back(client: Redis) -> None:
    assert _pool(client).connection_class.__name__.startswith("Lean")
    script = client.register_script("return {KEYS[1], ARGV[1], ARGV[2], ARGV[3]}")
    got = await script(keys=["k\u00e9"], args=[b"\x00a", -12, "\u4e2d\u6587"])
    assert got == ["k\u00e9", "\x00a", "-12", "\u4e2d\u6587"]


async def test_a_command_too_big_for_the_socket_buffer_is_drained_whole(
        redis_url: str, tmp_path: Path) -> None:
    settings = Settings(redis_url=redis_url, data_dir=tmp_path, redis_timeout_seconds=5)
    client = make_client(redis_url, settings, Breaker(0.5))  # time for 27 MB on a busy machine
    big = "\u4e2d" * 3_000_000  # 9 MB: the kernel's send buffer takes only part at once
    script = client.register_script("return string.len(ARGV[1])")
    try:
        lengths = await asyncio.gather(*(script(keys=["k"], args=[big + str(i)])
                                         for i in range(3)))
        assert lengths == [9_000_001] * 3
        assert await client.ping()
    finally:
        await client.aclose()
