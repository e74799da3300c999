"""Fixtures of the fault tests: Redis servers and clusters of our own, on loopback.

These tests stop, restart and cluster Redis, so they never use IVR_TEST_REDIS_URL's
server: each fixture starts its own ``redis-server`` processes on free ports in temp
folders and stops them afterwards, also when the test fails.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.servers import RedisClusterProcs, RedisServer


@pytest.fixture(scope="session")
def redis_binaries() -> None:
    """redis-server and redis-cli, which ``make test`` installs (``make redis``): never skipped."""
    missing = [b for b in ("redis-server", "redis-cli") if shutil.which(b) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} missing: run `make redis` (apt-get install redis-server)")


needs_redis = pytest.mark.usefixtures("redis_binaries")


@pytest.fixture
def redis_proc(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server of this test's own, without persistence."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server with the append-only file on (fsync every second)."""
    server = RedisServer(tmp_path / "redis-aof", appendonly=True, appendfsync="everysec").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterProcs]:
    """A Redis Cluster of three masters, shared by the tests of one module."""
    procs = RedisClusterProcs(tmp_path_factory.mktemp("cluster"), masters=3)
    try:
        yield procs.start()
    finally:
        procs.stop()
